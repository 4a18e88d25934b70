//! The batch engine from the command line: `run --batch` (many prompts, results in input
//! order), `bench --parallel` (llama-batched-bench's method), and greedy answers batched versus
//! alone (examples/batch_parity.rs).

mod common;

use common::*;

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// Lines of text and JSON, a bad line and one too long for a slot: results in input order,
/// errors in their own line, greedy text equal to `inferno run`'s.
#[test]
fn run_batch_jsonl_in_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("prompts.txt");
    let long = "word ".repeat(1500);
    std::fs::write(
        &input,
        format!(
            "The capital of France is\n\n{}\n{{\"messages\":[{{\"role\":\"user\",\"content\":\"Say hi\"}}],\"max_tokens\":5,\"seed\":7}}\n{{\"prompt\":\"x\",\"bogus\":1}}\n{long}\nOnce upon a time\n",
            r#"{"prompt": "Count from 1 to 100, comma separated.", "max_tokens": 12}"#
        ),
    )
    .unwrap();
    let out = run_on(QWEN)
        .args([
            "--temp",
            "0",
            "-t",
            "2",
            "-n",
            "16",
            "-c",
            "1024",
            "--parallel",
            "2",
        ])
        .args(["--batch", input.to_str().unwrap()])
        .run()
        .ok();
    let lines: Vec<serde_json::Value> = out.lines().map(json).collect();
    let index: Vec<u64> = lines.iter().map(|l| l["index"].as_u64().unwrap()).collect();
    assert_eq!(
        index,
        [1, 3, 4, 5, 6, 7],
        "blank lines skipped, order kept: {out}"
    );
    assert_eq!(lines[1]["gen_tokens"], 12);
    assert_eq!(lines[1]["stop_reason"], "max_tokens");
    assert!(
        lines[2]["gen_tokens"].as_u64().unwrap() <= 5,
        "{}",
        lines[2]
    );
    assert_eq!(lines[2]["seed"], 7);
    assert!(
        lines[3]["error"].as_str().unwrap().contains("bogus"),
        "{}",
        lines[3]
    );
    assert!(
        lines[4]["error"]
            .as_str()
            .unwrap()
            .contains("a slot holds 1024"),
        "{}",
        lines[4]
    );
    for l in [&lines[0], &lines[5]] {
        assert!(
            l["text"].as_str().unwrap().len() > 4 && l["gen_tps"].as_f64().unwrap() > 0.0,
            "{l}"
        );
    }
    let alone = run_on(QWEN)
        .args([
            "--temp",
            "0",
            "-t",
            "2",
            "-n",
            "16",
            "-c",
            "1024",
            "-p",
            "The capital of France is",
        ])
        .run()
        .ok();
    assert_eq!(lines[0]["text"].as_str().unwrap().to_string() + "\n", alone);
}

/// From stdin, with `-`; a bad --parallel is a usage error.
#[test]
fn run_batch_from_stdin_and_errors() {
    let out = run_on(QWEN)
        .args(["--temp", "0", "-t", "2", "-n", "4", "--batch", "-"])
        .run_stdin(b"one\ntwo\n");
    let text = out.ok();
    assert_eq!(text.lines().count(), 2, "{text}");
    run_on(QWEN)
        .args(["--batch", "-", "--parallel", "0"])
        .run_stdin(b"x\n")
        .fails(2, "--parallel");
    run_on(QWEN)
        .args(["--batch", "/nonexistent/prompts.txt"])
        .run()
        .fails(6, "/nonexistent/prompts.txt");
}

/// llama-batched-bench's table and fields; every combination runs.
#[test]
fn bench_parallel_like_llama_batched_bench() {
    let out = Inferno::new()
        .args([
            "bench",
            "-m",
            model(QWEN).to_str().unwrap(),
            "-t",
            "2",
            "-r",
            "1",
        ])
        .args(["--parallel", "1,2", "-p", "16", "-n", "4", "-o", "jsonl"])
        .run()
        .ok();
    let rows: Vec<serde_json::Value> = out.lines().map(json).collect();
    let shape: Vec<(u64, u64, u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["pp"].as_u64().unwrap(),
                r["tg"].as_u64().unwrap(),
                r["pl"].as_u64().unwrap(),
                r["n_kv"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(shape, [(16, 4, 1, 20), (16, 4, 2, 40)]);
    for r in &rows {
        let (t_pp, s_pp) = (r["t_pp"].as_f64().unwrap(), r["speed_pp"].as_f64().unwrap());
        let pl = r["pl"].as_f64().unwrap();
        assert!((s_pp - pl * 16.0 / t_pp).abs() / s_pp < 1e-6, "{r}");
        assert!(r["speed_tg"].as_f64().unwrap() > 0.0);
    }
    let md = Inferno::new()
        .args([
            "bench",
            "-m",
            model(QWEN).to_str().unwrap(),
            "-t",
            "2",
            "-r",
            "1",
        ])
        .args(["--parallel", "2", "-p", "8", "-n", "2"])
        .run()
        .ok();
    assert!(md.starts_with("|    PP |     TG |    B |   N_KV |"), "{md}");
    Inferno::new()
        .args([
            "bench",
            "-m",
            model(QWEN).to_str().unwrap(),
            "--parallel",
            "2",
            "-t",
            "1,2",
        ])
        .run()
        .fails(2, "-t/--threads takes one value");
}

/// Greedy answers batched (8 at once) equal their answers alone, or part where the two best
/// logits were within a near-tie (batched arithmetic rounds differently): never a real gap.
#[test]
fn batched_greedy_equals_alone_or_parts_at_a_near_tie() {
    let _one = exclusive();
    let tool = bin().parent().unwrap().join("examples/batch_parity");
    let out = std::process::Command::new(tool)
        .args([model(QWEN).to_str().unwrap(), "2", "48"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    for row in text.lines().filter(|l| l.contains("| no |")) {
        // "... (0.072) |": the gap between the best two logits on each side.
        for gap in row.split('(').skip(1).map(|g| g.split(')').next().unwrap()) {
            let g: f64 = gap.parse().unwrap();
            assert!(g < 0.25, "not a near-tie ({g}): {row}");
        }
    }
    assert!(text.contains(" of 8 identical"), "{text}");
}
