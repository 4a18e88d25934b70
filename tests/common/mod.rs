//! Helpers shared by the integration tests: they run the real `inferno` binary on the real
//! test models (fetched by test_models/fetch.sh; a missing model fails the test, it is never
//! skipped).
#![allow(dead_code)] // each test binary uses a different subset

pub mod edit;
pub mod server;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What [`Inferno::signal_after`] saw.
pub struct Signalled {
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub took: Duration,
}

/// One model-running process at a time. The test harness runs tests in parallel, and two
/// llama.cpp processes with 2 threads each on a 2-core machine spin against each other
/// (OpenMP busy-waits), making every test many times slower.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn exclusive() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

pub const GEMMA: &str = "gemma-3-270m-q4_k_m.gguf";
pub const QWEN: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn model(name: &str) -> PathBuf {
    let p = root().join("test_models").join(name);
    assert!(
        p.is_file(),
        "{} is missing: run test_models/fetch.sh first",
        p.display()
    );
    p
}

/// The binary under test: this build's, or `INFERNO_TEST_BIN` (to run the tests against
/// another build, e.g. to show that a new test fails on the build before a fix).
pub fn bin() -> PathBuf {
    std::env::var_os("INFERNO_TEST_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_inferno")),
        PathBuf::from,
    )
}

/// A command for the binary with a clean environment: no INFERNO_* variables and no config
/// files from the developer's machine (HOME and XDG_CONFIG_HOME point to an empty directory,
/// the working directory is a fresh temporary one).
pub struct Inferno {
    pub cmd: Command,
    _home: tempfile::TempDir,
}

impl Inferno {
    pub fn new() -> Inferno {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(bin());
        for (k, _) in std::env::vars() {
            if k.starts_with("INFERNO_") || k == "RUST_LOG" || k == "NO_COLOR" {
                cmd.env_remove(k);
            }
        }
        cmd.env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .current_dir(home.path());
        Inferno { cmd, _home: home }
    }

    /// Start it with stdout and stderr piped (the caller holds [`exclusive`]).
    pub fn spawn(&mut self) -> Child {
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("inferno starts")
    }

    /// Start it, wait until `bytes` of output arrived (0: wait `delay` instead), send
    /// `signal` (`-INT`, `-TERM`), and collect everything: exit code (None if killed by a
    /// signal), all of stdout, stderr, and how long it took to end after the signal.
    pub fn signal_after(mut self, bytes: usize, delay: Duration, signal: &str) -> Signalled {
        let _one = exclusive();
        let mut child = self.spawn();
        let mut stdout = child.stdout.take().unwrap();
        let mut out = vec![0u8; bytes];
        stdout.read_exact(&mut out).unwrap();
        std::thread::sleep(delay);
        let sent = Instant::now();
        let ok = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        stdout.read_to_end(&mut out).unwrap();
        let rest = child.wait_with_output().unwrap();
        Signalled {
            code: rest.status.code(),
            stdout: out,
            stderr: String::from_utf8_lossy(&rest.stderr).into_owned(),
            took: sent.elapsed(),
        }
    }

    pub fn dir(&self) -> &Path {
        self._home.path()
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn run(mut self) -> Run {
        let _one = exclusive();
        Run(self
            .cmd
            .stdin(Stdio::null())
            .output()
            .expect("inferno runs"))
    }

    /// Run with `input` on stdin.
    pub fn run_stdin(mut self, input: &[u8]) -> Run {
        use std::io::Write;
        let _one = exclusive();
        self.cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("inferno starts");
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run(out)
    }
}

pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).expect("stdout is UTF-8")
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    /// Assert success and return stdout.
    pub fn ok(&self) -> String {
        assert_eq!(self.code(), 0, "exit code; stderr:\n{}", self.stderr());
        self.stdout()
    }
    /// Assert exit code `code`, a one-line message containing `needle`, nothing on stdout.
    pub fn fails(&self, code: i32, needle: &str) -> &Self {
        let err = self.stderr();
        assert_eq!(self.code(), code, "exit code; stderr:\n{err}");
        assert!(
            err.contains(needle),
            "stderr should mention {needle:?}:\n{err}"
        );
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one line of error:\n{err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
        assert!(self.0.stdout.is_empty(), "nothing on stdout");
        self
    }
}

/// Greedy, 2 threads: the settings the golden texts were produced with.
pub fn greedy(model_name: &str, prompt: &str, n: u32) -> Inferno {
    run_on(model_name).args([
        "--raw",
        "--temp",
        "0",
        "-t",
        "2",
        "-n",
        &n.to_string(),
        "-p",
        prompt,
    ])
}

/// `inferno run -m <test model>` in a clean environment; add the rest with `.args`.
pub fn run_on(model_name: &str) -> Inferno {
    Inferno::new().args(["run", "-m", model(model_name).to_str().unwrap()])
}

/// The synthetic-model generator (examples/synth.rs), built by `cargo test`.
pub fn synth() -> PathBuf {
    let p = bin().parent().unwrap().join("examples/synth");
    assert!(
        p.is_file(),
        "{} missing: cargo test builds the examples",
        p.display()
    );
    p
}

/// Write the tiny synthetic model (a few MB: 2 layers, embedding 256) to `path`.
pub fn synth_tiny(path: &Path, extra: &[&str]) {
    let out = Command::new(synth())
        .args(["--preset", "tiny", "-t", "2", "-o"])
        .arg(path)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Inferno {
    /// Run (stdin empty) and also report the child's peak resident memory in bytes.
    // The child is reaped with wait4 (for its rusage), which clippy does not see.
    #[allow(clippy::zombie_processes)]
    pub fn run_measured(mut self) -> (Run, u64) {
        use std::os::unix::process::ExitStatusExt;
        let _one = exclusive();
        let mut child = self.spawn();
        let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let reader = std::thread::spawn(move || {
            let mut b = Vec::new();
            out.read_to_end(&mut b).unwrap();
            b
        });
        let mut stderr = Vec::new();
        err.read_to_end(&mut stderr).unwrap();
        let stdout = reader.join().unwrap();
        let mut status = 0;
        // SAFETY: waits for our own child and fills the rusage we own.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let pid = child.id() as libc::pid_t;
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(waited, pid);
        let output = Output {
            status: std::process::ExitStatus::from_raw(status),
            stdout,
            stderr,
        };
        (Run(output), usage.ru_maxrss as u64 * 1024)
    }
}
