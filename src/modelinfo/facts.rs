//! The facts `inferno info -m` shows, read from the header.

use serde::Serialize;

use super::names::file_type_name;
use crate::gguf::{GgufFile, ggml_type_name};

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
                s.bytes = s.bytes.saturating_add(t.n_bytes);
            }
            None => shares.push(TypeShare {
                ggml_type: name,
                tensors: 1,
                bytes: t.n_bytes,
            }),
        }
    }
    shares.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.ggml_type.cmp(&b.ggml_type)));

    let tokens = g
        .get_array("tokenizer.ggml.tokens")
        .and_then(|a| a.strings());
    let token = |key: &str| {
        g.get_u64(key).map(|id| TokenFact {
            id,
            text: tokens
                .and_then(|t| t.get(usize::try_from(id).ok()?))
                .cloned(),
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
            let f = super::facts("m", &g, engine::template::template_name);
            let m = engine::load_model(
                &path,
                &ModelOptions::default(),
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
                .filter(|(_, v)| !matches!(v, crate::gguf::Value::Array(_)))
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
