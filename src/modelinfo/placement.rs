//! `--gpu-layers auto`: how many layers fit the GPUs' free memory, and with `-c 0` how large a
//! context. Pure functions over a table of the model's sizes and the devices' free memory, so
//! the decision is tested without a GPU; the caller measures the devices and, after loading,
//! compares the decision with what llama.cpp allocated.
//!
//! llama.cpp offloads from the end: `n_gpu_layers = k` puts the output layer and the last
//! `k - 1` repeating layers on the GPU (the input embeddings stay on the CPU). Each GPU that
//! gets layers also holds a compute buffer for one physical batch.

use serde::Serialize;

use super::facts::ModelFacts;
use crate::config::FlashAttn;
use crate::gguf::GgufFile;

/// The sizes placement needs, from the file's tensor table and hyperparameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTable {
    /// Weight bytes of each repeating layer, first to last.
    pub layer_weights: Vec<u64>,
    /// KV cache bytes per layer per context token (f16 K and V).
    pub kv_per_token: u64,
    /// The output layer: its norm and projection (the token embeddings again when tied,
    /// which llama.cpp then copies to the GPU).
    pub output_bytes: u64,
    /// A GPU's compute buffer for one physical batch at this context (see [`compute_bytes`]).
    pub compute_bytes: u64,
    /// Everything else the model needs in host memory (embeddings, vocabulary).
    pub host_bytes: u64,
    pub trained_context: Option<u64>,
}

/// One GPU's free memory now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuFree {
    pub name: String,
    pub free_bytes: u64,
}

/// The decision, as reported (stderr line, `--json`, `info -m`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placement {
    /// `n_gpu_layers` for llama.cpp.
    pub layers: u32,
    /// Layers llama.cpp counts: the repeating ones plus the output layer.
    pub total: u32,
    pub context: u64,
    pub margin_bytes: u64,
    pub devices: Vec<GpuFree>,
    /// What the chosen layers, their KV cache and the compute buffers take on the GPUs.
    pub predicted_gpu_bytes: u64,
}

impl Placement {
    /// `auto: 19/23 layers on CUDA0 (7.1 GiB free, margin 1 GiB), context 4096`.
    pub fn line(&self) -> String {
        let gib = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
        let devices = if self.devices.is_empty() {
            "no GPU".to_string()
        } else {
            let names: Vec<&str> = self.devices.iter().map(|d| d.name.as_str()).collect();
            let free: u64 = self.devices.iter().map(|d| d.free_bytes).sum();
            format!(
                "{} ({} free, margin {})",
                names.join("+"),
                gib(free),
                gib(self.margin_bytes)
            )
        };
        format!(
            "auto: {}/{} layers on {devices}, context {}",
            self.layers, self.total, self.context
        )
    }
}

/// The bytes the last `k` layers (output first) take on the GPUs at `context` tokens; `None`
/// when the sum overflows (a size built to overflow fits nowhere).
fn gpu_bytes(t: &LayerTable, k: usize, context: u64, devices: usize) -> Option<u64> {
    if k == 0 {
        return Some(0);
    }
    let mut sum = t
        .output_bytes
        .checked_add(t.compute_bytes.checked_mul(devices.max(1) as u64)?)?;
    for w in t.layer_weights.iter().rev().take(k - 1) {
        sum = sum
            .checked_add(*w)?
            .checked_add(t.kv_per_token.checked_mul(context)?)?;
    }
    Some(sum)
}

/// The most layers that fit the GPUs at `context`, each keeping `margin` free.
pub fn plan(t: &LayerTable, gpus: &[GpuFree], margin: u64, context: u64) -> Placement {
    let total = t.layer_weights.len() + 1;
    let budget: u64 = gpus
        .iter()
        .map(|g| g.free_bytes.saturating_sub(margin))
        .sum();
    let layers = if gpus.is_empty() {
        0
    } else {
        (0..=total)
            .rev()
            .find(|&k| gpu_bytes(t, k, context, gpus.len()).is_some_and(|b| b <= budget))
            .unwrap_or(0)
    };
    Placement {
        layers: layers as u32,
        total: total as u32,
        context,
        margin_bytes: margin,
        devices: gpus.to_vec(),
        predicted_gpu_bytes: gpu_bytes(t, layers, context, gpus.len()).unwrap_or(0),
    }
}

/// Fewest tokens `-c 0` settles for before giving up layers (llama.cpp's `--fit-ctx`).
pub const MIN_FIT_CONTEXT: u64 = 4096;

/// `-c 0`: the largest context (a multiple of 256, at most the trained one) at which the whole
/// model fits the GPUs, or with no GPU the host's `host_free`; at least
/// [`MIN_FIT_CONTEXT`] (or the trained context when smaller). `slots` contexts are held.
pub fn fit_context(
    t: &LayerTable,
    gpus: &[GpuFree],
    host_free: u64,
    margin: u64,
    slots: u64,
) -> u64 {
    let trained = t.trained_context.unwrap_or(MIN_FIT_CONTEXT).max(1);
    let floor = MIN_FIT_CONTEXT.min(trained);
    let fits = |ctx: u64| {
        let all = ctx.saturating_mul(slots.max(1));
        if gpus.is_empty() {
            gpu_bytes(t, t.layer_weights.len() + 1, all, 1)
                .and_then(|b| b.checked_add(t.host_bytes)?.checked_add(margin))
                .is_some_and(|need| need <= host_free)
        } else {
            plan(t, gpus, margin, all).layers as usize == t.layer_weights.len() + 1
        }
    };
    if fits(trained) {
        return trained;
    }
    // Binary search over multiples of 256 between the floor and the trained context.
    let (mut lo, mut hi) = (floor / 256, trained / 256);
    if !fits(lo * 256) {
        return floor;
    }
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid * 256) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    (lo * 256).max(floor)
}

/// A GPU compute buffer for one physical batch: the logits, the activations of the widest
/// layer, and without flash attention the attention scores (heads × context × batch, f32).
/// Measured against llama.cpp's own figure in benches/README.md (auto placement).
pub fn compute_bytes(f: &ModelFacts, ubatch: u64, context: u64, flash: FlashAttn) -> u64 {
    let mul = |xs: &[u64]| xs.iter().fold(1u64, |a, &x| a.saturating_mul(x));
    let vocab = f.vocab_size.unwrap_or(0) as u64;
    let embd = f.embedding_length.unwrap_or(0);
    let ff = f.feed_forward_length.unwrap_or(0);
    let heads = f.heads.unwrap_or(0);
    let logits = mul(&[vocab, ubatch, 4]);
    let activations = mul(&[
        ubatch,
        embd.saturating_mul(4).saturating_add(ff.saturating_mul(2)),
        4,
    ]);
    let scores = if flash == FlashAttn::Off {
        mul(&[heads, context, ubatch, 4])
    } else {
        0
    };
    logits.saturating_add(activations).saturating_add(scores)
}

/// The table of `g` for `ubatch` tokens per physical batch at `context` tokens in all.
pub fn table(
    g: &GgufFile,
    f: &ModelFacts,
    ubatch: u64,
    context: u64,
    flash: FlashAttn,
) -> LayerTable {
    let n = f.layers.unwrap_or(0) as usize;
    let mut layer_weights = vec![0u64; n];
    let mut output = 0u64;
    let mut embeddings = 0u64;
    let mut tied = true;
    for t in &g.tensors {
        if let Some(rest) = t.name.strip_prefix("blk.") {
            let i = rest.split('.').next().and_then(|i| i.parse::<usize>().ok());
            if let Some(w) = i.and_then(|i| layer_weights.get_mut(i)) {
                *w = w.saturating_add(t.n_bytes);
            }
        } else if t.name.starts_with("output") {
            tied &= t.name != "output.weight";
            output = output.saturating_add(t.n_bytes);
        } else if t.name.starts_with("token_embd") {
            embeddings = embeddings.saturating_add(t.n_bytes);
        }
    }
    if tied {
        output = output.saturating_add(embeddings);
    }
    let k_dim = f.head_dim.unwrap_or(0);
    let v_dim = g.arch_u64("attention.value_length").unwrap_or(k_dim);
    let kv_per_token = f
        .kv_heads
        .unwrap_or(0)
        .saturating_mul(k_dim.saturating_add(v_dim))
        .saturating_mul(2);
    LayerTable {
        layer_weights,
        kv_per_token,
        output_bytes: output,
        compute_bytes: compute_bytes(f, ubatch, context, flash),
        host_bytes: embeddings.saturating_add(super::estimate::vocab_bytes(g)),
        trained_context: f.context_length,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;
    const MIB: u64 = 1 << 20;

    /// An 8B-class shape: 32 layers of 130 MiB, 128 KiB of KV per token (all layers), a
    /// 400 MiB output layer, 300 MiB compute.
    fn eight_b() -> LayerTable {
        LayerTable {
            layer_weights: vec![130 * MIB; 32],
            kv_per_token: 4096,
            output_bytes: 400 * MIB,
            compute_bytes: 300 * MIB,
            host_bytes: 500 * MIB,
            trained_context: Some(131_072),
        }
    }

    fn gpu(free: u64) -> Vec<GpuFree> {
        vec![GpuFree {
            name: "CUDA0".into(),
            free_bytes: free,
        }]
    }

    #[test]
    fn everything_fits_a_big_card() {
        let p = plan(&eight_b(), &gpu(80 * GIB), GIB, 4096);
        assert_eq!((p.layers, p.total), (33, 33));
        // 400 + 32 × (130 + 16) + 300 MiB
        assert_eq!(p.predicted_gpu_bytes, (400 + 32 * 146 + 300) * MIB);
        assert_eq!(
            p.line(),
            "auto: 33/33 layers on CUDA0 (80.0 GiB free, margin 1.0 GiB), context 4096"
        );
    }

    #[test]
    fn a_small_card_takes_the_last_layers_that_fit() {
        // 3 GiB free - 1 GiB margin = 2048 MiB: 400 + 300 + 9 × 146 = 2014 fits, 10 do not.
        let p = plan(&eight_b(), &gpu(3 * GIB), GIB, 4096);
        assert_eq!(p.layers, 10);
        assert!(p.predicted_gpu_bytes <= 2 * GIB);
        assert!(gpu_bytes(&eight_b(), 11, 4096, 1).unwrap() > 2 * GIB);
    }

    #[test]
    fn nothing_when_the_output_layer_does_not_fit_or_no_gpu() {
        assert_eq!(plan(&eight_b(), &gpu(GIB + 600 * MIB), GIB, 4096).layers, 0);
        let none = plan(&eight_b(), &[], GIB, 4096);
        assert_eq!((none.layers, none.predicted_gpu_bytes), (0, 0));
        assert_eq!(none.line(), "auto: 0/33 layers on no GPU, context 4096");
        // A margin larger than the card.
        assert_eq!(plan(&eight_b(), &gpu(GIB), 2 * GIB, 4096).layers, 0);
    }

    #[test]
    fn a_longer_context_leaves_room_for_fewer_layers() {
        let short = plan(&eight_b(), &gpu(8 * GIB), GIB, 4096).layers;
        let long = plan(&eight_b(), &gpu(8 * GIB), GIB, 32_768).layers;
        assert_eq!(short, 33);
        assert!(long < short, "{long}");
    }

    #[test]
    fn two_cards_add_up_but_each_has_a_compute_buffer() {
        let two = vec![
            GpuFree {
                name: "CUDA0".into(),
                free_bytes: 2 * GIB,
            },
            GpuFree {
                name: "CUDA1".into(),
                free_bytes: 2 * GIB,
            },
        ];
        let p = plan(&eight_b(), &two, 512 * MIB, 4096);
        // 3072 MiB - 400 - 2 × 300 = 2072 → 14 layers of 146 MiB, plus the output layer.
        assert_eq!(p.layers, 15);
        assert!(p.line().contains("CUDA0+CUDA1 (4.0 GiB free"));
    }

    #[test]
    fn saturating_sizes_fit_nowhere() {
        let mut t = eight_b();
        t.kv_per_token = u64::MAX;
        assert_eq!(plan(&t, &gpu(u64::MAX), 0, 4096).layers, 1);
        assert_eq!(fit_context(&t, &gpu(80 * GIB), 0, GIB, 1), MIN_FIT_CONTEXT);
    }

    #[test]
    fn fit_context_takes_the_largest_that_fits() {
        let t = eight_b();
        // Everything at the trained 131072 tokens: 16 GiB of KV and 5.2 GiB of weights.
        assert_eq!(fit_context(&t, &gpu(80 * GIB), 0, GIB, 1), 131_072);
        // 12 GiB - 1 GiB margin - 4.9 GiB weights/compute leaves about 6 GiB of KV: 48k tokens.
        let c = fit_context(&t, &gpu(12 * GIB), 0, GIB, 1);
        assert_eq!(c % 256, 0);
        assert!(plan(&t, &gpu(12 * GIB), GIB, c).layers == 33);
        assert!(plan(&t, &gpu(12 * GIB), GIB, c + 256).layers < 33, "{c}");
        // Four slots share it.
        assert_eq!(
            fit_context(&t, &gpu(12 * GIB), 0, GIB, 4),
            c / 4 / 256 * 256
        );
        // Not even the floor fits all layers: the floor, and layers are given up instead.
        assert_eq!(fit_context(&t, &gpu(4 * GIB), 0, GIB, 1), MIN_FIT_CONTEXT);
        // No GPU: the host's free memory decides.
        let host = fit_context(&t, &[], 10 * GIB, GIB, 1);
        assert!(host > MIN_FIT_CONTEXT && host < 131_072, "{host}");
        // A model trained on less than the floor gets its trained context.
        let mut small = eight_b();
        small.trained_context = Some(2048);
        assert_eq!(fit_context(&small, &gpu(GIB), 0, GIB, 1), 2048);
    }
}
