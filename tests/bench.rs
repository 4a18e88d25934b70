//! `inferno bench` on a real model: formats, test matrix, errors. Small tests keep it quick;
//! the speed comparison with llama-bench lives in benches/parity.sh, not here.

mod common;

use common::*;

fn bench(args: &[&str]) -> Run {
    Inferno::new()
        .args([
            "bench",
            "-m",
            model(QWEN).to_str().unwrap(),
            "-t",
            "2",
            "-r",
            "2",
        ])
        .args(args)
        .run()
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[test]
fn markdown_table_like_llama_bench() {
    let r = bench(&["-p", "64", "-n", "16"]);
    let out = r.ok();
    assert!(
        r.stderr().is_empty(),
        "nothing on stderr without a terminal or -v: {}",
        r.stderr()
    );
    let lines: Vec<&str> = out.lines().collect();
    let header: Vec<&str> = lines[0].split('|').map(str::trim).collect();
    assert_eq!(
        header,
        [
            "", "model", "size", "params", "backend", "threads", "test", "t/s", ""
        ],
        "llama-bench's columns for a CPU run with default batch sizes: {out}"
    );
    let rows: Vec<&&str> = lines.iter().filter(|l| l.contains("qwen2")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0].contains("pp64") && rows[0].contains(" ± "), "{out}");
    assert!(rows[1].contains("tg16"), "{out}");
    assert!(
        out.contains("ttft ms") && out.contains("peak RSS MiB"),
        "{out}"
    );
}

#[test]
fn json_results_with_samples_and_build_info() {
    let j = json(&bench(&["-p", "32", "-n", "8", "--pg", "32,4", "-o", "json"]).ok());
    let results = j["results"].as_array().unwrap();
    let tests: Vec<&str> = results
        .iter()
        .map(|r| r["test"].as_str().unwrap())
        .collect();
    assert_eq!(tests, ["pp32", "tg8", "pp32+tg4"]);
    for r in results {
        assert_eq!(r["samples_ns"].as_array().unwrap().len(), 2);
        assert_eq!(r["samples_ts"].as_array().unwrap().len(), 2);
        assert!(r["avg_ts"].as_f64().unwrap() > 0.0);
        assert_eq!(r["n_threads"], 2);
        assert_eq!(
            r["model_n_params"], 630_167_424u64,
            "llama.cpp's parameter count"
        );
        let kinds: Vec<&str> = r["memory"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["kind"].as_str().unwrap())
            .collect();
        assert!(
            kinds.contains(&"model") && kinds.contains(&"kv") && kinds.contains(&"compute"),
            "{r}"
        );
        assert!(r["peak_rss_bytes"].as_u64().unwrap() > 100 << 20);
    }
    // Time to first token only for the test with a prompt and generation.
    assert!(results[0]["ttft_ms"].is_null());
    let pg = &results[2];
    let ttft = pg["ttft_ms"].as_f64().unwrap();
    assert!(
        ttft > 0.0 && ttft * 1e6 < pg["avg_ns"].as_f64().unwrap(),
        "{pg}"
    );
    // tg: the seed project's generation summary.
    let tg = &results[1];
    assert_eq!(tg["total_tokens"], 16);
    let ms = tg["ms_per_token"].as_f64().unwrap();
    assert!((ms - tg["total_s"].as_f64().unwrap() * 1e3 / 16.0).abs() < 1e-6);
    assert!(
        j["build"]["llama_cpp_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    assert_eq!(j["build"]["backends"][0], "CPU");
}

#[test]
fn csv_and_jsonl() {
    let csv = bench(&["-p", "16", "-n", "4", "-o", "csv"]).ok();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    let cols = lines[0].split(',').count();
    assert!(lines[0].starts_with("inferno_version,"));
    // Quoted fields may hold commas; a data row has at least as many separators.
    assert!(lines[1].split(',').count() >= cols);
    let jsonl = bench(&["-p", "16", "-n", "4", "-o", "jsonl"]).ok();
    let objs: Vec<serde_json::Value> = jsonl.lines().map(json).collect();
    assert_eq!(objs.len(), 2);
    assert_eq!(objs[0]["test"], "pp16");
    assert!(objs[1]["build"]["inferno_version"].is_string());
}

#[test]
fn every_combination_runs() {
    let j = json(
        &Inferno::new()
            .args(["bench", "-m", model(QWEN).to_str().unwrap(), "-r", "1"])
            .args([
                "-p", "16", "-n", "0", "-t", "1,2", "-b", "8,16", "-o", "json",
            ])
            .run()
            .ok(),
    );
    let combos: Vec<(u64, u64)> = j["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["n_threads"].as_u64().unwrap(),
                r["n_batch"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(combos, [(1, 8), (1, 16), (2, 8), (2, 16)]);
}

/// `-v` without a terminal: one line per test and one per repetition (README says so).
#[test]
fn verbose_prints_each_test_and_repetition() {
    let r = bench(&["-p", "16", "-n", "4", "-v"]);
    r.ok();
    let ours: Vec<String> = r
        .stderr()
        .lines()
        .filter(|l| l.starts_with("inferno: "))
        .map(String::from)
        .collect();
    assert_eq!(ours.len(), 6, "2 tests x (1 + 2 repetitions): {ours:#?}");
    assert!(ours[0].starts_with("inferno: bench 1/2: ") && ours[0].ends_with(" pp16 t=2"));
    assert!(ours[1].contains("pp16 t=2: repetition 1/2, ") && ours[1].ends_with(" t/s"));
    assert!(ours[2].contains("pp16 t=2: repetition 2/2, "));
    assert!(ours[3].starts_with("inferno: bench 2/2: ") && ours[3].ends_with(" tg4 t=2"));
    assert!(ours[5].contains("tg4 t=2: repetition 2/2, "));
}

#[test]
fn depth_fills_the_cache_untimed() {
    let j = json(&bench(&["-p", "0", "-n", "4", "-d", "64", "-o", "json"]).ok());
    let r = &j["results"][0];
    assert_eq!(r["test"], "tg4 @ d64");
    assert_eq!(r["n_ctx"], 68);
}

#[test]
fn bad_bench_arguments() {
    bench(&["-p", "abc"]).fails(2, "-p/--n-prompt");
    Inferno::new()
        .args(["bench", "-m", model(QWEN).to_str().unwrap(), "-r", "0"])
        .run()
        .fails(2, "--repetitions");
    bench(&["-t", "0"]).fails(2, "-t/--threads");
    bench(&["--pg", "12"]).fails(2, "--pg");
    bench(&["-o", "xml"]).fails(2, "xml");
    Inferno::new()
        .args(["bench", "-m", "/nonexistent.gguf"])
        .run()
        .fails(4, "does not exist");
    Inferno::new().args(["bench"]).run().fails(2, "-m/--model");
}
