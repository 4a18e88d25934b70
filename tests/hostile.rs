//! Damaged and hostile model files that are structurally valid GGUF: each class that once
//! killed inferno with a signal (or made it allocate gigabytes) must end with exit 4 and one
//! line naming the key or tensor, nothing on stdout, little memory. Variants are edited copies
//! of the tiny synthetic model (a few MB) or, where a class needs a real tokenizer or
//! architecture, of the test models. With the checks switched off (INFERNO_SKIP_MODEL_CHECKS),
//! what reaches llama.cpp must still end in one line and an exit code, never a signal.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::edit::{edited, remove, set, token_id};
use common::*;
use inferno::gguf::{Array, GgufFile, Value};

/// The tiny synthetic model, written once per test binary.
fn tiny() -> &'static Path {
    static TINY: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &TINY
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("tiny.gguf");
            synth_tiny(&path, &[]);
            (dir, path)
        })
        .1
}

fn tensor<'g>(g: &'g mut GgufFile, name: &str) -> &'g mut inferno::gguf::TensorInfo {
    g.tensors
        .iter_mut()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no tensor {name}"))
}

fn tokens(g: &mut GgufFile) -> &mut Vec<String> {
    match g
        .metadata
        .iter_mut()
        .find(|(k, _)| k == "tokenizer.ggml.tokens")
    {
        Some((_, Value::Array(Array::String(t)))) => t,
        _ => panic!("no token list"),
    }
}

type Edit = fn(&mut GgufFile);

/// Every class from the report, as (name, base model, edit, what the message must name).
fn classes() -> Vec<(&'static str, &'static Path, Edit, &'static str)> {
    let qwen: &'static Path = Box::leak(model(QWEN).into_boxed_path());
    let gemma: &'static Path = Box::leak(model(GEMMA).into_boxed_path());
    vec![
        (
            "no layers",
            tiny(),
            |g| set(g, "llama.block_count", Value::U32(0)),
            "llama.block_count: expected 1 to 512",
        ),
        (
            "too many layers",
            tiny(),
            |g| set(g, "llama.block_count", Value::U32(600)),
            "found 600",
        ),
        (
            "experts on a dense model",
            tiny(),
            |g| {
                set(g, "llama.expert_count", Value::U32(8));
                set(g, "llama.expert_used_count", Value::U32(2));
            },
            "llama.expert_count: expected no such key: the model has no expert tensors",
        ),
        (
            "experts used without experts",
            tiny(),
            |g| set(g, "llama.expert_used_count", Value::U32(2)),
            "llama.expert_used_count",
        ),
        (
            "nextn above the layers",
            tiny(),
            |g| set(g, "llama.nextn_predict_layers", Value::U32(9)),
            "llama.nextn_predict_layers",
        ),
        (
            "unknown rope scaling",
            tiny(),
            |g| set(g, "llama.rope.scaling.type", Value::String("cubic".into())),
            "llama.rope.scaling.type",
        ),
        (
            "no heads",
            tiny(),
            |g| set(g, "llama.attention.head_count", Value::U32(0)),
            "llama.attention.head_count",
        ),
        (
            "kv heads not dividing",
            tiny(),
            |g| set(g, "llama.attention.head_count_kv", Value::U32(3)),
            "llama.attention.head_count_kv",
        ),
        (
            "epsilon NaN",
            tiny(),
            |g| {
                set(
                    g,
                    "llama.attention.layer_norm_rms_epsilon",
                    Value::F32(f32::NAN),
                )
            },
            "layer_norm_rms_epsilon",
        ),
        (
            "epsilon negative",
            tiny(),
            |g| {
                set(
                    g,
                    "llama.attention.layer_norm_rms_epsilon",
                    Value::F32(-1.0),
                )
            },
            "layer_norm_rms_epsilon",
        ),
        (
            "rope dims not the head size (qwen2)",
            qwen,
            |g| set(g, "qwen2.rope.dimension_count", Value::U32(32)),
            "qwen2.rope.dimension_count",
        ),
        (
            "norm weight I32",
            tiny(),
            |g| tensor(g, "blk.0.attn_norm.weight").ggml_type = 26,
            "tensor blk.0.attn_norm.weight: expected type F32",
        ),
        (
            "norm weight F64",
            tiny(),
            |g| tensor(g, "blk.0.attn_norm.weight").ggml_type = 28,
            "found F64",
        ),
        (
            "embeddings Q8_K",
            tiny(),
            |g| tensor(g, "token_embd.weight").ggml_type = 15,
            "tensor token_embd.weight",
        ),
        (
            "weight Q8_1",
            tiny(),
            |g| tensor(g, "blk.0.attn_q.weight").ggml_type = 9,
            "found Q8_1 (no kernel",
        ),
        (
            "weight Q8_K",
            tiny(),
            |g| tensor(g, "blk.1.ffn_up.weight").ggml_type = 15,
            "found Q8_K",
        ),
        (
            "weight I8",
            tiny(),
            |g| tensor(g, "blk.0.attn_k.weight").ggml_type = 24,
            "found I8",
        ),
        (
            "weight I32",
            tiny(),
            |g| tensor(g, "blk.0.attn_v.weight").ggml_type = 26,
            "found I32",
        ),
        (
            "weight I64",
            tiny(),
            |g| tensor(g, "blk.0.ffn_down.weight").ggml_type = 27,
            "found I64",
        ),
        (
            "weight F64",
            tiny(),
            |g| tensor(g, "output.weight").ggml_type = 28,
            "found F64",
        ),
        (
            "duplicate token strings",
            tiny(),
            |g| tokens(g)[300] = tokens(g)[301].clone(),
            "every token text once",
        ),
        (
            "bert on an SPM vocabulary",
            gemma,
            |g| set(g, "tokenizer.ggml.model", Value::String("bert".into())),
            "tokenizer.ggml",
        ),
        (
            "SPM without byte tokens",
            tiny(),
            |g| tokens(g)[3 + 0x0A] = "newline".into(),
            "<0x0A>",
        ),
        (
            "T5 charsmap out of bounds",
            tiny(),
            |g| {
                set(g, "tokenizer.ggml.model", Value::String("t5".into()));
                set(
                    g,
                    "tokenizer.ggml.precompiled_charsmap",
                    Value::Array(Array::U8(vec![8, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0])),
                );
            },
            "tokenizer.ggml.precompiled_charsmap",
        ),
        (
            "vocabulary sized by vocab_size",
            tiny(),
            |g| {
                set(g, "tokenizer.ggml.model", Value::String("none".into()));
                set(g, "llama.vocab_size", Value::U32(300_000_000));
            },
            "no vocabulary",
        ),
        (
            "special id outside the vocabulary",
            tiny(),
            |g| set(g, "tokenizer.ggml.eos_token_id", Value::U32(5_000_000)),
            "tokenizer.ggml.eos_token_id",
        ),
    ]
}

/// Peak memory allowed for a refusal: the header is read, no weights.
const REFUSAL_RSS: u64 = 512 << 20;

#[test]
fn every_class_is_refused_before_llama_cpp_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (name, base, edit, needle)) in classes().into_iter().enumerate() {
        let m = edited(base, dir.path(), &format!("v{i}.gguf"), edit);
        let (r, rss) = Inferno::new()
            .args([
                "run",
                "-m",
                m.to_str().unwrap(),
                "-c",
                "512",
                "--temp",
                "0",
                "-n",
                "2",
                "-p",
                "Hello\nworld",
            ])
            .run_measured();
        assert_eq!(r.code(), 4, "{name}: {}", r.stderr());
        r.fails(4, needle);
        assert!(
            r.stderr().contains("cannot be run"),
            "{name}: {}",
            r.stderr()
        );
        assert!(rss < REFUSAL_RSS, "{name}: {} MiB", rss >> 20);
        Inferno::new()
            .args([
                "bench",
                "-m",
                m.to_str().unwrap(),
                "-p",
                "8",
                "-n",
                "2",
                "-r",
                "1",
            ])
            .run()
            .fails(4, needle);
        // info still describes the file, and lists the problem.
        let info = Inferno::new()
            .args(["info", "-m", m.to_str().unwrap()])
            .run()
            .ok();
        assert!(
            info.contains("problem: ") && info.contains(needle),
            "{name}: {info}"
        );
        std::fs::remove_file(&m).unwrap();
    }
}

/// The last line of defence: with the checks off, llama.cpp gets every class. Whatever it
/// does (refuse, assert, fault), inferno ends with one line and an exit code: no signal, no
/// gdb backtrace, nothing on stdout.
#[test]
fn what_slips_through_is_still_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut outcomes = Vec::new();
    for (i, (name, base, edit, _)) in classes().into_iter().enumerate() {
        let m = edited(base, dir.path(), &format!("v{i}.gguf"), edit);
        let (r, rss) = Inferno::new()
            .env("INFERNO_SKIP_MODEL_CHECKS", "1")
            .args([
                "run",
                "-m",
                m.to_str().unwrap(),
                "-c",
                "512",
                "--temp",
                "0",
                "-n",
                "2",
                "-p",
                "Hello\nworld",
            ])
            .run_measured();
        let code = r.0.status.code();
        assert!(
            code.is_some(),
            "{name}: killed by a signal: {:?}\n{}",
            r.0.status,
            r.stderr()
        );
        let err = r.stderr();
        assert!(
            !err.contains("gdb") && !err.contains("backtrace"),
            "{name}: {err}"
        );
        if code != Some(0) {
            // One line of ours. A C++ exception that crosses into Rust (the tokenizer classes,
            // which the checks stop) also gets the Rust runtime's own line before it.
            let lines: Vec<&str> = err
                .trim_end()
                .lines()
                .filter(|l| {
                    *l != "fatal runtime error: Rust cannot catch foreign exceptions, aborting"
                })
                .collect();
            assert_eq!(lines.len(), 1, "{name}: one line: {err}");
            assert!(lines[0].starts_with("inferno: "), "{name}: {err}");
            assert!(r.0.stdout.is_empty(), "{name}: stdout {:?}", r.stdout());
        }
        assert!(rss < 2 << 30, "{name}: {} MiB", rss >> 20);
        outcomes.push(format!("{name}: exit {}", code.unwrap()));
        std::fs::remove_file(&m).unwrap();
    }
    eprintln!("outcomes with the checks off:\n{}", outcomes.join("\n"));
}

/// A model without a BOS token (a T5/UGM tokenizer has none): the prompt is tokenized without
/// asking llama.cpp for the text of token -1, which it answers by throwing.
#[test]
fn a_model_without_bos_runs() {
    let dir = tempfile::tempdir().unwrap();
    let m = edited(tiny(), dir.path(), "no-bos.gguf", |g| {
        set(g, "tokenizer.ggml.model", Value::String("t5".into()));
        remove(g, "tokenizer.ggml.bos_token_id");
        set(g, "tokenizer.ggml.add_bos_token", Value::Bool(false));
    });
    let header = inferno::gguf::read(&m).unwrap();
    assert!(token_id(&header, "<s>") > 0);
    Inferno::new()
        .args([
            "run",
            "-m",
            m.to_str().unwrap(),
            "--temp",
            "0",
            "-n",
            "4",
            "--ignore-eos",
        ])
        .args(["--json", "-p", "hello world"])
        .run()
        .ok();
}

/// Every finding of the semantic fuzzer (examples/semantic_fuzz.rs; recipes in fuzz/semantic)
/// now ends cleanly with the checks on: replayed against the same tiny model.
#[test]
fn semantic_fuzzer_findings_stay_fixed() {
    let replay = bin().parent().unwrap().join("examples/semantic_fuzz");
    let out = std::process::Command::new(replay)
        .arg("replay")
        .arg(tiny())
        .arg(bin())
        .arg(root().join("fuzz/semantic"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.lines().count() >= 1, "recipes were replayed: {text}");
}
