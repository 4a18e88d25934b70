//! The memory a run needs (weights, KV cache, compute buffer) and how it fits a device.
//!
//! Every size here is computed with checked arithmetic: the inputs come from the file and from
//! flags, and a value built to overflow must give "does not fit", never a wrapped small number.

use serde::Serialize;

use super::facts::ModelFacts;
use crate::gguf::GgufFile;

/// Estimated memory to run the model with a context of `n_ctx` tokens.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemoryEstimate {
    pub context_size: u64,
    pub ubatch_size: u64,
    pub kv_type: &'static str,
    /// All tensor data in the file.
    pub weights_bytes: u64,
    /// K and V for every layer and every context position (an upper bound for models with
    /// sliding-window layers, which keep fewer positions).
    pub kv_bytes: u64,
    /// The largest compute buffer term: logits for one physical batch (n_vocab × ubatch × 4).
    pub logits_bytes: u64,
    /// llama.cpp's vocabulary tables in host memory (see [`vocab_bytes`]).
    pub vocab_bytes: u64,
    pub total_bytes: u64,
    /// Weights and KV of one repeating layer, for layer fitting.
    pub per_layer_bytes: u64,
    /// What is not in a repeating layer (embeddings, output, norms).
    pub non_layer_bytes: u64,
}

/// Bytes per KV element for the cache type llama.cpp uses by default (f16).
const KV_F16: u64 = 2;

pub fn estimate(g: &GgufFile, f: &ModelFacts, n_ctx: u64, n_ubatch: u64) -> MemoryEstimate {
    // Saturating arithmetic: a product that overflows becomes u64::MAX, which fits nowhere.
    let mul = |factors: &[u64]| factors.iter().fold(1u64, |acc, &x| acc.saturating_mul(x));
    let sum = |items: &mut dyn Iterator<Item = u64>| items.fold(0u64, u64::saturating_add);
    let layers = f.layers.unwrap_or(0);
    let kv_heads = f.kv_heads.unwrap_or(0);
    let k_dim = f.head_dim.unwrap_or(0);
    let v_dim = g.arch_u64("attention.value_length").unwrap_or(k_dim);
    let kv_per_layer = mul(&[n_ctx, kv_heads, k_dim.saturating_add(v_dim), KV_F16]);
    let kv_bytes = kv_per_layer.saturating_mul(layers);
    let weights = sum(&mut g.tensors.iter().map(|t| t.n_bytes));
    let layer_weights = sum(&mut g
        .tensors
        .iter()
        .filter(|t| t.name.starts_with("blk."))
        .map(|t| t.n_bytes));
    let per_layer_weights = layer_weights.checked_div(layers).unwrap_or(0);
    let logits = mul(&[f.vocab_size.unwrap_or(0) as u64, n_ubatch, 4]);
    let vocab = vocab_bytes(g);
    MemoryEstimate {
        context_size: n_ctx,
        ubatch_size: n_ubatch,
        kv_type: "f16",
        weights_bytes: weights,
        kv_bytes,
        logits_bytes: logits,
        vocab_bytes: vocab,
        total_bytes: sum(&mut [weights, kv_bytes, logits, vocab].into_iter()),
        per_layer_bytes: per_layer_weights.saturating_add(kv_per_layer),
        non_layer_bytes: weights.saturating_sub(layer_weights),
    }
}

/// Host memory for llama.cpp's vocabulary: per token its text three times (token data, the
/// text → id map, the piece cache) and about 136 bytes of structure; per BPE merge both halves
/// and about 112 bytes of tree node. A vocabulary sized by `{arch}.vocab_size` without token
/// texts (tokenizer "none") still costs the structure per entry: 300 million entries once took
/// 11.5 GB before llama.cpp failed on the file.
pub fn vocab_bytes(g: &GgufFile) -> u64 {
    const PER_TOKEN: u64 = 136;
    const PER_MERGE: u64 = 112;
    let strings = |key: &str| {
        g.get_array(key)
            .and_then(|a| a.strings())
            .map(|s| {
                s.iter().fold((0u64, 0u64), |(n, bytes), t| {
                    (n + 1, bytes.saturating_add(t.len() as u64 + 1))
                })
            })
            .unwrap_or((0, 0))
    };
    let (tokens, token_text) = strings("tokenizer.ggml.tokens");
    let entries = tokens.max(g.arch_u64("vocab_size").unwrap_or(0));
    let (merges, merge_text) = strings("tokenizer.ggml.merges");
    entries
        .saturating_mul(PER_TOKEN)
        .saturating_add(token_text.saturating_mul(3))
        .saturating_add(merges.saturating_mul(PER_MERGE))
        .saturating_add(merge_text)
}

/// How the estimate fits a device with `free` bytes.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Fit {
    pub device: String,
    pub free_bytes: u64,
    pub fits: bool,
    /// Repeating layers whose weights and KV fit beside the non-layer weights and the compute
    /// buffer (all of them when `fits`).
    pub layers_that_fit: u64,
}

pub fn fit(device: &str, free: u64, e: &MemoryEstimate, layers: u64) -> Fit {
    let fixed = e.non_layer_bytes.saturating_add(e.logits_bytes);
    let layers_that_fit = free
        .saturating_sub(fixed)
        .checked_div(e.per_layer_bytes)
        .unwrap_or(0)
        .min(layers);
    Fit {
        device: device.to_string(),
        free_bytes: free,
        fits: e.total_bytes <= free,
        layers_that_fit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_counts_layers() {
        let e = MemoryEstimate {
            context_size: 2048,
            ubatch_size: 512,
            kv_type: "f16",
            weights_bytes: 1000,
            kv_bytes: 200,
            logits_bytes: 100,
            vocab_bytes: 0,
            total_bytes: 1300,
            per_layer_bytes: 100,
            non_layer_bytes: 200,
        };
        assert!(fit("CPU", 1300, &e, 10).fits);
        let f = fit("GPU", 650, &e, 10);
        assert!(!f.fits);
        assert_eq!(f.layers_that_fit, 3);
        assert_eq!(fit("tiny", 10, &e, 10).layers_that_fit, 0);
        assert_eq!(fit("huge", u64::MAX, &e, 10).layers_that_fit, 10);
    }

    /// Hyperparameters chosen to overflow every product: the estimate saturates and nothing
    /// fits, where wrapping arithmetic would have reported a small size (or panicked in debug).
    #[test]
    fn overflowing_hyperparameters_fit_nowhere() {
        use crate::gguf::image::Writer;
        let mut w = Writer::new(3, 0, 5);
        w.kv_str("general.architecture", "llama");
        w.kv_u64("llama.block_count", u64::MAX / 3);
        w.kv_u64("llama.attention.head_count", u64::MAX / 5);
        w.kv_u64("llama.attention.key_length", u64::MAX / 7);
        w.kv_u64("llama.embedding_length", 64);
        let bytes = w.data(0);
        let g = crate::gguf::reader::parse(&bytes[..], bytes.len() as u64).unwrap();
        let f = crate::modelinfo::facts("m", &g, |_| None);
        let e = estimate(&g, &f, u64::from(u32::MAX), u64::from(u32::MAX));
        assert_eq!(e.kv_bytes, u64::MAX);
        assert_eq!(e.total_bytes, u64::MAX);
        let big = fit("big", u64::MAX - 1, &e, f.layers.unwrap());
        assert!(!big.fits);
        assert_eq!(big.layers_that_fit, 0);
    }
}
