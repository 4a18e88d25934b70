//! Bad input gets a one-line message naming the problem and the fix, and a documented exit
//! code; never a panic or a backtrace.

mod common;

use common::*;

fn run_with_model(path: &str) -> Run {
    Inferno::new()
        .args(["run", "-m", path, "-p", "hi", "-n", "1"])
        .run()
}

#[test]
fn model_file_problems_exit_4() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_with_model(d.join("nope.gguf").to_str().unwrap()).fails(4, "does not exist");
    run_with_model(d.to_str().unwrap()).fails(4, "is a directory");
    std::fs::write(d.join("empty.gguf"), b"").unwrap();
    run_with_model(d.join("empty.gguf").to_str().unwrap()).fails(4, "is empty");
    std::fs::write(d.join("text.gguf"), b"hello, I am a text file\n").unwrap();
    run_with_model(d.join("text.gguf").to_str().unwrap()).fails(4, "not a GGUF file");
    let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0];
    std::fs::write(d.join("img.gguf"), png).unwrap();
    run_with_model(d.join("img.gguf").to_str().unwrap()).fails(4, "bytes 89 50 4e 47");
    // A real model cut in half: the header is intact, the tensor data is not.
    let real = std::fs::read(model(GEMMA)).unwrap();
    std::fs::write(d.join("half.gguf"), &real[..real.len() / 2]).unwrap();
    run_with_model(d.join("half.gguf").to_str().unwrap()).fails(4, "damaged");
}

#[test]
fn bad_gguf_version_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v9.gguf");
    let mut bytes = b"GGUF".to_vec();
    bytes.extend_from_slice(&9u32.to_le_bytes());
    bytes.extend_from_slice(&[0u8; 16]);
    std::fs::write(&p, bytes).unwrap();
    run_with_model(p.to_str().unwrap()).fails(4, "unsupported GGUF version 9");
}

#[test]
fn bad_flag_values_exit_2() {
    let m = model(GEMMA);
    let m = m.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--temp", "-1"], "--temp"),
        (&["--top-p", "1.5"], "--top-p"),
        (&["--min-p", "-0.1"], "--min-p"),
        (&["-t", "0"], "--threads"),
        (&["-c", "lots"], "--context-size"),
        (&["-b", "0"], "--batch-size"),
        (&["-n", "0"], "--max-tokens"),
        (&["--ubatch-size", "1024"], "--ubatch-size"),
        (&["--repeat-penalty", "0"], "--repeat-penalty"),
    ];
    for (args, needle) in cases {
        Inferno::new()
            .args(["run", "-m", m, "-p", "hi"])
            .args(*args)
            .run()
            .fails(2, needle);
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = Inferno::new().args(["run", "--bogus"]).run();
    assert_eq!(out.code(), 2);
    assert!(out.stderr().contains("--bogus"));
    // No model anywhere.
    Inferno::new()
        .args(["run", "-p", "hi"])
        .run()
        .fails(2, "-m/--model");
    // Conflicting flags.
    let m = model(GEMMA);
    let out = Inferno::new()
        .args(["run", "-m", m.to_str().unwrap(), "-p", "a", "-f", "b"])
        .run();
    assert_eq!(out.code(), 2, "{}", out.stderr());
}

#[test]
fn prompt_problems_exit_6() {
    let m = model(GEMMA);
    let m = m.to_str().unwrap();
    Inferno::new()
        .args(["run", "-m", m, "-p", ""])
        .run()
        .fails(6, "prompt is empty");
    Inferno::new()
        .args(["run", "-m", m, "-p", " \n\t "])
        .run()
        .fails(6, "only whitespace");
    Inferno::new()
        .args(["run", "-m", m])
        .run_stdin(b"")
        .fails(6, "prompt is empty");
    Inferno::new()
        .args(["run", "-m", m])
        .run_stdin(b"caf\xe9 au lait\n")
        .fails(6, "not valid UTF-8 (bad byte at offset 3)");
    Inferno::new()
        .args(["run", "-m", m, "-f", "/nonexistent/q.txt"])
        .run()
        .fails(6, "/nonexistent/q.txt");
}

#[test]
fn help_and_version_succeed_on_stdout() {
    let out = Inferno::new().args(["--help"]).run();
    assert_eq!(out.code(), 0);
    assert!(out.stdout().contains("run"));
    let out = Inferno::new().args(["--version"]).run();
    assert_eq!(out.code(), 0);
    assert!(out.stdout().starts_with("inferno "));
}

/// README.md's exit-code table lists exactly the codes of `Exit` (plus 0): every documented
/// code exists, and every code exists in the table.
#[test]
fn readme_documents_the_exit_codes() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Exit codes")
        .nth(1)
        .expect("an Exit codes section")
        .split("\n## ")
        .next()
        .unwrap();
    let mut documented: Vec<i32> = section
        .lines()
        .filter_map(|l| {
            l.strip_prefix("| ")?
                .split(" |")
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .collect();
    documented.sort();
    let mut codes: Vec<i32> = inferno::error::Exit::ALL.iter().map(|e| e.code()).collect();
    codes.push(0);
    codes.sort();
    assert_eq!(documented, codes);
}
