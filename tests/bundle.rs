//! The relocatable bundle with run-time backend plugins (scripts/package.sh).
//!
//! Building the bundle compiles llama.cpp once per CPU variant (about 15 minutes on 2 cores), so
//! these tests are not part of the default run; after `scripts/package.sh` run them with
//! `cargo test --release --test bundle -- --ignored`. They fail, not skip, without the bundle.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const NEEDS: &str = "needs the bundle from scripts/package.sh";

fn bundle() -> PathBuf {
    let d = root().join("dist/inferno-linux-x86_64");
    assert!(
        d.join("inferno").is_file(),
        "{} missing: run scripts/package.sh",
        d.display()
    );
    d
}

/// A copy of the bundle somewhere else, to prove it is relocatable.
fn relocated() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(bundle()).unwrap().flatten() {
        std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
    }
    dir
}

/// A fake CPU plugin that, if anything loads it, writes `marker` (from its constructor) and
/// claims a score higher than any real variant.
fn planted_plugin(dir: &Path, name: &str, marker: &Path) {
    let src = dir.join("evil.c");
    std::fs::write(
        &src,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void planted(void) {{ FILE *f = fopen(\"{}\", \"w\"); if (f) fclose(f); }}\nint ggml_backend_score(void) {{ return 1000000; }}\n",
            marker.display()
        ),
    )
    .unwrap();
    let ok = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(dir.join(name))
        .arg(&src)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cc builds the planted plugin");
}

fn inferno_in(bin_dir: &Path, cwd: &Path) -> Inferno {
    let mut inf = Inferno::new();
    inf.cmd = Command::new(bin_dir.join("inferno"));
    inf.cmd
        .current_dir(cwd)
        .env("HOME", cwd)
        .env_remove("INFERNO_BACKENDS_DIR")
        .stdin(std::process::Stdio::null());
    inf
}

#[test]
#[ignore = "needs the bundle from scripts/package.sh"]
fn relocated_bundle_runs_and_picks_a_cpu_variant() {
    let _ = NEEDS;
    let b = relocated();
    let out = inferno_in(b.path(), b.path())
        .args(["info", "--json"])
        .run()
        .ok();
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let loaded = j["build"]["plugins_loaded"][0].as_str().unwrap();
    assert!(
        loaded.starts_with(&b.path().display().to_string()) && loaded.contains("libggml-cpu-"),
        "{loaded}"
    );
    let text = inferno_in(b.path(), b.path())
        .args([
            "run",
            "-m",
            model(GEMMA).to_str().unwrap(),
            "--temp",
            "0",
            "-t",
            "2",
            "-n",
            "12",
            "-p",
            "The capital of France is",
        ])
        .run()
        .ok();
    assert!(
        text.starts_with(" the capital of the country of France."),
        "{text}"
    );
}

#[test]
#[ignore = "needs the bundle from scripts/package.sh"]
fn plugins_are_never_loaded_from_the_working_directory() {
    let b = relocated();
    let cwd = tempfile::tempdir().unwrap();
    let marker = cwd.path().join("LOADED");
    planted_plugin(cwd.path(), "libggml-cpu-planted.so", &marker);
    inferno_in(b.path(), cwd.path()).args(["info"]).run().ok();
    inferno_in(b.path(), cwd.path())
        .args([
            "run",
            "-m",
            model(GEMMA).to_str().unwrap(),
            "-n",
            "2",
            "-p",
            "Hi",
        ])
        .run()
        .ok();
    assert!(
        !marker.exists(),
        "a library in the working directory was loaded"
    );
    // The plant does work when its directory is named explicitly, so the check above can fail.
    let r = inferno_in(b.path(), cwd.path())
        .env("INFERNO_BACKENDS_DIR", cwd.path().to_str().unwrap())
        .args(["info"])
        .run();
    assert!(
        marker.exists(),
        "INFERNO_BACKENDS_DIR is searched: {}",
        r.stderr()
    );
}

#[test]
#[ignore = "needs the bundle from scripts/package.sh"]
fn corrupt_plugin_is_reported_and_skipped() {
    let b = relocated();
    let plugins = tempfile::tempdir().unwrap();
    std::fs::write(
        plugins.path().join("libggml-cuda.so"),
        b"this is not a shared library",
    )
    .unwrap();
    let r = inferno_in(b.path(), b.path())
        .env("INFERNO_BACKENDS_DIR", plugins.path().to_str().unwrap())
        .args([
            "run",
            "-m",
            model(GEMMA).to_str().unwrap(),
            "--temp",
            "0",
            "-n",
            "6",
            "-p",
            "The capital of France is",
        ])
        .run();
    assert!(r.ok().starts_with(" the capital"), "CPU keeps working");
    let err = r.stderr();
    assert!(
        err.contains("backend plugin")
            && err.contains("libggml-cuda.so")
            && err.contains("skipped"),
        "{err}"
    );
}

#[test]
#[ignore = "needs the bundle from scripts/package.sh"]
fn no_cpu_plugin_is_a_clear_error_not_a_search_of_the_working_directory() {
    let b = relocated();
    for e in std::fs::read_dir(b.path()).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("libggml-cpu-") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let cwd = tempfile::tempdir().unwrap();
    let marker = cwd.path().join("LOADED");
    planted_plugin(cwd.path(), "libggml-cpu-planted.so", &marker);
    inferno_in(b.path(), cwd.path())
        .args(["run", "-m", model(GEMMA).to_str().unwrap(), "-p", "Hi"])
        .run()
        .fails(5, "no ggml backend plugin");
    assert!(!marker.exists());
}
