//! The hardening matrix: malformed and hostile inputs, signals at every stage, concurrency.
//! Each case must end with its documented exit code and a one-line message; never a crash,
//! a panic or a hang. (The GGUF validator's byte-level cases are unit tests in src/gguf.rs;
//! its fuzzing harness is in fuzz/.)

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn real(name: &str) -> Vec<u8> {
    std::fs::read(model(name)).unwrap()
}

/// Where the tensor data of a GGUF starts, from `inferno info --json`.
fn data_offset(name: &str) -> usize {
    let out = Inferno::new()
        .args(["info", "--json", "-m", model(name).to_str().unwrap()])
        .run()
        .ok();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["model"]["data_offset"].as_u64().unwrap() as usize
}

/// `run` and `info` both reject the file with exit 4 and a message containing `needle`.
fn rejected(bytes: &[u8], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.gguf");
    std::fs::write(&p, bytes).unwrap();
    let started = Instant::now();
    Inferno::new()
        .args(["run", "-m", p.to_str().unwrap(), "-p", "hi"])
        .run()
        .fails(4, needle);
    Inferno::new()
        .args(["info", "-m", p.to_str().unwrap()])
        .run()
        .fails(4, needle);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "rejected quickly"
    );
}

#[test]
fn random_bytes_are_not_gguf() {
    let mut rng = 0x2545f4914f6cdd1du64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as u8
        })
        .collect();
    rejected(&bytes, "not a GGUF file");
}

#[test]
fn truncated_at_every_structural_boundary() {
    let full = real(GEMMA);
    let data = data_offset(GEMMA);
    // Inside the header, the metadata, the tensor table, the data, and one byte short.
    for (cut, needle) in [
        (3, "not a GGUF file"),
        (12, "damaged"),
        (20, "damaged"),
        (4000, "damaged"),
        (data - 200, "damaged"),
        (data + 1000, "tensor data needs"),
        (full.len() - 1, "tensor data needs"),
    ] {
        rejected(&full[..cut], needle);
    }
}

#[test]
fn absurd_counts_and_lengths() {
    let mut bytes = real(QWEN)[..1 << 16].to_vec();
    // Tensor count (bytes 8..16) of 2^60.
    bytes[8..16].copy_from_slice(&(1u64 << 60).to_le_bytes());
    rejected(&bytes, "tensor count is 1152921504606846976");
    // The first key's length (bytes 24..32) of 2^40.
    let mut bytes = real(QWEN)[..1 << 16].to_vec();
    bytes[24..32].copy_from_slice(&(1u64 << 40).to_le_bytes());
    rejected(&bytes, "claims 1099511627776 bytes");
}

#[test]
fn unknown_architecture_is_refused_by_llama_cpp_with_exit_5() {
    let mut bytes = real(GEMMA);
    // Same length, so the file stays structurally valid.
    let at = bytes.windows(6).position(|w| w == b"gemma3").unwrap();
    bytes[at..at + 6].copy_from_slice(b"gemmaX");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("m.gguf");
    std::fs::write(&p, &bytes).unwrap();
    Inferno::new()
        .args(["run", "-m", p.to_str().unwrap(), "-p", "hi"])
        .run()
        .fails(5, "unknown model architecture: 'gemmaX'");
}

#[test]
fn unreadable_model_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("locked.gguf");
    std::fs::write(&p, &real(GEMMA)[..1024]).unwrap();
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // Root reads any file, so as root the check runs as the unprivileged user nobody.
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let mut inf = Inferno::new();
    if root {
        inf.cmd = Command::new("setpriv");
        inf.cmd
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin())
            .current_dir("/")
            .env("HOME", "/nonexistent")
            .stdin(Stdio::null());
    }
    inf.args(["run", "-m", p.to_str().unwrap(), "-p", "hi"])
        .run()
        .fails(4, "Permission denied");
}

#[test]
fn config_file_that_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    Inferno::new()
        .args(["--config", dir.path().to_str().unwrap(), "run", "-p", "x"])
        .run()
        .fails(3, "cannot read config file");
}

#[test]
fn context_beyond_training_warns_and_beyond_memory_refuses() {
    let r = greedy(GEMMA, "Hi", 2).args(["-c", "40000"]).run();
    r.ok();
    assert!(
        r.stderr().contains("larger than the 32768 tokens"),
        "{}",
        r.stderr()
    );
    // 16M tokens of KV cache cannot fit: refused with the estimate, before allocating.
    let started = Instant::now();
    let r = greedy(QWEN, "Hi", 2).args(["-c", "16000000"]).run();
    assert_eq!(r.code(), 7, "{}", r.stderr());
    assert!(
        r.stderr().contains("needs about") && r.stderr().contains("lower -c/--context-size"),
        "{}",
        r.stderr()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Asking for GPU layers on a machine without a GPU leaves the weights and the cache on
    // the CPU: the same check applies (this once went past it and was killed for memory).
    let info = Inferno::new().args(["info", "--json"]).run().ok();
    if !info.contains("\"type\": \"gpu\"") {
        let started = Instant::now();
        let r = greedy(QWEN, "Hi", 2)
            .args(["--gpu-layers", "1", "-c", "2000000000"])
            .run();
        assert_eq!(r.code(), 7, "{}", r.stderr());
        assert!(r.stderr().contains("needs about"), "{}", r.stderr());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

#[test]
fn megabyte_of_stdin_is_refused_for_the_context_not_crashed() {
    let prompt = "All work and no play makes Jack a dull boy. ".repeat(24_000);
    assert!(prompt.len() > 1_000_000);
    let started = Instant::now();
    let r = Inferno::new()
        .args(["run", "-m", model(GEMMA).to_str().unwrap()])
        .run_stdin(prompt.as_bytes());
    r.fails(6, "tokens but the context holds 2048");
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn sigint_during_load_exits_130_promptly() {
    let m = model(QWEN);
    let r = Inferno::new()
        .args(["run", "-m", m.to_str().unwrap(), "-p", "hi"])
        .signal_after(0, Duration::from_millis(60), "-INT");
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(r.took < Duration::from_secs(3), "{:?}", r.took);
}

/// About 6000 tokens in 32-token batches: evaluation takes far longer than the waits below.
fn long_prompt_eval() -> Inferno {
    let prompt = "The quick brown fox jumps over the lazy dog. ".repeat(600);
    let m = model(QWEN);
    Inferno::new().args([
        "run",
        "-m",
        m.to_str().unwrap(),
        "--raw",
        "-c",
        "8192",
        "-b",
        "32",
        "-n",
        "4",
        "-p",
        &prompt,
    ])
}

#[test]
fn sigint_during_prompt_evaluation_exits_130_promptly() {
    let r = long_prompt_eval().signal_after(0, Duration::from_secs(3), "-INT");
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "nothing was generated yet");
    assert!(
        r.took < Duration::from_secs(3),
        "stops within a batch: {:?}",
        r.took
    );
}

#[test]
fn sigterm_during_prompt_evaluation_exits_143() {
    let r = long_prompt_eval().signal_after(0, Duration::from_secs(2), "-TERM");
    assert_eq!(r.code, Some(143), "{}", r.stderr);
}

#[test]
fn two_processes_on_one_model_at_once() {
    let _one = exclusive();
    let spawn = || {
        let mut inf = run_on(GEMMA).args([
            "--temp",
            "0",
            "-t",
            "1",
            "-n",
            "24",
            "-p",
            "The capital of France is",
        ]);
        let child = inf.spawn();
        (inf, child)
    };
    let (_a, ca) = spawn();
    let (_b, cb) = spawn();
    let (oa, ob) = (
        ca.wait_with_output().unwrap(),
        cb.wait_with_output().unwrap(),
    );
    assert!(
        oa.status.success() && ob.status.success(),
        "{}",
        String::from_utf8_lossy(&ob.stderr)
    );
    assert_eq!(oa.stdout, ob.stdout);
    assert!(
        String::from_utf8_lossy(&oa.stdout).starts_with(" the capital of the country of France")
    );
}
