//! `inferno run` end to end: the real binary on the real test models.

mod common;

use std::io::Read;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// The golden text for the instruction set the binary's llama.cpp runs with. Fixtures were
/// produced by llama.cpp's own llama-completion (greedy, 2 threads) from the same vendored
/// sources, with tests/fixtures/make_golden.sh. Greedy text can differ between AVX2 and
/// AVX-512 builds (Qwen's does), so each has one fixture per instruction set; which one
/// applies is what the binary reports (`info --json`: the CPU backend's features), not what
/// the CPU could do: a portable build or a plugin variant may not use AVX-512 on a CPU that
/// has it.
fn golden(name: &str) -> String {
    static ISA: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    let isa = ISA.get_or_init(|| {
        let info = json(&Inferno::new().args(["info", "--json"]).run().ok());
        let cpu = info["build"]["backend_features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["backend"] == "CPU")
            .expect("a CPU backend");
        let has = |f: &str| cpu["features"].as_array().unwrap().iter().any(|x| x == f);
        if has("AVX512") { "avx512" } else { "avx2" }
    });
    let path = root().join(format!("tests/fixtures/{name}.{isa}.txt"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[test]
fn greedy_gemma_matches_llama_cpp() {
    let out = greedy(GEMMA, "The capital of France is", 64).run().ok();
    assert!(
        out.starts_with(" the capital of the country of France. It is the largest city in France.")
    );
    assert_eq!(out, golden("gemma_france") + "\n");
}

#[test]
fn greedy_qwen_raw_matches_llama_cpp() {
    let out = greedy(QWEN, "The capital of France is", 64).run().ok();
    assert_eq!(out, golden("qwen_france") + "\n");
}

/// A model's `tokenizer.ggml.suppress_tokens` are never sampled, as llama.cpp's default
/// sampler masks them: suppressing the first token of Gemma's greedy answer changes it.
#[test]
fn suppressed_tokens_are_never_sampled() {
    use inferno::gguf::{Array, Value};
    let dir = tempfile::tempdir().unwrap();
    let src = model(GEMMA);
    let header = inferno::gguf::read(&src).unwrap();
    let the = edit::token_id(&header, "▁the") as i32;
    let m = edit::edited(&src, dir.path(), "suppressed.gguf", |g| {
        edit::set(
            g,
            "tokenizer.ggml.suppress_tokens",
            Value::Array(Array::I32(vec![the, 1 << 30])),
        );
    });
    let out = Inferno::new()
        .args([
            "run",
            "-m",
            m.to_str().unwrap(),
            "--raw",
            "--temp",
            "0",
            "-t",
            "2",
        ])
        .args(["-n", "16", "-p", "The capital of France is"])
        .run()
        .ok();
    let plain = golden("gemma_france");
    assert!(plain.starts_with(" the capital"));
    assert!(!out.starts_with(" the"), "{out:?}");
    assert!(!out.contains(" the "), "never sampled: {out:?}");
}

/// Emoji are split across several byte tokens by both tokenizers; the streamed text must
/// still be exactly llama.cpp's.
#[test]
fn emoji_split_across_tokens_arrive_intact() {
    for (model_name, fixture) in [(GEMMA, "gemma_emoji"), (QWEN, "qwen_emoji")] {
        let out = greedy(model_name, "Fruit emojis: 🍎 🍌 🍇", 24).run().ok();
        assert!(
            !out.contains('\u{FFFD}'),
            "{model_name}: replacement character in {out:?}"
        );
        assert!(
            out.chars().any(|c| c.len_utf8() == 4),
            "{model_name}: no emoji in {out:?}"
        );
        assert_eq!(out, golden(fixture) + "\n", "{model_name}");
    }
}

#[test]
fn stdin_file_and_flag_give_the_same_text() {
    let prompt = "The capital of France is";
    let base = || run_on(GEMMA).args(["--temp", "0", "-t", "2", "-n", "12"]);
    let from_flag = base().args(["-p", prompt]).run().ok();
    // One trailing newline is removed from stdin, as `echo` adds one.
    let from_stdin = base().run_stdin(format!("{prompt}\n").as_bytes()).ok();
    let from_dash = base().args(["-p", "-"]).run_stdin(prompt.as_bytes()).ok();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.txt");
    std::fs::write(&file, format!("{prompt}\n")).unwrap();
    let from_file = base().args(["-f", file.to_str().unwrap()]).run().ok();
    assert!(from_flag.len() > 20);
    assert_eq!(from_stdin, from_flag);
    assert_eq!(from_dash, from_flag);
    assert_eq!(from_file, from_flag);
}

#[test]
fn seed_makes_sampling_reproducible() {
    let sample = |seed: &str| {
        run_on(QWEN)
            .args(["--raw", "-n", "32", "--temp", "1.0"])
            .args(["--seed", seed, "-p", "Once upon a time"])
            .run()
            .ok()
    };
    let a = sample("42");
    assert_eq!(a, sample("42"));
    assert_ne!(
        a,
        sample("43"),
        "a different seed should give a different text"
    );
}

/// Seeds at the edges of the range reproduce their text, and the JSON reports the seed used;
/// llama.cpp's "random seed" marker (2^32 - 1) is refused instead of silently meaning "random".
#[test]
fn seeds_at_the_edges_are_reproducible_and_the_marker_is_refused() {
    for seed in ["0", "1", "2147483648", "4294967294"] {
        let sample = || {
            json(
                &run_on(QWEN)
                    .args(["--raw", "-n", "12", "--temp", "1.0", "--json"])
                    .args(["--seed", seed, "-p", "Once upon a time"])
                    .run()
                    .ok(),
            )
        };
        let (a, b) = (sample(), sample());
        assert_eq!(a["text"], b["text"], "seed {seed}");
        assert_eq!(a["seed"].to_string(), seed);
    }
    run_on(QWEN)
        .args(["--seed", "4294967295", "-p", "hi"])
        .run()
        .fails(
            2,
            "invalid -s/--seed (config key sampling.seed): 4294967295 is llama.cpp's",
        );
    // Without --seed, the reported random seed reproduces the text.
    let first = json(
        &run_on(QWEN)
            .args([
                "--raw",
                "-n",
                "12",
                "--temp",
                "1.0",
                "--json",
                "-p",
                "Once upon a time",
            ])
            .run()
            .ok(),
    );
    let seed = first["seed"].to_string();
    assert_ne!(seed, "4294967295");
    let again = json(
        &run_on(QWEN)
            .args([
                "--raw", "-n", "12", "--temp", "1.0", "--json", "--seed", &seed,
            ])
            .args(["-p", "Once upon a time"])
            .run()
            .ok(),
    );
    assert_eq!(first["text"], again["text"]);
}

#[test]
fn max_tokens_is_exact_and_json_counts_match_the_text() {
    for n in [1, 7, 33] {
        let streamed = greedy(GEMMA, "The capital of France is", n).run().ok();
        let j = json(
            &greedy(GEMMA, "The capital of France is", n)
                .args(["--json"])
                .run()
                .ok(),
        );
        assert_eq!(j["gen_tokens"], n, "{j}");
        assert_eq!(j["stop_reason"], "max_tokens");
        assert_eq!(
            j["text"].as_str().unwrap().to_string() + "\n",
            streamed,
            "JSON text = streamed text"
        );
        // BOS + 5 tokens, as llama-completion reports for this prompt.
        assert_eq!(j["prompt_tokens"], 6);
    }
    let golden = golden("gemma_france");
    let j = json(
        &greedy(GEMMA, "The capital of France is", 64)
            .args(["--json"])
            .run()
            .ok(),
    );
    assert_eq!(j["text"], golden.as_str());
}

#[test]
fn json_schema_fields_are_measured() {
    let j = json(
        &greedy(QWEN, "The capital of France is", 8)
            .args(["--json"])
            .run()
            .ok(),
    );
    for key in [
        "load_ms",
        "prompt_ms",
        "prompt_tps",
        "ttft_ms",
        "gen_ms",
        "gen_tps",
    ] {
        assert!(j[key].as_f64().is_some_and(|v| v > 0.0), "{key} in {j}");
    }
    assert_eq!(j["prompt_tokens"], 5);
    assert_eq!(j["gen_tokens"], 8);
    assert_eq!(j["mode"], "raw");
    assert_eq!(j["threads"], 2);
    assert_eq!(j["context_size"], 2048);
    assert_eq!(j["n_layers"], 25, "24 blocks + output, as llama.cpp counts");
    assert_eq!(j["gpu_layers_offloaded"], 0);
    assert!(j["seed"].as_u64().is_some());
    let ttft = j["ttft_ms"].as_f64().unwrap();
    let prompt_ms = j["prompt_ms"].as_f64().unwrap();
    assert!(ttft >= prompt_ms, "first token comes after the prompt: {j}");
    let kinds: Vec<&str> = j["memory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    for k in ["model", "kv", "compute"] {
        assert!(kinds.contains(&k), "{k} buffer in {j}");
    }
}

#[test]
fn prompt_longer_than_a_batch_works() {
    let prompt =
        "The quick brown fox jumps over the lazy dog. ".repeat(15) + "The capital of France is";
    let run = |batch: &str| {
        json(
            &greedy(GEMMA, &prompt, 16)
                .args(["-b", batch, "--json"])
                .run()
                .ok(),
        )
    };
    let small = run("16");
    let large = run("512");
    assert_eq!(small["prompt_tokens"], 156, "{small}");
    assert_eq!(
        small["text"], large["text"],
        "batching must not change the text"
    );
}

#[test]
fn prompt_that_does_not_fit_the_context_is_an_error() {
    let prompt = "word ".repeat(300);
    greedy(GEMMA, &prompt, 4)
        .args(["-c", "128"])
        .run()
        // llama.cpp rounds the context up to a multiple of 256; the message gives the real size.
        .fails(6, "tokens but the context holds 256")
        .fails(6, "--context-size");
}

#[test]
fn context_full_stops_generation_and_says_so() {
    let r = greedy(GEMMA, "The capital of France is", 500)
        .args(["-c", "32", "--json"])
        .run();
    let j = json(&r.ok());
    assert_eq!(j["stop_reason"], "context_full");
    // The last token is printed but there is no room left to evaluate it.
    let n_ctx = j["context_size"].as_u64().unwrap();
    assert!((32..500).contains(&n_ctx), "{j}");
    assert_eq!(
        j["gen_tokens"].as_u64().unwrap() + j["prompt_tokens"].as_u64().unwrap(),
        n_ctx + 1
    );
    assert!(r.stderr().contains("context is full"), "{}", r.stderr());
}

#[test]
fn stop_sequence_across_token_boundaries() {
    // " France" "." " It" are separate tokens; the stop sequence spans all three.
    let golden = golden("gemma_france");
    let r = greedy(GEMMA, "The capital of France is", 64)
        .args(["--stop", "ce. I", "--json"])
        .run();
    let j = json(&r.ok());
    assert_eq!(j["stop_reason"], "stop_sequence");
    let want = &golden[..golden.find("ce. I").unwrap()];
    assert_eq!(j["text"], want);
    let streamed = greedy(GEMMA, "The capital of France is", 64)
        .args(["--stop", "ce. I"])
        .run()
        .ok();
    assert_eq!(streamed, format!("{want}\n"));
    // A stop sequence that never appears changes nothing.
    let none = greedy(GEMMA, "The capital of France is", 64)
        .args(["--stop", "zebra"])
        .run()
        .ok();
    assert_eq!(none, golden + "\n");
}

#[test]
fn qwen_answers_in_chat_mode_and_raw_differs() {
    let base = || run_on(QWEN).args(["--temp", "0", "-t", "2", "-n", "64", "--json"]);
    let chat = json(
        &base()
            .args(["-p", "What is the capital of France? Answer in one word."])
            .run()
            .ok(),
    );
    assert_eq!(chat["mode"], "chat");
    assert_eq!(chat["template"], "chatml");
    assert_eq!(
        chat["stop_reason"], "eog",
        "an instruct model ends its answer: {chat}"
    );
    assert!(chat["text"].as_str().unwrap().contains("Paris"), "{chat}");
    let raw = json(
        &base()
            .args([
                "--raw",
                "-p",
                "What is the capital of France? Answer in one word.",
            ])
            .run()
            .ok(),
    );
    assert_eq!(raw["mode"], "raw");
    assert_ne!(raw["text"], chat["text"]);
    // The system message reaches the model.
    let pirate = json(
        &base()
            .args([
                "--system",
                "You always answer in French.",
                "-p",
                "Say hello.",
            ])
            .run()
            .ok(),
    );
    assert_ne!(
        pirate["text"],
        json(&base().args(["-p", "Say hello."]).run().ok())["text"]
    );
}

#[test]
fn special_tokens_never_reach_stdout() {
    for args in [
        vec!["-p", "Write one short sentence about cats."],
        vec![
            "--raw",
            "-p",
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        ],
    ] {
        let out = run_on(QWEN)
            .args(["--temp", "0", "-n", "200"])
            .args(&args)
            .run()
            .ok();
        for special in ["<|im_end|>", "<|im_start|>", "<|endoftext|>"] {
            assert!(!out.contains(special), "{special} leaked: {out:?}");
        }
        assert!(!out.trim().is_empty());
    }
}

#[test]
fn gemma_has_no_template_and_runs_raw() {
    let r = Inferno::new()
        .args([
            "-v",
            "run",
            "-m",
            model(GEMMA).to_str().unwrap(),
            "--temp",
            "0",
            "-n",
            "4",
            "-p",
            "Hello",
            "--json",
        ])
        .run();
    let j = json(&r.ok());
    assert_eq!(j["mode"], "raw");
    assert!(
        r.stderr().contains("the model has no chat template"),
        "{}",
        r.stderr()
    );
}

#[test]
fn closed_stdout_ends_quietly_with_success() {
    let _one = exclusive();
    let m = model(GEMMA);
    let mut inf = Inferno::new().args([
        "run",
        "-m",
        m.to_str().unwrap(),
        "--temp",
        "0",
        "-n",
        "400",
        "-p",
        "The capital of France is",
    ]);
    let mut child = inf.spawn();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 20];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout); // like `| head -c 20`
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {err}");
    assert!(err.is_empty(), "stderr must be empty: {err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stops soon after the pipe closes"
    );
}

#[test]
fn head_in_a_shell_pipeline_exits_zero() {
    let _one = exclusive();
    let script = format!(
        "set -o pipefail; '{}' run -m '{}' --temp 0 -n 300 -p 'The capital of France is' | head -c 20",
        bin().display(),
        model(GEMMA).display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 20);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sigint_mid_generation_flushes_and_exits_130() {
    let m = model(QWEN);
    let r = Inferno::new()
        .args([
            "run",
            "-m",
            m.to_str().unwrap(),
            "--raw",
            "--temp",
            "0",
            "-n",
            "2000",
        ])
        .args(["-p", "Write a very long story about a dragon."])
        .signal_after(16, Duration::ZERO, "-INT");
    assert_eq!(r.code, Some(130), "stderr: {}", r.stderr);
    assert!(
        r.stdout.ends_with(b"\n"),
        "partial text flushed and terminated"
    );
    assert!(r.stdout.len() < 2000 * 3, "generation stopped early");
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn sigterm_mid_generation_exits_143() {
    let m = model(GEMMA);
    let r = Inferno::new()
        .args([
            "run",
            "-m",
            m.to_str().unwrap(),
            "--temp",
            "0",
            "-n",
            "2000",
            "-p",
            "Once upon a time",
        ])
        .signal_after(8, Duration::ZERO, "-TERM");
    assert_eq!(r.code, Some(143), "stderr: {}", r.stderr);
}

#[test]
fn asking_for_a_gpu_without_one_is_said_not_silent() {
    let r = greedy(GEMMA, "Hi", 2)
        .env("INFERNO_GPU_ENABLED", "true")
        .run();
    r.ok();
    assert!(
        r.stderr().contains("GPU offload was requested but no GPU"),
        "{}",
        r.stderr()
    );
    // Not asked for: nothing said.
    let quiet = greedy(GEMMA, "Hi", 2).run();
    quiet.ok();
    assert!(quiet.stderr().is_empty(), "{}", quiet.stderr());
}
