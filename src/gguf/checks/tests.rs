//! The checks on the shape of the real test models (both pass) and on edited copies of a small
//! valid header, one rule at a time.

use super::*;
use crate::gguf::TensorInfo;
use crate::gguf::value::Array;

/// A small llama-shaped header that passes every check: 2 layers, 4 heads of 16, 2 KV heads,
/// an SPM vocabulary with all byte tokens.
fn valid() -> GgufFile {
    let mut tokens = vec!["<unk>".to_string(), "<s>".to_string(), "</s>".to_string()];
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    tokens.extend(["a", "b", "\u{2581}a"].map(String::from));
    let n = tokens.len();
    let kv = |k: &str, v: Value| (k.to_string(), v);
    let metadata = vec![
        kv("general.architecture", Value::String("llama".into())),
        kv("llama.block_count", Value::U32(2)),
        kv("llama.context_length", Value::U32(128)),
        kv("llama.embedding_length", Value::U32(64)),
        kv("llama.feed_forward_length", Value::U32(128)),
        kv("llama.attention.head_count", Value::U32(4)),
        kv("llama.attention.head_count_kv", Value::U32(2)),
        kv("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
        kv("tokenizer.ggml.model", Value::String("llama".into())),
        kv("tokenizer.ggml.tokens", Value::Array(Array::String(tokens))),
        kv(
            "tokenizer.ggml.scores",
            Value::Array(Array::F32(vec![0.0; n])),
        ),
        kv(
            "tokenizer.ggml.token_type",
            Value::Array(Array::I32(vec![1; n])),
        ),
        kv("tokenizer.ggml.bos_token_id", Value::U32(1)),
        kv("tokenizer.ggml.eos_token_id", Value::U32(2)),
    ];
    let t = |name: &str, dims: &[u64], ggml_type: u32| TensorInfo {
        name: name.into(),
        dims: dims.to_vec(),
        ggml_type,
        offset: 0,
        n_bytes: 0,
    };
    let mut tensors = vec![
        t("token_embd.weight", &[64, n as u64], 12),
        t("output_norm.weight", &[64], 0),
    ];
    for il in 0..2 {
        for (part, dims) in [
            ("attn_q", &[64u64, 64][..]),
            ("attn_k", &[64, 32]),
            ("attn_v", &[64, 32]),
            ("attn_output", &[64, 64]),
        ] {
            tensors.push(t(&format!("blk.{il}.{part}.weight"), dims, 12));
        }
        tensors.push(t(&format!("blk.{il}.attn_norm.weight"), &[64], 0));
    }
    GgufFile {
        version: 3,
        metadata,
        tensors,
        alignment: 32,
        data_offset: 0,
        file_size: 0,
    }
}

fn problems(edit: impl FnOnce(&mut GgufFile)) -> Vec<Problem> {
    let mut g = valid();
    edit(&mut g);
    check(&g, &Support::cpu_reference())
}

fn set(g: &mut GgufFile, key: &str, v: Value) {
    match g.metadata.iter_mut().find(|(k, _)| k == key) {
        Some((_, old)) => *old = v,
        None => g.metadata.push((key.to_string(), v)),
    }
}

/// The first problem's text, which must mention every needle.
fn first(edit: impl FnOnce(&mut GgufFile), needles: &[&str]) {
    let p = problems(edit);
    let text = p.first().map(ToString::to_string).unwrap_or_default();
    for n in needles {
        assert!(text.contains(n), "{n:?} not in {text:?} ({p:?})");
    }
}

#[test]
fn the_valid_header_passes() {
    assert_eq!(problems(|_| {}), vec![]);
}

#[test]
fn hyperparameters() {
    first(
        |g| set(g, "llama.block_count", Value::U32(0)),
        &["llama.block_count: expected 1 to 512", "found 0"],
    );
    first(
        |g| set(g, "llama.block_count", Value::U32(513)),
        &["1 to 512", "513"],
    );
    first(
        |g| set(g, "llama.block_count", Value::I32(2)),
        &["llama.block_count: expected a u32, found i32 2"],
    );
    first(
        |g| set(g, "llama.block_count", Value::U32(3)),
        &["expected 2 (the blk.N tensor groups", "found 3"],
    );
    first(
        |g| set(g, "llama.block_count", Value::U32(1)),
        &["tensor blk.1.*", "layers 0 to 0"],
    );
    first(
        |g| set(g, "llama.nextn_predict_layers", Value::U32(3)),
        &["nextn_predict_layers", "at most"],
    );
    first(
        |g| set(g, "llama.expert_count", Value::U32(8)),
        &["llama.expert_count", "no expert tensors"],
    );
    first(
        |g| set(g, "llama.expert_used_count", Value::U32(2)),
        &["llama.expert_used_count", "without experts"],
    );
    first(
        |g| set(g, "llama.rope.scaling.type", Value::String("cubic".into())),
        &["one of none, linear, yarn, longrope", "cubic"],
    );
    first(
        |g| {
            set(
                g,
                "llama.attention.layer_norm_rms_epsilon",
                Value::F32(f32::NAN),
            )
        },
        &["finite number of 0 or more", "NaN"],
    );
    first(
        |g| {
            set(
                g,
                "llama.attention.layer_norm_rms_epsilon",
                Value::F32(-1.0),
            )
        },
        &["-1"],
    );
    first(
        |g| set(g, "llama.attention.head_count", Value::U32(0)),
        &["llama.attention.head_count", "at least 1 head"],
    );
    first(
        |g| set(g, "llama.attention.head_count_kv", Value::U32(3)),
        &["divisor of the 4 attention heads", "found 3"],
    );
    first(
        |g| set(g, "llama.attention.head_count_kv", Value::U32(0)),
        &["head_count_kv", "found 0"],
    );
    first(
        |g| {
            set(
                g,
                "llama.attention.head_count",
                Value::Array(Array::U32(vec![4, 2])),
            )
        },
        &["same head counts in every layer"],
    );
    first(
        |g| {
            set(
                g,
                "llama.attention.head_count",
                Value::Array(Array::U32(vec![4])),
            )
        },
        &["2 values (one per layer)", "found 1"],
    );
    first(
        |g| set(g, "llama.rope.dimension_count", Value::U32(8)),
        &["rope.dimension_count", "head size 16"],
    );
    first(
        |g| set(g, "llama.rope.dimension_count", Value::U32(15)),
        &["an even number up to the head size 16"],
    );
    first(
        |g| set(g, "llama.attention.value_length", Value::U32(8)),
        &["value_length", "key head size 16"],
    );
    first(
        |g| set(g, "llama.pooling_type", Value::U32(9)),
        &["pooling_type: expected 0 to 4"],
    );
    first(
        |g| set(g, "llama.context_length", Value::U64(128)),
        &["llama.context_length: expected a u32, found u64 128"],
    );
    first(
        |g| set(g, "llama.embedding_length", Value::U32(0)),
        &["llama.embedding_length: expected at least 1"],
    );
    // Keys of another architecture: llama.cpp says what is wrong (it does not know it).
    let renamed = problems(|g| set(g, "general.architecture", Value::String("llamaX".into())));
    assert!(renamed.is_empty(), "{renamed:?}");
    first(
        |g| set(g, "general.architecture", Value::U32(1)),
        &["general.architecture"],
    );
}

#[test]
fn qwen2_and_gemma3_rules() {
    first(
        |g| {
            g.metadata
                .iter_mut()
                .for_each(|(k, _)| *k = k.replace("llama.", "qwen2."));
            set(g, "general.architecture", Value::String("qwen2".into()));
            set(g, "qwen2.attention.key_length", Value::U32(8));
            set(g, "qwen2.attention.value_length", Value::U32(8));
        },
        &[
            "qwen2.embedding_length: expected 4 heads x head size 8 = 32",
            "found 64",
        ],
    );
    first(
        |g| {
            g.metadata
                .iter_mut()
                .for_each(|(k, _)| *k = k.replace("llama.", "gemma3."));
            set(g, "general.architecture", Value::String("gemma3".into()));
            set(g, "gemma3.attention.key_length_swa", Value::U32(32));
        },
        &["gemma3.attention.key_length_swa: expected 16"],
    );
}

#[test]
fn tensor_types() {
    // Q8_1, Q8_K, I8, I32, I64, F64 as a weight: no CPU kernel.
    for ty in [9, 15, 24, 26, 27, 28] {
        first(
            |g| g.tensors[2].ggml_type = ty,
            &["tensor blk.0.attn_q.weight", "no kernel"],
        );
        first(
            |g| g.tensors[0].ggml_type = ty,
            &["tensor token_embd.weight"],
        );
    }
    first(
        |g| g.tensors[1].ggml_type = 26,
        &["tensor output_norm.weight: expected type F32", "I32"],
    );
    first(|g| g.tensors[1].ggml_type = 28, &["F64"]);
    first(|g| g.tensors[1].ggml_type = 1, &["F16"]);
}

fn tokens(g: &mut GgufFile) -> &mut Vec<String> {
    match g
        .metadata
        .iter_mut()
        .find(|(k, _)| k == "tokenizer.ggml.tokens")
    {
        Some((_, Value::Array(Array::String(t)))) => t,
        _ => unreachable!("the valid header has tokens"),
    }
}

#[test]
fn tokenizer() {
    first(
        |g| set(g, "tokenizer.ggml.model", Value::String("none".into())),
        &["no vocabulary"],
    );
    first(
        |g| {
            set(
                g,
                "tokenizer.ggml.model",
                Value::String("sentencepiece".into()),
            )
        },
        &["one of llama, bert"],
    );
    first(
        |g| tokens(g)[5] = "a".into(),
        &["every token text once", "\"a\""],
    );
    first(
        |g| {
            tokens(g)[4] = String::new();
            tokens(g)[5] = "[EMPTY_4]".into();
        },
        &["\"[EMPTY_4]\" at 4 and 5"],
    );
    first(
        |g| tokens(g)[3 + 0x41] = "A-byte".into(),
        &["byte tokens", "1 missing, e.g. <0x41>"],
    );
    first(
        |g| set(g, "tokenizer.ggml.bos_token_id", Value::U32(100_000)),
        &["bos_token_id: expected a token id below"],
    );
    first(
        |g| set(g, "tokenizer.ggml.bos_token_id", Value::I32(1)),
        &["bos_token_id: expected a u32 token id"],
    );
    first(
        |g| {
            set(
                g,
                "tokenizer.ggml.scores",
                Value::Array(Array::F32(vec![0.0; 3])),
            )
        },
        &["scores: expected 262 entries"],
    );
    first(
        |g| {
            set(
                g,
                "tokenizer.ggml.token_type",
                Value::Array(Array::F32(vec![0.0; 262])),
            )
        },
        &["token_type: expected an array of i32"],
    );
    first(
        |g| set(g, "llama.vocab_size", Value::U32(300_000_000)),
        &["llama.vocab_size: expected 262", "300000000"],
    );
    first(
        |g| set(g, "tokenizer.ggml.model", Value::String("gpt2".into())),
        &["merges"],
    );
    // "<unk>" begins with "<", which is no token by itself.
    first(
        |g| set(g, "tokenizer.ggml.model", Value::String("rwkv".into())),
        &["one-byte token", "0x3C"],
    );
    first(
        |g| {
            set(g, "tokenizer.ggml.model", Value::String("t5".into()));
            set(
                g,
                "tokenizer.ggml.precompiled_charsmap",
                Value::Array(Array::U8(vec![255, 0, 0, 0, 1, 2])),
            );
        },
        &["precompiled_charsmap: expected a well-formed normalizer table"],
    );
    first(
        |g| {
            g.metadata
                .retain(|(k, _)| k != "tokenizer.ggml.bos_token_id");
            tokens(g).truncate(1);
            set(
                g,
                "tokenizer.ggml.scores",
                Value::Array(Array::F32(vec![0.0])),
            );
            set(
                g,
                "tokenizer.ggml.token_type",
                Value::Array(Array::I32(vec![1])),
            );
            set(g, "tokenizer.ggml.eos_token_id", Value::U32(0));
        },
        &["byte tokens"],
    );
}
