//! What a GGUF file says about its model, and what running it would need: pure functions over
//! a parsed [`GgufFile`] (no weights are read, nothing is loaded).

use serde::Serialize;

use crate::gguf::{GgufFile, Value, ggml_type_name};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ModelFacts {
    pub path: String,
    pub file_size: u64,
    pub gguf_version: u32,
    pub architecture: Option<String>,
    pub name: Option<String>,
    /// Sum of the element counts of every tensor.
    pub parameters: u64,
    /// `general.file_type`, as llama.cpp names it (e.g. `Q4_K_M`).
    pub file_type: Option<String>,
    /// Tensors per ggml type, largest share first.
    pub quantization: Vec<TypeShare>,
    pub tensor_count: usize,
    pub metadata_count: usize,
    /// Where the tensor data starts, and its alignment.
    pub data_offset: u64,
    pub alignment: u64,
    pub layers: Option<u64>,
    pub embedding_length: Option<u64>,
    pub feed_forward_length: Option<u64>,
    pub heads: Option<u64>,
    pub kv_heads: Option<u64>,
    pub head_dim: Option<u64>,
    pub context_length: Option<u64>,
    pub sliding_window: Option<u64>,
    pub vocab_size: Option<usize>,
    pub tokenizer: Option<String>,
    pub rope: Rope,
    pub chat_template: ChatTemplateFacts,
    pub bos_token: Option<TokenFact>,
    pub eos_token: Option<TokenFact>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TypeShare {
    #[serde(rename = "type")]
    pub ggml_type: String,
    pub tensors: usize,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Rope {
    pub freq_base: Option<f64>,
    pub dimension_count: Option<u64>,
    pub scaling_type: Option<String>,
    pub scaling_factor: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct ChatTemplateFacts {
    pub present: bool,
    /// The llama.cpp built-in template it renders like, if any (e.g. `chatml`).
    pub name: Option<String>,
    pub first_line: Option<String>,
    pub length: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TokenFact {
    pub id: u64,
    pub text: Option<String>,
}

/// llama.cpp's `llama_ftype` names.
pub fn file_type_name(ft: u64) -> String {
    let name = match ft {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        4 => "Q4_1_SOME_F16",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        39 => "NVFP4",
        40 => "Q1_0",
        41 => "Q2_0",
        _ => return format!("unknown ({ft})"),
    };
    name.to_string()
}

/// Facts from the header. `template_name` recognizes a chat template (llama.cpp's matcher).
pub fn facts(
    path: &str,
    g: &GgufFile,
    template_name: impl Fn(&str) -> Option<String>,
) -> ModelFacts {
    let mut shares: Vec<TypeShare> = Vec::new();
    for t in &g.tensors {
        let name = ggml_type_name(t.ggml_type);
        match shares.iter_mut().find(|s| s.ggml_type == name) {
            Some(s) => {
                s.tensors += 1;
                s.bytes += t.n_bytes;
            }
            None => shares.push(TypeShare {
                ggml_type: name,
                tensors: 1,
                bytes: t.n_bytes,
            }),
        }
    }
    shares.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.ggml_type.cmp(&b.ggml_type)));

    let tokens = match g.get("tokenizer.ggml.tokens") {
        Some(Value::Array(_, items)) => Some(items),
        _ => None,
    };
    let token = |key: &str| {
        g.get_u64(key).map(|id| TokenFact {
            id,
            text: tokens
                .and_then(|t| t.get(id as usize))
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    };
    let template = g.get_str("tokenizer.chat_template");
    let heads = g.arch_u64("attention.head_count");
    let embd = g.arch_u64("embedding_length");
    ModelFacts {
        path: path.to_string(),
        file_size: g.file_size,
        gguf_version: g.version,
        architecture: g.architecture().map(str::to_string),
        name: g.get_str("general.name").map(str::to_string),
        parameters: g.n_params(),
        file_type: g.get_u64("general.file_type").map(file_type_name),
        quantization: shares,
        tensor_count: g.tensors.len(),
        metadata_count: g.metadata.len(),
        data_offset: g.data_offset,
        alignment: g.alignment,
        layers: g.arch_u64("block_count"),
        embedding_length: embd,
        feed_forward_length: g.arch_u64("feed_forward_length"),
        heads,
        kv_heads: g.arch_u64("attention.head_count_kv").or(heads),
        head_dim: g
            .arch_u64("attention.key_length")
            .or_else(|| Some(embd? / heads.filter(|&h| h > 0)?)),
        context_length: g.arch_u64("context_length"),
        sliding_window: g.arch_u64("attention.sliding_window"),
        vocab_size: g.array_len("tokenizer.ggml.tokens"),
        tokenizer: g.get_str("tokenizer.ggml.model").map(str::to_string),
        rope: Rope {
            freq_base: g
                .architecture()
                .and_then(|a| g.get_f64(&format!("{a}.rope.freq_base"))),
            dimension_count: g.arch_u64("rope.dimension_count"),
            scaling_type: g
                .architecture()
                .and_then(|a| g.get_str(&format!("{a}.rope.scaling.type")))
                .map(str::to_string),
            scaling_factor: g
                .architecture()
                .and_then(|a| g.get_f64(&format!("{a}.rope.scaling.factor"))),
        },
        chat_template: ChatTemplateFacts {
            present: template.is_some(),
            name: template.and_then(&template_name),
            first_line: template
                .and_then(|t| t.lines().map(str::trim).find(|l| !l.is_empty()))
                .map(str::to_string),
            length: template.map_or(0, str::len),
        },
        bos_token: token("tokenizer.ggml.bos_token_id"),
        eos_token: token("tokenizer.ggml.eos_token_id"),
    }
}

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
    pub total_bytes: u64,
    /// Weights and KV of one repeating layer, for layer fitting.
    pub per_layer_bytes: u64,
    /// What is not in a repeating layer (embeddings, output, norms).
    pub non_layer_bytes: u64,
}

/// Bytes per KV element for the cache type llama.cpp uses by default (f16).
const KV_F16: u64 = 2;

pub fn estimate(g: &GgufFile, f: &ModelFacts, n_ctx: u64, n_ubatch: u64) -> MemoryEstimate {
    let layers = f.layers.unwrap_or(0);
    let kv_heads = f.kv_heads.unwrap_or(0);
    let k_dim = f.head_dim.unwrap_or(0);
    let v_dim = g.arch_u64("attention.value_length").unwrap_or(k_dim);
    let kv_per_layer = n_ctx * kv_heads * (k_dim + v_dim) * KV_F16;
    let weights = g.tensors.iter().map(|t| t.n_bytes).sum::<u64>();
    let layer_weights: u64 = g
        .tensors
        .iter()
        .filter(|t| t.name.starts_with("blk."))
        .map(|t| t.n_bytes)
        .sum();
    let per_layer_weights = layer_weights.checked_div(layers).unwrap_or(0);
    let logits = f.vocab_size.unwrap_or(0) as u64 * n_ubatch * 4;
    MemoryEstimate {
        context_size: n_ctx,
        ubatch_size: n_ubatch,
        kv_type: "f16",
        weights_bytes: weights,
        kv_bytes: kv_per_layer * layers,
        logits_bytes: logits,
        total_bytes: weights + kv_per_layer * layers + logits,
        per_layer_bytes: per_layer_weights + kv_per_layer,
        non_layer_bytes: weights - layer_weights,
    }
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
    let fixed = e.non_layer_bytes + e.logits_bytes;
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

/// llama.cpp's long file-type names (`llama_model_ftype_name`), as llama-bench shows them.
fn file_type_desc(ft: u64) -> String {
    let name = match ft {
        0 => "all F32",
        2 => "Q4_0",
        10 => "Q2_K - Medium",
        11 => "Q3_K - Small",
        12 => "Q3_K - Medium",
        13 => "Q3_K - Large",
        14 => "Q4_K - Small",
        15 => "Q4_K - Medium",
        16 => "Q5_K - Small",
        17 => "Q5_K - Medium",
        21 => "Q2_K - Small",
        38 => "MXFP4 MoE",
        _ => return file_type_name(ft),
    };
    name.to_string()
}

/// A one-line description like llama-bench's model column: architecture, size label (or the
/// parameter count) and file type, e.g. `qwen2 494M Q4_K - Medium`.
pub fn description(g: &GgufFile, n_params: u64) -> String {
    let arch = g.architecture().unwrap_or("unknown");
    let size = g
        .get_str("general.size_label")
        .map(str::to_string)
        .unwrap_or_else(|| {
            if n_params >= 1_000_000_000 {
                format!("{:.1}B", n_params as f64 / 1e9)
            } else {
                format!("{}M", n_params / 1_000_000)
            }
        });
    let ft = g
        .get_u64("general.file_type")
        .map_or_else(|| "unknown type".to_string(), file_type_desc);
    format!("{arch} {size} {ft}")
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

    #[test]
    fn file_type_names() {
        assert_eq!(file_type_name(15), "Q4_K_M");
        assert_eq!(file_type_name(999), "unknown (999)");
    }
}

/// Our Rust reader against llama.cpp's own loader (C++), on the real test models: two
/// independent readings of the same files must agree.
#[cfg(test)]
mod cross_check {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use crate::engine::{self, ModelOptions};

    fn model(name: &str) -> PathBuf {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("test_models")
            .join(name);
        assert!(
            p.is_file(),
            "{} missing: run test_models/fetch.sh",
            p.display()
        );
        p
    }

    #[test]
    fn header_facts_match_llama_cpp() {
        for name in [
            "gemma-3-270m-q4_k_m.gguf",
            "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        ] {
            let path = model(name);
            let g = crate::gguf::read(&path).unwrap();
            let f = super::facts("m", &g, engine::chat::template_name);
            let m = engine::load_model(
                &path,
                &ModelOptions { gpu_layers: 0 },
                Arc::new(AtomicBool::new(false)),
                |_| {},
            )
            .unwrap();
            let ll = &m.model;
            assert_eq!(f.parameters, ll.n_params(), "{name}: parameters");
            assert_eq!(f.layers, Some(u64::from(ll.n_layer())), "{name}: layers");
            assert_eq!(
                f.embedding_length,
                Some(ll.n_embd() as u64),
                "{name}: embedding"
            );
            assert_eq!(f.heads, Some(u64::from(ll.n_head())), "{name}: heads");
            assert_eq!(
                f.kv_heads,
                Some(u64::from(ll.n_head_kv())),
                "{name}: kv heads"
            );
            assert_eq!(
                f.context_length,
                Some(u64::from(ll.n_ctx_train())),
                "{name}: context"
            );
            assert_eq!(f.vocab_size, Some(ll.n_vocab() as usize), "{name}: vocab");
            assert_eq!(
                f.architecture.as_deref(),
                ll.meta_val_str("general.architecture").ok().as_deref()
            );
            assert_eq!(
                f.name.as_deref(),
                ll.meta_val_str("general.name").ok().as_deref()
            );
            // llama.cpp's metadata list leaves out arrays.
            let scalars = g
                .metadata
                .iter()
                .filter(|(_, v)| !matches!(v, crate::gguf::Value::Array(..)))
                .count();
            assert_eq!(scalars as i32, ll.meta_count(), "{name}: metadata keys");
            let vocab = ll.vocab();
            assert_eq!(
                f.bos_token.as_ref().map(|t| t.id as i32),
                Some(vocab.bos().0),
                "{name}: BOS"
            );
            assert_eq!(
                f.eos_token.as_ref().map(|t| t.id as i32),
                Some(vocab.eos().0),
                "{name}: EOS"
            );
            assert_eq!(
                f.chat_template.present,
                ll.chat_template(None).is_ok(),
                "{name}: template"
            );
            // llama.cpp maps exactly the tensor data the header describes (its report is in
            // MiB with two decimals; CPU_REPACK is an extra re-laid-out copy of some tensors).
            let mapped: u64 = m
                .buffers
                .iter()
                .filter(|b| b.device == "CPU_Mapped")
                .map(|b| b.bytes)
                .sum();
            let data = g.tensors.iter().map(|t| t.n_bytes).sum::<u64>();
            assert!(
                mapped.abs_diff(data) < 1 << 20,
                "{name}: mapped {mapped} vs tensor data {data}"
            );
        }
    }
}
