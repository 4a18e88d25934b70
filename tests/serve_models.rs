//! Several models in one `inferno serve` (Gemma and Qwen): loaded on first use, unloaded
//! least-recently-used first when `--max-loaded` or `--max-memory` leaves room for one, after
//! their keep-alive, and never under a request. Real models, curl as the client.

mod common;

use std::time::{Duration, Instant};

use common::server::{Server, curl};
use common::*;

const GEMMA_ID: &str = "gemma-3-270m-q4_k_m";
const QWEN_ID: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m";

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// A greedy raw completion from `model` (both test models take raw prompts; Gemma's test
/// file has no chat template).
fn complete(url: &str, model: &str, extra: &str) -> (u16, serde_json::Value) {
    let body = format!(
        r#"{{"model":"{model}","prompt":"The capital of France is","max_tokens":8,"temperature":0{extra}}}"#
    );
    let (status, _, text) = curl(&[
        "-X",
        "POST",
        &format!("{url}/v1/completions"),
        "-H",
        "content-type: application/json",
        "-d",
        &body,
    ]);
    (status, json(&text))
}

/// `(id, state, loads, unloads)` of every model, as `/v1/models` lists them.
fn states(url: &str) -> Vec<(String, String, u64, u64)> {
    let (status, _, body) = curl(&[&format!("{url}/v1/models")]);
    assert_eq!(status, 200, "{body}");
    json(&body)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap().to_string(),
                m["loads"].as_u64().unwrap(),
                m["unloads"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn state_of(url: &str, id: &str) -> String {
    states(url)
        .into_iter()
        .find(|m| m.0 == id)
        .unwrap_or_else(|| panic!("{id} not listed"))
        .1
}

fn text(v: &serde_json::Value) -> String {
    v["choices"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// With room for one model, alternating requests unload one and load the other each time;
/// every request succeeds, a reloaded model answers exactly as before, `/v1/models` and the
/// log show the evictions and reloads.
#[test]
fn alternating_models_with_room_for_one() {
    let _one = exclusive();
    let gemma = model(GEMMA);
    let server = Server::start(
        QWEN,
        &[
            "-m",
            gemma.to_str().unwrap(),
            "--max-loaded",
            "1",
            "-t",
            "2",
            "--parallel",
            "2",
        ],
    );
    let url = &server.url;
    assert_eq!(state_of(url, QWEN_ID), "loaded");
    assert_eq!(state_of(url, GEMMA_ID), "unloaded");
    let mut answers: Vec<(String, String)> = Vec::new();
    for id in [GEMMA_ID, QWEN_ID, GEMMA_ID, QWEN_ID] {
        let (status, v) = complete(url, id, "");
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["model"], id);
        assert_eq!(v["usage"]["completion_tokens"], 8);
        answers.push((id.to_string(), text(&v)));
        let other = if id == GEMMA_ID { QWEN_ID } else { GEMMA_ID };
        assert_eq!(state_of(url, id), "loaded");
        assert_eq!(state_of(url, other), "unloaded");
    }
    assert_eq!(
        answers[0], answers[2],
        "Gemma answers the same after a reload"
    );
    assert_eq!(
        answers[1], answers[3],
        "Qwen answers the same after a reload"
    );
    assert_ne!(answers[0].1, answers[1].1, "two different models answered");
    let all = states(url);
    let qwen = all.iter().find(|m| m.0 == QWEN_ID).unwrap();
    let gem = all.iter().find(|m| m.0 == GEMMA_ID).unwrap();
    assert_eq!((qwen.2, qwen.3), (3, 2), "qwen loads/unloads: {all:?}");
    assert_eq!((gem.2, gem.3), (2, 2), "gemma loads/unloads: {all:?}");
    let (_, _, metrics) = curl(&[&format!("{url}/metrics")]);
    assert!(
        metrics.contains(&format!(
            "inferno_model_unloads_total{{model=\"{GEMMA_ID}\"}} 2"
        )),
        "{metrics}"
    );
    let (status, v) = complete(url, "llama-70b", "");
    assert_eq!(status, 404);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(QWEN_ID) && msg.contains(GEMMA_ID), "{msg}");
    let (code, log) = server.stop(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains(&format!(
            "unloaded {QWEN_ID} to load {GEMMA_ID} (--max-loaded 1)"
        )),
        "{log}"
    );
}

/// Requests for both models at once, with a memory budget that holds one: the loads wait
/// for the other model's requests to end, and no request fails.
#[test]
fn concurrent_requests_for_both_models_never_fail() {
    let _one = exclusive();
    let gemma = model(GEMMA);
    // Each model measures about 0.9 GB here (weights, KV cache of both slots, compute).
    let server = Server::start(
        QWEN,
        &[
            "-m",
            gemma.to_str().unwrap(),
            "--max-memory",
            "1500000000",
            "-t",
            "2",
            "--parallel",
            "2",
        ],
    );
    let url = server.url.clone();
    let clients: Vec<_> = (0..6)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let id = if i % 2 == 0 { GEMMA_ID } else { QWEN_ID };
                (0..2)
                    .map(|_| {
                        let (status, v) = complete(&url, id, "");
                        (id, status, v)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for c in clients {
        for (id, status, v) in c.join().unwrap() {
            assert_eq!(status, 200, "{id}: {v}");
            assert_eq!(v["usage"]["completion_tokens"], 8, "{id}: {v}");
        }
    }
    let loaded = states(&url).iter().filter(|m| m.1 == "loaded").count();
    assert_eq!(loaded, 1, "the budget holds one model");
    let log = server.stderr();
    assert!(log.contains("(--max-memory "), "{log}");
}

/// A request's `keep_alive` of 0 unloads the model once it is idle; the next request loads
/// it again. A bad `keep_alive` is a 400 naming the field.
#[test]
fn keep_alive_zero_unloads_after_the_request() {
    let _one = exclusive();
    let server = Server::start(QWEN, &["-t", "2", "--parallel", "1"]);
    let url = &server.url;
    let (status, v) = complete(url, QWEN_ID, r#","keep_alive":0"#);
    assert_eq!(status, 200, "{v}");
    let start = Instant::now();
    while state_of(url, QWEN_ID) != "unloaded" {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still loaded: {}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, v) = complete(url, QWEN_ID, r#","keep_alive":"5m""#);
    assert_eq!(status, 200, "{v}");
    assert_eq!(state_of(url, QWEN_ID), "loaded");
    let (status, v) = complete(url, QWEN_ID, r#","keep_alive":"soon""#);
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["param"], "keep_alive");
    assert!(server.stderr().contains("(keep-alive passed)"));
}

/// `--models-dir` offers every .gguf by its stem; `[[models]]` entries name models and set
/// their slots; names must be unique; other commands take one -m.
#[test]
fn models_from_a_directory_and_from_config() {
    let dir = tempfile::tempdir().unwrap();
    for m in [GEMMA, QWEN] {
        std::os::unix::fs::symlink(model(m), dir.path().join(m)).unwrap();
    }
    std::fs::write(dir.path().join("notes.txt"), "not a model").unwrap();
    let d = dir.path().to_str().unwrap();
    // The same model from -m and from the directory: one name twice, refused before listening.
    Inferno::new()
        .args([
            "serve",
            "-m",
            model(QWEN).to_str().unwrap(),
            "--models-dir",
            d,
        ])
        .run()
        .fails(2, &format!("two models are named '{QWEN_ID}'"));
    Inferno::new()
        .args([
            "run",
            "-m",
            model(QWEN).to_str().unwrap(),
            "-m",
            model(GEMMA).to_str().unwrap(),
            "-p",
            "x",
        ])
        .run()
        .fails(2, "-m/--model is given 2 times");
    let config = dir.path().join("models.toml");
    std::fs::write(
        &config,
        format!(
            "[[models]]\nname = \"small\"\npath = \"{GEMMA}\"\nparallel = 1\n\n[[models]]\nname = \"coder\"\npath = \"{QWEN}\"\n"
        ),
    )
    .unwrap();
    let _one = exclusive();
    let server = Server::start_args(&["--models-dir", d, "-t", "2", "--parallel", "1"]);
    let ids: Vec<String> = states(&server.url).into_iter().map(|m| m.0).collect();
    assert_eq!(ids, [GEMMA_ID, QWEN_ID], "sorted by file name, .gguf only");
    drop(server);
    let server = Server::start_args(&["--config", config.to_str().unwrap(), "-t", "2"]);
    let ids: Vec<String> = states(&server.url).into_iter().map(|m| m.0).collect();
    assert_eq!(ids, ["small", "coder"]);
    let (status, v) = complete(&server.url, "coder", "");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["model"], "coder");
    // A request without "model" goes to the first.
    let (status, _, body) = curl(&[
        "-X",
        "POST",
        &format!("{}/v1/completions", server.url),
        "-d",
        r#"{"prompt":"Hi","max_tokens":2}"#,
    ]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["model"], "small");
    assert!(
        server.stderr().contains("loaded small (") && server.stderr().contains("1 slots of"),
        "{}",
        server.stderr()
    );
}
