//! `inferno serve` with real clients on a real model: the official `openai` Python package
//! (tests/clients/openai_check.py), curl for the SSE framing and the HTTP edges, and
//! concurrent clients for the batching (queue limits, cancellation, shutdown).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{Server, curl, openai_check};
use common::*;

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn chat_body(content: &str, extra: &str) -> String {
    format!(
        r#"{{"messages":[{{"role":"user","content":{}}}],"temperature":0{extra}}}"#,
        serde_json::to_string(content).unwrap()
    )
}

fn post(server: &Server, path: &str, body: &str) -> (u16, String, String) {
    curl(&[
        "-X",
        "POST",
        &format!("{}{path}", server.url),
        "-H",
        "content-type: application/json",
        "-d",
        body,
    ])
}

/// Every check of the OpenAI client script, against one server.
#[test]
fn the_openai_python_package_works_against_the_server() {
    let _one = exclusive();
    let server = Server::start(QWEN, &["-t", "2", "--parallel", "2"]);
    for check in [
        "chat",
        "max_tokens",
        "completions",
        "stop",
        "seed",
        "json",
        "errors",
        "models",
        "metrics",
    ] {
        openai_check(&server, check, None);
    }
    let (code, log) = server.stop(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{log}");
    // One log line per request, with the measured figures.
    assert!(
        log.lines().any(
            |l| l.starts_with("inferno: POST /v1/chat/completions 200 prompt ")
                && l.contains(" tok/s ")
        ),
        "{log}"
    );
    assert!(log.contains("POST /v1/chat/completions 400"), "{log}");
}

/// The SSE framing as curl sees it: `data: {json}` events separated by blank lines, a first
/// chunk with the role, a last chunk with the finish reason, the usage chunk, `[DONE]`.
#[test]
fn sse_framing_with_curl() {
    let _one = exclusive();
    let server = Server::start(QWEN, &["-t", "2"]);
    let (status, headers, body) = post(
        &server,
        "/v1/chat/completions",
        &chat_body(
            "Say hi",
            r#","max_tokens":6,"stream":true,"stream_options":{"include_usage":true}"#,
        ),
    );
    assert_eq!(status, 200);
    assert!(
        headers
            .to_lowercase()
            .contains("content-type: text/event-stream"),
        "{headers}"
    );
    // A slow step (a loaded CI machine) may put the keep-alive comment between events: SSE
    // clients skip comment lines, and so does this check; everything else is one data line.
    let events: Vec<&str> = body
        .split("\n\n")
        .filter(|e| !e.is_empty() && *e != ": waiting")
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e.starts_with("data: ") && !e.contains('\n')),
        "{body}"
    );
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let chunks: Vec<serde_json::Value> = events[..events.len() - 1]
        .iter()
        .map(|e| json(&e[6..]))
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "length");
    assert_eq!(finish["choices"][0]["delta"], serde_json::json!({}));
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(usage["choices"], serde_json::json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 6);
    let ids: std::collections::HashSet<String> =
        chunks.iter().map(|c| c["id"].to_string()).collect();
    assert_eq!(ids.len(), 1, "one id for all chunks");
}

/// A single greedy request gives exactly `inferno run --temp 0`'s text for the same message.
#[test]
fn greedy_answer_equals_inferno_run() {
    let prompt = "Write a Python function that adds two numbers.";
    let run = run_on(QWEN)
        .args(["--temp", "0", "-t", "2", "-n", "64", "-p", prompt])
        .run()
        .ok();
    let _one = exclusive();
    let server = Server::start(QWEN, &["-t", "2"]);
    let (status, _, body) = post(
        &server,
        "/v1/chat/completions",
        &chat_body(prompt, r#","max_tokens":64"#),
    );
    assert_eq!(status, 200, "{body}");
    let text = json(&body)["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(text + "\n", run);
}

/// HTTP edges: malformed JSON, wrong types, a body over the limit, an unknown path, CORS off
/// by default; and /health is 503 "loading" until the model is loaded (requests wait).
#[test]
fn http_edges() {
    let _one = exclusive();
    let (server, ready) = Server::spawn(QWEN, &["-t", "2", "--body-limit", "4096"], &[]);
    let (status, _, body) = curl(&[&format!("{}/health", server.url)]);
    assert_eq!(
        (status, json(&body)["status"].as_str()),
        (503, Some("loading")),
        "{body}"
    );
    // A request that comes while the model loads waits for it (bounded by its timeout).
    let (status, _, body) = post(
        &server,
        "/v1/chat/completions",
        &chat_body("hi", r#","max_tokens":2"#),
    );
    assert_eq!(status, 200, "generation waits for the model: {body}");
    ready.recv_timeout(Duration::from_secs(120)).expect("ready");
    assert_eq!(curl(&[&format!("{}/health", server.url)]).0, 200);

    let (status, _, body) = post(&server, "/v1/chat/completions", "{\"messages\": [");
    assert_eq!(status, 400);
    assert!(
        json(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON"),
        "{body}"
    );
    let (status, _, body) = post(&server, "/v1/chat/completions", r#"{"messages":"hello"}"#);
    assert_eq!(status, 400);
    assert_eq!(json(&body)["error"]["param"], "messages", "{body}");
    let (status, _, body) = post(
        &server,
        "/v1/chat/completions",
        r#"{"messages":[{"role":"user","content":"x"}],"max_tokens":-1}"#,
    );
    assert_eq!(status, 400, "{body}");
    let big = chat_body(&"x".repeat(5000), "");
    let (status, _, body) = post(&server, "/v1/chat/completions", &big);
    assert_eq!(status, 413, "{body}");
    assert_eq!(json(&body)["error"]["type"], "invalid_request_error");
    let (status, _, body) = curl(&[&format!("{}/v1/nothing", server.url)]);
    assert_eq!(status, 404);
    assert!(
        json(&body)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/nothing")
    );
    // Without --cors-origin a browser gets no permission to read answers.
    let (_, headers, _) = curl(&[
        "-H",
        "Origin: http://example.com",
        &format!("{}/v1/models", server.url),
    ]);
    assert!(
        !headers
            .to_lowercase()
            .contains("access-control-allow-origin"),
        "{headers}"
    );
}

/// An API key protects everything but /health; CORS only for the configured origin.
#[test]
fn api_key_and_cors() {
    let _one = exclusive();
    let server = Server::start(
        QWEN,
        &[
            "-t",
            "2",
            "--api-key",
            "s3cret",
            "--cors-origin",
            "http://ok.example",
        ],
    );
    assert_eq!(curl(&[&format!("{}/health", server.url)]).0, 200);
    let (status, _, body) = curl(&[&format!("{}/v1/models", server.url)]);
    assert_eq!(status, 401);
    assert_eq!(json(&body)["error"]["type"], "authentication_error");
    assert_eq!(
        curl(&[
            "-H",
            "Authorization: Bearer wrong",
            &format!("{}/metrics", server.url)
        ])
        .0,
        401
    );
    openai_check(&server, "auth", Some("s3cret"));
    let (status, headers, _) = curl(&[
        "-X",
        "OPTIONS",
        "-H",
        "Origin: http://ok.example",
        "-H",
        "Access-Control-Request-Method: POST",
        "-H",
        "Access-Control-Request-Headers: authorization,content-type",
        &format!("{}/v1/chat/completions", server.url),
    ]);
    assert!(status < 300, "preflight: {headers}");
    assert!(
        headers
            .to_lowercase()
            .contains("access-control-allow-origin: http://ok.example"),
        "{headers}"
    );
    let (_, headers, _) = curl(&[
        "-H",
        "Origin: http://evil.example",
        "-H",
        "Authorization: Bearer s3cret",
        &format!("{}/v1/models", server.url),
    ]);
    assert!(
        !headers
            .to_lowercase()
            .contains("access-control-allow-origin"),
        "{headers}"
    );
    let log = server.stop(Duration::from_secs(20)).1;
    assert!(
        !log.contains("s3cret"),
        "the key never reaches the log: {log}"
    );
}

/// A streaming request via curl, started in the background; returns the child.
fn stream_in_background(server: &Server, content: &str, max_tokens: u32) -> std::process::Child {
    Command::new("curl")
        .args([
            "-sN",
            "-X",
            "POST",
            &format!("{}/v1/chat/completions", server.url),
            "-H",
            "content-type: application/json",
            "-d",
        ])
        .arg(chat_body(
            content,
            &format!(r#","max_tokens":{max_tokens},"stream":true"#),
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// 16 simultaneous streaming requests on 4 slots all complete; a full queue answers 503 with
/// Retry-After.
#[test]
fn concurrency_and_queue_limits() {
    let _one = exclusive();
    let server = Server::start(QWEN, &["-t", "2", "--parallel", "4"]);
    let children: Vec<_> = (0..16)
        .map(|i| stream_in_background(&server, &format!("Count to {}.", i + 3), 12))
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        let body = String::from_utf8_lossy(&out.stdout);
        assert!(
            body.trim_end().ends_with("data: [DONE]"),
            "request {i}: {body}"
        );
    }
    drop(server);

    let server = Server::start(QWEN, &["-t", "2", "--parallel", "1", "--max-queue", "1"]);
    let busy = stream_in_background(&server, "Write a long story about the sea.", 400);
    std::thread::sleep(Duration::from_millis(800));
    let queued = stream_in_background(&server, "Say hi", 4);
    std::thread::sleep(Duration::from_millis(300));
    let (status, headers, body) = post(
        &server,
        "/v1/chat/completions",
        &chat_body("And me?", r#","max_tokens":4"#),
    );
    assert_eq!(status, 503, "{body}");
    assert!(
        headers.to_lowercase().contains("retry-after: "),
        "{headers}"
    );
    assert_eq!(json(&body)["error"]["type"], "server_error");
    for mut c in [busy, queued] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// A client killed mid-stream frees its slot: with one slot, the next request starts at once
/// instead of waiting for the abandoned answer's 2000 tokens.
#[test]
fn a_client_that_goes_away_frees_its_slot() {
    let _one = exclusive();
    let server = Server::start(QWEN, &["-t", "2", "--parallel", "1"]);
    let mut long = stream_in_background(&server, "Write a very long story about the sea.", 2000);
    let mut reader = BufReader::new(long.stdout.take().unwrap());
    let mut line = String::new();
    for _ in 0..6 {
        line.clear();
        reader.read_line(&mut line).unwrap();
    }
    long.kill().unwrap();
    long.wait().unwrap();
    let started = Instant::now();
    let (status, _, body) = post(
        &server,
        "/v1/chat/completions",
        &chat_body("Say hi", r#","max_tokens":4"#),
    );
    let took = started.elapsed();
    assert_eq!(status, 200, "{body}");
    // 2000 tokens at this machine's ~25 tokens/s would be over a minute.
    assert!(
        took < Duration::from_secs(15),
        "the next request waited {took:?}"
    );
    let log = server.stderr();
    assert!(log.contains("length in") || log.contains(" 200 "), "{log}");
    let _ = reader.read_to_end(&mut Vec::new());
}

/// Ctrl-C with a request in flight: the server stops accepting, the request finishes (here
/// within the grace period), the stream ends properly, and the exit code is 0.
#[test]
fn shutdown_lets_requests_in_flight_finish() {
    let _one = exclusive();
    let server = Server::start(QWEN, &["-t", "2"]);
    let mut s = stream_in_background(&server, "Count from 1 to 10.", 24);
    std::thread::sleep(Duration::from_millis(600));
    let (code, log) = server.stop(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{log}");
    let mut body = String::new();
    s.stdout.take().unwrap().read_to_string(&mut body).unwrap();
    s.wait().unwrap();
    assert!(body.trim_end().ends_with("data: [DONE]"), "{body}");
    assert!(body.contains("\"finish_reason\":\"length\""), "{body}");
    assert!(log.contains("shutting down"), "{log}");
}

/// Bad settings fail before anything listens: each with its message and exit code.
#[test]
fn serve_settings_errors() {
    Inferno::new()
        .args([
            "serve",
            "-m",
            model(QWEN).to_str().unwrap(),
            "--parallel",
            "0",
        ])
        .run()
        .fails(2, "--parallel");
    Inferno::new()
        .args(["serve", "-m", "/nonexistent.gguf"])
        .run()
        .fails(4, "does not exist");
    Inferno::new()
        .env("INFERNO_SERVER_PORT", "http")
        .args(["serve", "-m", model(QWEN).to_str().unwrap()])
        .run()
        .fails(3, "INFERNO_SERVER_PORT");
    Inferno::new()
        .args([
            "serve",
            "-m",
            model(QWEN).to_str().unwrap(),
            "--host",
            "no such host name",
        ])
        .run()
        .fails(2, "--host");
}
