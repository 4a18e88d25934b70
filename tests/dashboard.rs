//! The dashboard of `inferno serve` in a real browser: headless Chromium from Debian's
//! packages, driven by Selenium (tests/clients/dashboard_check.py), against a real server on a
//! real model, with and without an API key.

mod common;

use std::process::Command;

use common::server::{Server, python};
use common::*;

fn check(server: &Server, key: Option<&str>) {
    let mut cmd = Command::new(python());
    cmd.arg(root().join("tests/clients/dashboard_check.py"))
        .arg(&server.url)
        .arg("qwen2.5-coder-0.5b-instruct-q4_k_m");
    if let Some(k) = key {
        cmd.args(["--key", k]);
    }
    if let Some(dir) = std::env::var_os("DASHBOARD_SHOTS") {
        cmd.arg("--shots").arg(dir);
    }
    let out = cmd.output().expect("python runs");
    assert!(
        out.status.success(),
        "{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.stderr()
    );
}

#[test]
fn dashboard_in_a_real_browser() {
    let _one = exclusive();
    let server = Server::start(QWEN, &["-t", "2", "--parallel", "2"]);
    check(&server, None);
}

#[test]
fn dashboard_asks_for_the_api_key() {
    let _one = exclusive();
    let server = Server::start(QWEN, &["-t", "2", "--parallel", "2", "--api-key", "k3y"]);
    check(&server, Some("k3y"));
    let log = server.stop(std::time::Duration::from_secs(20)).1;
    assert!(!log.contains("k3y"), "{log}");
}
