//! llama.cpp's RPC backend through inferno: two `inferno rpc-worker` processes on 127.0.0.1
//! serve their CPUs, a client splits a real model across them. Greedy text equals a local run
//! with repacking off (weights sent over RPC are not repacked for the CPU kernels); `info`
//! lists the remote devices; an unreachable worker and a worker killed mid-run end the client
//! with exit code 10 and a line naming the address, in bounded time.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::Child;
use std::time::{Duration, Instant};

use common::*;

/// A worker on a free port, ready (it printed "serving"); killed on drop.
struct Worker {
    child: Child,
    endpoint: String,
    _env: Inferno,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn worker() -> Worker {
    let port = free_port();
    let mut inf = Inferno::new().args([
        "rpc-worker",
        "--port",
        &port.to_string(),
        "--device",
        "CPU",
        "-t",
        "1",
    ]);
    let mut child = inf.spawn();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let start = Instant::now();
    while !seen.contains("serving CPU on") {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap_or(0) == 0 || start.elapsed() > Duration::from_secs(60) {
            panic!("the worker did not start: {seen}");
        }
        seen.push_str(&line);
    }
    assert!(seen.contains("no authentication"), "{seen}");
    // Keep draining its stderr so it never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = err.read_to_string(&mut sink);
    });
    Worker {
        child,
        endpoint: format!("127.0.0.1:{port}"),
        _env: inf,
    }
}

const PROMPT: &str = "Write a Python function that returns the squares of a list of numbers.";

#[test]
fn a_model_split_over_two_workers_equals_a_local_run_without_repacking() {
    // `run()` takes the one-process lock itself; idle workers cost no CPU.
    let (a, b) = (worker(), worker());
    let rpc = format!("{},{}", a.endpoint, b.endpoint);
    let info = Inferno::new().args(["info", "--rpc", &rpc]).run().ok();
    for w in [&a, &b] {
        assert!(
            info.contains(&w.endpoint),
            "info lists {}: {info}",
            w.endpoint
        );
    }
    // The same greedy generation, placed by `place`.
    let greedy = |place: &[&str]| -> serde_json::Value {
        let out = run_on(QWEN)
            .args(place)
            .args(["--temp", "0", "-n", "24", "-t", "1", "--json", "-p", PROMPT])
            .run();
        serde_json::from_str(&out.ok()).unwrap()
    };
    let remote_json = greedy(&["--rpc", &rpc, "--gpu-layers", "99"]);
    let local_json = greedy(&["--no-repack"]);
    assert_eq!(remote_json["text"], local_json["text"], "same greedy text");
    assert_eq!(
        remote_json["gpu_layers_offloaded"], 25,
        "every layer went to the workers"
    );
    let devices: Vec<String> = remote_json["memory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["device"].as_str().unwrap().to_string())
        .collect();
    assert!(
        devices.iter().filter(|d| d.starts_with("RPC")).count() >= 2,
        "{devices:?}"
    );
}

#[test]
fn an_unreachable_worker_is_a_clear_error() {
    let port = free_port();
    let start = Instant::now();
    run_on(QWEN)
        .args(["--rpc", &format!("127.0.0.1:{port}"), "-p", "hi"])
        .run()
        .fails(
            10,
            &format!("cannot reach the RPC worker at 127.0.0.1:{port}"),
        );
    assert!(start.elapsed() < Duration::from_secs(20));
    // Something that accepts and never answers (a worker busy with another client looks the
    // same): the handshake times out instead of hanging ggml's client.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let start = Instant::now();
    run_on(QWEN).args(["--rpc", &addr, "-p", "hi"]).run().fails(
        10,
        &format!("the RPC worker at {addr} did not complete the handshake"),
    );
    assert!(start.elapsed() < Duration::from_secs(20));
    drop(silent);
    run_on(QWEN)
        .args(["--tensor-split", "1,1,1", "-p", "hi"])
        .run()
        .fails(2, "--tensor-split has 3 shares but there are 0 GPU devices");
}

#[test]
fn a_worker_killed_mid_run_ends_the_client() {
    let _one = exclusive();
    let w = worker();
    let client = run_on(QWEN).args([
        "--rpc",
        &w.endpoint,
        "--gpu-layers",
        "99",
        "--raw",
        "--ignore-eos",
        "-n",
        "4000",
        "-t",
        "1",
        "-p",
        "Once upon a time",
    ]);
    let mut client = client;
    let mut child = client.spawn();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    if let Err(e) = out.read_exact(&mut first) {
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("no text before the worker died ({e}): {err}");
    }
    drop(w);
    let killed = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(30),
            "the client hangs"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(10), "{err}");
    assert!(err.contains("lost the RPC worker"), "{err}");
}
