//! A semantic fuzzer for model files: mutates the hyperparameters, tokenizer arrays and tensor
//! types of a small valid model (the tiny synthetic one), runs `inferno run` on each mutant in
//! a child process (so a crash is observed, not fatal), and keeps what it finds:
//!
//! - a crash: the child died by a signal, or hung past the timeout;
//! - a slip: the semantic checks let the file through but llama.cpp then rejected it (exit 5 or
//!   9 with llama.cpp's message): the process survived, but a check is missing.
//!
//! Each finding is saved as a recipe (the mutations, as JSON) in the output directory; recipes
//! are replayed against the same base model by `replay` (the test suite does so for
//! `fuzz/semantic/`). Recipes, not model files: the base model is made by examples/synth.rs
//! deterministically, so a few hundred bytes reproduce a finding.
//!
//! ```text
//! cargo run --release --example synth -- --preset tiny -o /tmp/tiny.gguf
//! cargo run --release --example semantic_fuzz -- fuzz /tmp/tiny.gguf target/release/inferno --minutes 30 --out fuzz/semantic
//! cargo run --release --example semantic_fuzz -- replay /tmp/tiny.gguf target/release/inferno fuzz/semantic
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use inferno::gguf::types::GGML_TYPES;
use inferno::gguf::writer::{read_tensor, tensor_size, write};
use inferno::gguf::{Array, GgufFile, Value};
use serde::{Deserialize, Serialize};

/// One edit of the base model's header.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum Mutation {
    U32(String, u32),
    I32(String, i32),
    F32(String, f32),
    Str(String, String),
    Bool(String, bool),
    U32Array(String, Vec<u32>),
    Bytes(String, Vec<u8>),
    Remove(String),
    TensorType(String, u32),
    TokenText(usize, String),
    TokenType(usize, i32),
    Truncate(String, usize),
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: semantic_fuzz fuzz BASE INFERNO [--minutes N] [--out DIR] [--seed N] | replay BASE INFERNO DIR";
    let (Some(mode), Some(base), Some(inferno)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let base = PathBuf::from(base);
    let inferno = PathBuf::from(inferno);
    match mode.as_str() {
        "fuzz" => {
            let minutes: f64 = flag("--minutes").map_or(1.0, |m| m.parse().expect("--minutes"));
            let out = PathBuf::from(flag("--out").map_or("fuzz/semantic", String::as_str));
            let seed: u64 = flag("--seed").map_or(1, |s| s.parse().expect("--seed"));
            fuzz(
                &base,
                &inferno,
                Duration::from_secs_f64(minutes * 60.0),
                &out,
                seed,
            );
        }
        "replay" => {
            let dir = PathBuf::from(args.get(4).expect(usage));
            if !replay(&base, &inferno, &dir) {
                std::process::exit(1);
            }
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}

fn fuzz(base: &Path, inferno: &Path, budget: Duration, out: &Path, seed: u64) {
    let original = inferno::gguf::read(base).expect("a valid base model");
    let mut rng = fastrand::Rng::with_seed(seed);
    let work = std::env::temp_dir().join(format!("semantic-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(out).unwrap();
    let start = Instant::now();
    let (mut runs, mut findings) = (0u64, 0u64);
    let mut exits = std::collections::BTreeMap::<String, u64>::new();
    while start.elapsed() < budget {
        let recipe: Vec<Mutation> = (0..rng.usize(1..=3))
            .map(|_| mutation(&original, &mut rng))
            .collect();
        let file = work.join("mutant.gguf");
        if build(base, &original, &recipe, &file).is_err() {
            continue; // a mutation the writer cannot express (e.g. a type whose blocks do not fit)
        }
        let outcome = run(inferno, &file);
        runs += 1;
        *exits.entry(outcome.label()).or_default() += 1;
        if outcome.is_finding() {
            findings += 1;
            let name = format!("{}-{runs}.json", outcome.kind());
            std::fs::write(
                out.join(&name),
                serde_json::to_string_pretty(&recipe).unwrap(),
            )
            .unwrap();
            eprintln!(
                "finding {name}: {} {:?}",
                outcome.label(),
                outcome.stderr.lines().last()
            );
        }
        if runs.is_multiple_of(200) {
            eprintln!(
                "{runs} runs, {findings} findings, {:.0} s",
                start.elapsed().as_secs_f64()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    println!(
        "runs: {runs}\nfindings: {findings}\nseconds: {:.0}",
        start.elapsed().as_secs_f64()
    );
    for (label, n) in exits {
        println!("  {label}: {n}");
    }
}

/// Replays every recipe in `dir`; true when none crashes or slips past the checks any more.
fn replay(base: &Path, inferno: &Path, dir: &Path) -> bool {
    let original = inferno::gguf::read(base).expect("a valid base model");
    let work = std::env::temp_dir().join(format!("semantic-replay-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let mut ok = true;
    let mut recipes: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    recipes.sort();
    for path in recipes {
        let recipe: Vec<Mutation> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let file = work.join("replay.gguf");
        build(base, &original, &recipe, &file).expect("a recipe that was built once builds again");
        let outcome = run(inferno, &file);
        let bad = outcome.is_finding();
        ok &= !bad;
        println!(
            "{}: {}{}",
            path.display(),
            outcome.label(),
            if bad { "  <- STILL A FINDING" } else { "" }
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    ok
}

/// One random edit, drawn so that most mutants are nearly valid (the interesting ones).
fn mutation(g: &GgufFile, rng: &mut fastrand::Rng) -> Mutation {
    const KEYS: &[&str] = &[
        "llama.block_count",
        "llama.context_length",
        "llama.embedding_length",
        "llama.feed_forward_length",
        "llama.attention.head_count",
        "llama.attention.head_count_kv",
        "llama.attention.key_length",
        "llama.attention.value_length",
        "llama.rope.dimension_count",
        "llama.expert_count",
        "llama.expert_used_count",
        "llama.expert_group_count",
        "llama.nextn_predict_layers",
        "llama.vocab_size",
        "llama.pooling_type",
        "llama.attention.sliding_window",
        "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.unknown_token_id",
        "tokenizer.ggml.seperator_token_id",
        "tokenizer.ggml.padding_token_id",
    ];
    const FLOATS: &[&str] = &[
        "llama.attention.layer_norm_rms_epsilon",
        "llama.rope.freq_base",
        "llama.rope.scaling.factor",
    ];
    const ARRAYS: &[&str] = &[
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.scores",
        "tokenizer.ggml.token_type",
    ];
    let key = |keys: &[&str], rng: &mut fastrand::Rng| keys[rng.usize(..keys.len())].to_string();
    let n_tokens = g.array_len("tokenizer.ggml.tokens").unwrap_or(1);
    match rng.u32(0..14) {
        0..=2 => {
            let v = [
                0,
                1,
                2,
                3,
                7,
                16,
                62,
                255,
                256,
                511,
                512,
                513,
                1024,
                1025,
                u32::MAX,
                rng.u32(..),
            ];
            Mutation::U32(key(KEYS, rng), v[rng.usize(..v.len())])
        }
        3 => Mutation::I32(key(KEYS, rng), [-1, 0, 2, i32::MIN][rng.usize(..4)]),
        4 => {
            let v = [f32::NAN, f32::INFINITY, -1.0, 0.0, 1e30, -1e-6, 1e-6];
            Mutation::F32(key(FLOATS, rng), v[rng.usize(..v.len())])
        }
        5 => Mutation::Remove(key(if rng.bool() { KEYS } else { FLOATS }, rng)),
        6 => {
            let (k, v) = match rng.u32(0..3) {
                0 => (
                    "tokenizer.ggml.model",
                    [
                        "llama", "bert", "gpt2", "t5", "rwkv", "none", "plamo2", "xyz",
                    ][rng.usize(..8)],
                ),
                1 => (
                    "llama.rope.scaling.type",
                    ["none", "linear", "yarn", "longrope", "cubic", ""][rng.usize(..6)],
                ),
                _ => (
                    "tokenizer.ggml.pre",
                    ["default", "llama3", "qwen2", "kimi-k2", "nope"][rng.usize(..5)],
                ),
            };
            Mutation::Str(k.into(), v.into())
        }
        7 => {
            let names = ["add_bos_token", "add_eos_token", "add_sep_token"];
            Mutation::Bool(
                format!("tokenizer.ggml.{}", names[rng.usize(..3)]),
                rng.bool(),
            )
        }
        8 => {
            let t = &g.tensors[rng.usize(..g.tensors.len())];
            Mutation::TensorType(t.name.clone(), GGML_TYPES[rng.usize(..GGML_TYPES.len())].0)
        }
        9 => {
            let i = rng.usize(..n_tokens);
            let text = match rng.u32(0..4) {
                0 => String::new(),
                1 => format!("dup-{}", rng.usize(..2)),
                2 => "<0x0A>".into(),
                _ => format!("<0x{:02X}>", rng.u8(..)),
            };
            Mutation::TokenText(i, text)
        }
        10 => Mutation::TokenType(
            rng.usize(..n_tokens),
            [0, 1, 2, 3, 6, 7, -1][rng.usize(..7)],
        ),
        11 => Mutation::Truncate(key(ARRAYS, rng), rng.usize(0..n_tokens)),
        12 => Mutation::U32Array(
            [
                "llama.attention.head_count",
                "llama.attention.head_count_kv",
                "llama.feed_forward_length",
            ][rng.usize(..3)]
            .into(),
            (0..rng.usize(1..4))
                .map(|_| [0, 1, 2, 4, 8][rng.usize(..5)])
                .collect(),
        ),
        _ => {
            let n = rng.usize(4..64);
            let mut b: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            b[..4].copy_from_slice(&(rng.u32(0..(n as u32 + 8))).to_le_bytes());
            Mutation::Bytes("tokenizer.ggml.precompiled_charsmap".into(), b)
        }
    }
}

fn set(g: &mut GgufFile, key: &str, v: Value) {
    match g.metadata.iter_mut().find(|(k, _)| k == key) {
        Some((_, old)) => *old = v,
        None => g.metadata.push((key.to_string(), v)),
    }
}

fn apply(g: &mut GgufFile, m: &Mutation) {
    match m {
        Mutation::U32(k, v) => set(g, k, Value::U32(*v)),
        Mutation::I32(k, v) => set(g, k, Value::I32(*v)),
        Mutation::F32(k, v) => set(g, k, Value::F32(*v)),
        Mutation::Str(k, v) => set(g, k, Value::String(v.clone())),
        Mutation::Bool(k, v) => set(g, k, Value::Bool(*v)),
        Mutation::U32Array(k, v) => set(g, k, Value::Array(Array::U32(v.clone()))),
        Mutation::Bytes(k, v) => set(g, k, Value::Array(Array::U8(v.clone()))),
        Mutation::Remove(k) => g.metadata.retain(|(key, _)| key != k),
        Mutation::TensorType(name, ty) => {
            if let Some(t) = g.tensors.iter_mut().find(|t| t.name == *name) {
                t.ggml_type = *ty;
            }
        }
        Mutation::TokenText(i, text) => {
            if let Some((_, Value::Array(Array::String(t)))) = g
                .metadata
                .iter_mut()
                .find(|(k, _)| k == "tokenizer.ggml.tokens")
                && let Some(slot) = t.get_mut(*i)
            {
                *slot = text.clone();
            }
        }
        Mutation::TokenType(i, ty) => {
            if let Some((_, Value::Array(Array::I32(t)))) = g
                .metadata
                .iter_mut()
                .find(|(k, _)| k == "tokenizer.ggml.token_type")
                && let Some(slot) = t.get_mut(*i)
            {
                *slot = *ty;
            }
        }
        Mutation::Truncate(k, n) => {
            if let Some((_, Value::Array(a))) = g.metadata.iter_mut().find(|(key, _)| key == k) {
                match a {
                    Array::String(v) => v.truncate(*n),
                    Array::F32(v) => v.truncate(*n),
                    Array::I32(v) => v.truncate(*n),
                    _ => {}
                }
            }
        }
    }
}

/// Write the base model with `recipe` applied; tensor data is copied, or filled for a tensor
/// whose type changed.
fn build(base: &Path, original: &GgufFile, recipe: &[Mutation], out: &Path) -> std::io::Result<()> {
    let mut g = original.clone();
    recipe.iter().for_each(|m| apply(&mut g, m));
    let mut f = std::io::BufWriter::new(std::fs::File::create(out)?);
    write(&mut f, &g, |i, t| {
        let size =
            tensor_size(t).ok_or_else(|| std::io::Error::other("bad type for shape"))? as usize;
        let o = &original.tensors[i];
        if o.ggml_type == t.ggml_type {
            read_tensor(base, original, o)
        } else {
            Ok((0..size).map(|k| (k % 251) as u8).collect())
        }
    })
}

struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    timed_out: bool,
    stderr: String,
}

impl Outcome {
    /// A crash (signal, hang) or a slip (llama.cpp itself had to stop the file).
    fn is_finding(&self) -> bool {
        self.kind() != "ok"
    }

    fn kind(&self) -> &'static str {
        if self.timed_out {
            "hang"
        } else if self.signal.is_some() {
            "crash"
        } else if self.code == Some(9)
            || self.stderr.contains("llama.cpp rejected this model")
            || self.stderr.contains("llama.cpp aborted")
        {
            "slip"
        } else {
            "ok"
        }
    }

    fn label(&self) -> String {
        match (self.timed_out, self.signal, self.code) {
            (true, _, _) => "timeout".into(),
            (_, Some(s), _) => format!("signal {s}"),
            (_, _, Some(c)) => format!("exit {c}"),
            _ => "unknown".into(),
        }
    }
}

/// `inferno run` on the mutant, with a timeout; stdout is discarded, stderr kept.
fn run(inferno: &Path, model: &Path) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    let mut child = Command::new(inferno)
        .args(["run", "-m"])
        .arg(model)
        .args([
            "-c",
            "256",
            "-t",
            "1",
            "--temp",
            "0",
            "-n",
            "3",
            "-p",
            "Hello\nwörld 1+1=2 <s>",
        ])
        .env_remove("INFERNO_SKIP_MODEL_CHECKS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("inferno starts");
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let (status, timed_out) = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break (s, false);
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            break (child.wait().unwrap(), true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Outcome {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stderr: reader.join().unwrap(),
    }
}
