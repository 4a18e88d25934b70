//! Ctrl-C and SIGTERM where the process waits on something other than llama.cpp (a slow
//! stdin, a FIFO nobody opens), and the second Ctrl-C while llama.cpp is busy on another
//! thread. (Signals during load, prompt evaluation and generation are in hardening.rs and
//! run.rs.)

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn kill(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits up to `limit` for the child to end; kills it (and fails) if it does not.
fn exit_within(mut child: Child, limit: Duration) -> (Option<i32>, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), start.elapsed());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running {limit:?} after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `sleep 20 | inferno run -m M -p -`: the prompt never comes, Ctrl-C must still end it.
#[test]
fn ctrl_c_while_stdin_is_slow_exits_130_at_once() {
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let _one = exclusive();
        let mut inf = run_on(GEMMA).args(["-p", "-"]);
        // Our end of the pipe stays open and silent, like `sleep 20 |`.
        let mut child = inf
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let _stdin = child.stdin.take();
        std::thread::sleep(Duration::from_millis(500));
        kill(&child, signal);
        let (got, took) = exit_within(child, Duration::from_secs(5));
        assert_eq!(got, Some(code), "{signal}");
        assert!(took < Duration::from_secs(1), "{signal}: took {took:?}");
    }
}

/// `-f FIFO` with no writer blocks in open(); Ctrl-C must still end it.
#[test]
fn ctrl_c_while_a_fifo_has_no_writer_exits_130_at_once() {
    let _one = exclusive();
    let mut inf = run_on(GEMMA);
    let fifo = inf.dir().join("prompt.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    inf = inf.args(["-f", fifo.to_str().unwrap()]);
    let child = inf.spawn();
    std::thread::sleep(Duration::from_millis(500));
    kill(&child, "-INT");
    let (got, took) = exit_within(child, Duration::from_secs(5));
    assert_eq!(got, Some(130));
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

/// A second Ctrl-C while llama.cpp decodes on another thread exits 130 at once, without
/// running exit handlers and C++ static destructors under llama.cpp's feet. A preloaded
/// library with a destructor shows whether they ran: it prints a marker at `exit`, not at
/// `_exit`.
#[test]
fn second_ctrl_c_under_load_exits_without_running_destructors() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("marker.c");
    let lib = dir.path().join("libmarker.so");
    std::fs::write(
        &src,
        "#include <unistd.h>\n__attribute__((destructor)) static void marker(void) { write(2, \"EXIT-HANDLERS-RAN\\n\", 18); }\n",
    )
    .unwrap();
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .status()
        .expect("a C compiler (cc) for the marker library");
    assert!(built.success());

    // The marker works: a normal end runs it.
    let normal = run_on(GEMMA)
        .env("LD_PRELOAD", lib.to_str().unwrap())
        .args(["--temp", "0", "-n", "2", "-p", "Hello"])
        .run();
    assert_eq!(normal.code(), 0, "{}", normal.stderr());
    assert!(normal.stderr().contains("EXIT-HANDLERS-RAN"));

    for round in 0..3 {
        let _one = exclusive();
        let mut inf = run_on(QWEN).env("LD_PRELOAD", lib.to_str().unwrap()).args([
            "--ignore-eos",
            "-n",
            "100000",
            "-p",
            "Write a long story.",
        ]);
        let mut child = inf.spawn();
        let mut stdout = child.stdout.take().unwrap();
        let mut first = [0u8; 8];
        stdout.read_exact(&mut first).unwrap();
        kill(&child, "-INT");
        kill(&child, "-INT");
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "round {round}: {stderr}");
        assert!(
            !stderr.contains("EXIT-HANDLERS-RAN"),
            "round {round}: exit handlers ran under llama.cpp: {stderr}"
        );
    }
}
