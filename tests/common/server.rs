//! A real `inferno serve` for the tests: started on a free port (`--port 0`, the port read from
//! its "listening on" line), ready when it says so, stopped with Ctrl-C (or killed on drop).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Inferno;

pub struct Server {
    child: Child,
    pub url: String,
    stderr: Arc<Mutex<String>>,
    _env: Inferno,
}

impl Server {
    /// `inferno serve -m MODEL --port 0 ARGS...`, waiting until the model is loaded.
    pub fn start(model: &str, args: &[&str]) -> Server {
        Server::start_env(model, args, &[])
    }

    pub fn start_env(model: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        let (server, ready) = Server::spawn(model, args, env);
        if ready.recv_timeout(Duration::from_secs(120)).is_err() {
            panic!("the server did not get ready: {}", server.stderr());
        }
        server
    }

    /// Start, returning as soon as it listens (the model may still be loading); the receiver
    /// gets a message when it is ready.
    pub fn spawn(model: &str, args: &[&str], env: &[(&str, &str)]) -> (Server, Receiver<()>) {
        let m = super::model(model);
        let mut all = vec!["-m", m.to_str().unwrap()];
        all.extend_from_slice(args);
        Server::spawn_args(&all, env)
    }

    /// `inferno serve --port 0 ARGS...` (the models come from ARGS or config), ready.
    pub fn start_args(args: &[&str]) -> Server {
        let (server, ready) = Server::spawn_args(args, &[]);
        if ready.recv_timeout(Duration::from_secs(120)).is_err() {
            panic!("the server did not get ready: {}", server.stderr());
        }
        server
    }

    fn spawn_args(args: &[&str], env: &[(&str, &str)]) -> (Server, Receiver<()>) {
        let mut inf = Inferno::new().args(["serve", "--port", "0"]).args(args);
        for (k, v) in env {
            inf = inf.env(k, v);
        }
        let mut child = inf
            .cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("inferno serve starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (url_tx, url_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let lines = BufReader::new(child.stderr.take().unwrap());
        let keep = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in lines.lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let _ = url_tx.send(rest.split(';').next().unwrap().to_string());
                }
                if line.starts_with("inferno: ready: ") {
                    let _ = ready_tx.send(());
                }
                keep.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let url = url_rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no 'listening on' line: {}", stderr.lock().unwrap()));
        let server = Server {
            child,
            url,
            stderr,
            _env: inf,
        };
        (server, ready_rx)
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ctrl-C, then wait (up to `limit`) for the exit code.
    pub fn stop(mut self, limit: Duration) -> (Option<i32>, String) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50));
                return (status.code(), self.stderr());
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "the server did not stop within {limit:?}: {}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `curl -s` with the arguments; returns (HTTP status, headers, body).
pub fn curl(args: &[&str]) -> (u16, String, String) {
    let out = Command::new("curl")
        .args(["-s", "-D", "/dev/stderr", "--max-time", "600"])
        .args(args)
        .output()
        .expect("curl runs");
    let headers = String::from_utf8_lossy(&out.stderr).into_owned();
    let status = headers
        .lines()
        .rev()
        .find(|l| l.starts_with("HTTP/"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (
        status,
        headers,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The Python of the test clients' virtual environment (scripts/install-deps.sh makes it).
pub fn python() -> PathBuf {
    let p = std::env::var_os("INFERNO_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::root().join(".venv/bin/python"));
    assert!(
        p.is_file(),
        "{} missing: run scripts/install-deps.sh (it creates .venv with the test clients)",
        p.display()
    );
    p
}

/// Run a check of tests/clients/openai_check.py against the server; returns its stdout.
pub fn openai_check(server: &Server, check: &str, key: Option<&str>) -> String {
    let mut cmd = Command::new(python());
    cmd.arg(super::root().join("tests/clients/openai_check.py"))
        .arg(&server.url)
        .arg(check);
    if let Some(k) = key {
        cmd.arg(k);
    }
    let out = cmd.output().expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "check {check} failed:\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        server.stderr()
    );
    stdout
}
