//! The vocabulary: llama.cpp asserts on duplicate token strings, throws out of `llama_tokenize`
//! (through Rust, which cannot catch it) when an SPM vocabulary cannot spell a byte or a
//! needed special token is missing, aborts on any text with no vocabulary at all, and sizes its
//! tables from these arrays. Rules follow `llama_vocab::impl::load` (llama-vocab.cpp).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use super::{Ctx, Problem, charsmap, describe};
use crate::gguf::value::{Array, Value};

/// `tokenizer.ggml.model` values llama.cpp knows (anything else: it refuses to load).
const MODELS: &[&str] = &[
    "llama",
    "bert",
    "gpt2",
    "t5",
    "rwkv",
    "plamo2",
    "gemma4",
    "hybriddna",
    "whitespace",
    "test",
];

/// BPE pre-tokenizers after which llama.cpp adds BOS unless the file says otherwise.
const BPE_ADDS_BOS: &[&str] = &[
    "llama3",
    "llama-v3",
    "llama-bpe",
    "falcon3",
    "falcon-h1",
    "pixtral",
    "midm-2.0",
    "lfm2",
    "jina-v5-nano",
    "tekken",
    "chameleon",
    "gemma4",
];

const SPECIAL_IDS: &[&str] = &[
    "bos",
    "eos",
    "eot",
    "eom",
    "unknown",
    "seperator",
    "padding",
    "cls",
    "mask",
    "fim_pre",
    "fim_suf",
    "fim_mid",
    "fim_pad",
    "fim_rep",
    "fim_sep",
    "prefix",
    "suffix",
    "middle",
];

pub(super) fn check(c: &Ctx<'_>, out: &mut Vec<Problem>) {
    let model = match c.g.get("tokenizer.ggml.model") {
        Some(Value::String(m)) => m.as_str(),
        other => {
            out.push(Problem::new(
                "tokenizer.ggml.model",
                "the tokenizer's name (a string)",
                describe(other),
            ));
            return;
        }
    };
    if model == "none" || model == "no_vocab" {
        out.push(Problem::new(
            "tokenizer.ggml.model",
            "a tokenizer: this file has no vocabulary, so it cannot read or write text",
            format!("\"{model}\""),
        ));
        return;
    }
    if !MODELS.contains(&model) {
        out.push(Problem::new(
            "tokenizer.ggml.model",
            format!("one of {}", MODELS.join(", ")),
            format!("\"{model}\""),
        ));
        return;
    }
    let tokens = match c.g.get("tokenizer.ggml.tokens") {
        Some(Value::Array(Array::String(t))) if !t.is_empty() => t.as_slice(),
        other => {
            out.push(Problem::new(
                "tokenizer.ggml.tokens",
                "a non-empty array of strings",
                describe(other),
            ));
            return;
        }
    };
    for result in [
        arrays(c, model, tokens.len()),
        unique(tokens),
        byte_tokens(model, tokens),
        rwkv_first_bytes(model, tokens),
        special_ids(c, model, tokens.len()),
        charsmap(c, model),
    ] {
        if let Err(p) = result {
            out.push(p);
        }
    }
}

/// The per-token arrays have one entry per token and the types llama.cpp reads; BPE has its
/// merges; `{arch}.vocab_size`, when given, agrees (llama.cpp sizes tables from it).
fn arrays(c: &Ctx<'_>, model: &str, n: usize) -> Result<(), Problem> {
    let g = c.g;
    let per_token = |key: &str, ok: fn(&Array) -> bool, what: &str| match g.get(key) {
        None => Ok(()),
        Some(Value::Array(a)) if ok(a) && a.len() == n => Ok(()),
        Some(Value::Array(a)) if ok(a) => Err(Problem::new(
            key,
            format!("{n} entries, one per token"),
            a.len().to_string(),
        )),
        other => Err(Problem::new(key, what, describe(other))),
    };
    per_token(
        "tokenizer.ggml.scores",
        |a| matches!(a, Array::F32(_) | Array::I32(_)),
        "an array of f32",
    )?;
    per_token(
        "tokenizer.ggml.token_type",
        |a| matches!(a, Array::I32(_)),
        "an array of i32",
    )?;
    match g.get("tokenizer.ggml.suppress_tokens") {
        None | Some(Value::Array(Array::I32(_))) => {}
        other => {
            return Err(Problem::new(
                "tokenizer.ggml.suppress_tokens",
                "an array of i32",
                describe(other),
            ));
        }
    }
    let bpe = matches!(model, "gpt2" | "gemma4" | "hybriddna" | "whitespace");
    let kimi = g.get_str("tokenizer.ggml.pre") == Some("kimi-k2");
    match g.get("tokenizer.ggml.merges") {
        Some(Value::Array(Array::String(_))) => {}
        None if !bpe || kimi => {}
        other => {
            return Err(Problem::new(
                "tokenizer.ggml.merges",
                "an array of strings (BPE merges)",
                describe(other),
            ));
        }
    }
    if model == "bert"
        && let Some(Value::Array(Array::I32(types))) = g.get("tokenizer.ggml.token_type")
        && let Some(i) = types.iter().position(|&t| t == 6)
    {
        // llama.cpp aborts converting a WordPiece byte token to a piece.
        return Err(Problem::new(
            "tokenizer.ggml.token_type",
            "no byte tokens (type 6) in a bert vocabulary",
            format!("token {i} of type 6"),
        ));
    }
    match c.u32("vocab_size")? {
        Some(v) if v as usize != n => Err(Problem::new(
            c.key("vocab_size"),
            format!("{n}, the length of tokenizer.ggml.tokens"),
            v.to_string(),
        )),
        _ => Ok(()),
    }
}

/// No two tokens with the same text, after llama.cpp renames empty ones to `[EMPTY_<i>]` (its
/// text → id map would lose one, and it asserts both have the same size).
fn unique(tokens: &[String]) -> Result<(), Problem> {
    let mut first: HashMap<Cow<'_, str>, usize> = HashMap::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        let text = if t.is_empty() {
            Cow::Owned(format!("[EMPTY_{i}]"))
        } else {
            Cow::Borrowed(t.as_str())
        };
        if let Some(&at) = first.get(&text) {
            return Err(Problem::new(
                "tokenizer.ggml.tokens",
                "every token text once",
                format!("{text:?} at {at} and {i}"),
            ));
        }
        first.insert(text, i);
    }
    Ok(())
}

/// A SentencePiece vocabulary falls back to byte tokens for what it cannot spell: each of the
/// 256 bytes needs `<0xHH>` (or the byte itself) or tokenizing such text throws.
fn byte_tokens(model: &str, tokens: &[String]) -> Result<(), Problem> {
    if model != "llama" {
        return Ok(());
    }
    let set: HashSet<&str> = tokens.iter().map(String::as_str).collect();
    let missing: Vec<String> = (0u8..=255)
        .filter(|&b| {
            let hex = set.contains(format!("<0x{b:02X}>").as_str());
            let raw = b.is_ascii() && set.contains(char::from(b).to_string().as_str());
            !(hex || raw)
        })
        .map(|b| format!("<0x{b:02X}>"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Problem::new(
        "tokenizer.ggml.tokens",
        "all 256 byte tokens <0x00> to <0xFF> (a SentencePiece vocabulary spells unknown text with them)",
        format!("{} missing, e.g. {}", missing.len(), missing[0]),
    ))
}

/// RWKV's tokenizer walks a trie of the unescaped tokens and, when a match has no complete
/// token on its path, restarts at the beginning of the text: an endless loop whose output grows
/// without bound. Every byte that begins a token must therefore be a token by itself.
fn rwkv_first_bytes(model: &str, tokens: &[String]) -> Result<(), Problem> {
    if model != "rwkv" {
        return Ok(());
    }
    let unescaped: Vec<Vec<u8>> = tokens.iter().map(|t| unescape_rwkv(t)).collect();
    let singles: HashSet<u8> = unescaped
        .iter()
        .filter(|t| t.len() == 1)
        .map(|t| t[0])
        .collect();
    match unescaped
        .iter()
        .filter_map(|t| t.first())
        .find(|b| !singles.contains(b))
    {
        None => Ok(()),
        Some(b) => Err(Problem::new(
            "tokenizer.ggml.tokens",
            "a one-byte token for every byte that begins a token (the rwkv tokenizer loops forever otherwise)",
            format!("tokens beginning with byte 0x{b:02X} but no token for it alone"),
        )),
    }
}

/// llama.cpp's `llama_unescape_rwkv_token`: `\t`, `\n`, `\r`, `\xHH`, `\<c>`.
fn unescape_rwkv(escaped: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(escaped.len());
    let (mut escaping, mut hex_left, mut hex) = (false, 0u8, 0u8);
    for c in escaped.bytes() {
        if hex_left > 0 {
            let v = if c >= b'a' {
                c.wrapping_sub(b'a').wrapping_add(10)
            } else {
                c.wrapping_sub(b'0')
            };
            hex = hex.wrapping_shl(4).wrapping_add(v);
            hex_left -= 1;
            if hex_left == 0 {
                out.push(hex);
                hex = 0;
            }
        } else if escaping {
            match c {
                b't' => out.push(b'\t'),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b'x' => hex_left = 2,
                other => out.push(other),
            }
            escaping = false;
        } else if c == b'\\' {
            escaping = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// Special token ids are u32 values inside the vocabulary; the ones tokenizing needs (BOS when
/// it is added, EOS when it is added, WordPiece's separator, an unknown token where unknown
/// text maps to it) exist.
fn special_ids(c: &Ctx<'_>, model: &str, n: usize) -> Result<(), Problem> {
    let g = c.g;
    let mut ids = HashMap::new();
    for name in SPECIAL_IDS {
        let key = format!("tokenizer.ggml.{name}_token_id");
        if let Some(id) = c.typed(&key, "a u32 token id", |v| match v {
            Value::U32(x) => Some(*x),
            _ => None,
        })? {
            if id as usize >= n {
                return Err(Problem::new(
                    key,
                    format!("a token id below {n} (the vocabulary size)"),
                    id.to_string(),
                ));
            }
            ids.insert(*name, id);
        }
    }
    let flag = |name: &str| {
        c.typed(
            &format!("tokenizer.ggml.{name}"),
            "true or false",
            |v| match v {
                Value::Bool(b) => Some(*b),
                _ => None,
            },
        )
    };
    let pre = g.get_str("tokenizer.ggml.pre").unwrap_or("default");
    let (bos_default, eos_default, unk_default, sep_default) = match model {
        "llama" | "plamo2" => (Some(1), Some(2), Some(0), None),
        "bert" => (Some(101), None, Some(100), Some(102)),
        "t5" => (None, Some(1), Some(2), None),
        "gpt2" | "gemma4" | "hybriddna" | "whitespace" => (Some(11), Some(11), None, None),
        _ => (None, None, None, None),
    };
    let resolves = |name: &str, default: Option<u32>| {
        ids.contains_key(name) || default.is_some_and(|d| (d as usize) < n)
    };
    let add_bos = flag("add_bos_token")?.unwrap_or(match model {
        "llama" | "bert" | "plamo2" => true,
        "gpt2" | "gemma4" | "hybriddna" | "whitespace" => BPE_ADDS_BOS.contains(&pre),
        _ => false,
    }) || pre == "gemma4";
    let add_eos = flag("add_eos_token")?.unwrap_or(model == "t5");
    flag("add_sep_token")?;
    let needed = [
        (
            "bos",
            add_bos || model == "bert",
            bos_default,
            "BOS, which is added to every prompt",
        ),
        (
            "eos",
            add_eos,
            eos_default,
            "EOS, which is added to every prompt",
        ),
        (
            "seperator",
            model == "bert",
            sep_default,
            "a separator, which WordPiece adds",
        ),
        (
            "unknown",
            matches!(model, "bert" | "t5" | "rwkv"),
            unk_default,
            "an unknown token, for text the vocabulary cannot spell",
        ),
    ];
    for (name, needed, default, why) in needed {
        if needed && !resolves(name, default) {
            return Err(Problem::new(
                format!("tokenizer.ggml.{name}_token_id"),
                format!("a token id below {n}: the {model} tokenizer needs {why}"),
                default.map_or("no such key".to_string(), |d| {
                    format!("no such key, and the default {d} is outside the vocabulary")
                }),
            ));
        }
    }
    Ok(())
}

/// T5's normalizer table must describe only bytes it has (llama.cpp throws out of
/// `llama_tokenize` otherwise).
fn charsmap(c: &Ctx<'_>, model: &str) -> Result<(), Problem> {
    let key = "tokenizer.ggml.precompiled_charsmap";
    let bytes: Vec<u8> = match c.g.get(key) {
        None => return Ok(()),
        Some(Value::Array(Array::U8(b))) => b.clone(),
        Some(Value::Array(Array::I8(b))) => b.iter().map(|&x| x as u8).collect(),
        other => return Err(Problem::new(key, "an array of bytes (u8)", describe(other))),
    };
    if model != "t5" {
        return Ok(());
    }
    charsmap::validate(&bytes)
        .map_err(|why| Problem::new(key, "a well-formed normalizer table", why))
}
