//! `inferno info`: machine facts, and model facts read from the GGUF header, in both forms.
//! Snapshots mask what varies per machine (paths, free memory).

mod common;

use common::*;

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// Replace the checkout path and free-memory figures, which differ per machine.
fn mask(text: &str) -> String {
    let root = root().display().to_string();
    text.replace(&root, "<root>")
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("CPU ")
                && (l.contains("fits") || l.contains("does not fit"))
            {
                "  CPU              <fit on this machine>".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn mask_json(mut v: serde_json::Value) -> serde_json::Value {
    v["model"]["path"] = "<model>".into();
    for f in v["memory"]["fit"].as_array_mut().unwrap() {
        f["free_bytes"] = 0.into();
        f["fits"] = "<machine>".into();
        f["layers_that_fit"] = "<machine>".into();
    }
    v
}

#[test]
fn machine_sections_and_json() {
    let out = Inferno::new().args(["info"]).run().ok();
    for section in [
        "System\n",
        "\nBuild\n",
        "\nDevices\n",
        "\nGPU offload\n",
        "\nConfiguration\n",
    ] {
        assert!(out.contains(section), "{section:?} in {out}");
    }
    assert!(
        out.contains("this build has no GPU backend"),
        "a CPU build says why offload is off: {out}"
    );
    let j = json(&Inferno::new().args(["info", "--json"]).run().ok());
    assert!(j["system"]["memory_total_bytes"].as_u64().unwrap() > 1 << 30);
    assert!(j["system"]["logical_cores"].as_u64().unwrap() >= 1);
    assert_eq!(j["build"]["backends"][0], "CPU");
    assert!(
        j["build"]["backend_features"][0]["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "SSE3" || f == "NEON")
    );
    assert_eq!(j["devices"][0]["type"], "cpu");
    assert_eq!(j["gpu_offload"]["enabled"], false);
    assert_eq!(j["config"]["settings"]["backend"]["context_size"], 2048);
    assert!(j["config"]["files"].as_array().unwrap().is_empty());
}

#[test]
fn config_files_are_listed_in_order() {
    let inf = Inferno::new();
    std::fs::create_dir_all(inf.dir().join("config/inferno")).unwrap();
    std::fs::write(
        inf.dir().join("config/inferno/config.toml"),
        "[backend_config]\nthreads = 1\n",
    )
    .unwrap();
    std::fs::write(
        inf.dir().join(".inferno.toml"),
        "[backend_config]\ncontext_size = 4096\n",
    )
    .unwrap();
    let j = json(&inf.args(["info", "--json"]).run().ok());
    let files: Vec<&str> = j["config"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 2);
    assert!(
        files[0].ends_with("config/inferno/config.toml") && files[1].ends_with(".inferno.toml"),
        "{files:?}"
    );
    assert_eq!(j["config"]["settings"]["backend"]["context_size"], 4096);
    assert_eq!(j["config"]["settings"]["backend"]["threads"], 1);
}

#[test]
fn gemma_facts() {
    let out = Inferno::new()
        .args(["info", "-m", model(GEMMA).to_str().unwrap()])
        .run()
        .ok();
    insta::assert_snapshot!("gemma_text", mask(&out));
    let j = json(
        &Inferno::new()
            .args(["info", "--json", "-m", model(GEMMA).to_str().unwrap()])
            .run()
            .ok(),
    );
    insta::assert_json_snapshot!("gemma_json", mask_json(j));
}

#[test]
fn qwen_facts() {
    let out = Inferno::new()
        .args(["info", "-m", model(QWEN).to_str().unwrap()])
        .run()
        .ok();
    insta::assert_snapshot!("qwen_text", mask(&out));
    let j = json(
        &Inferno::new()
            .args(["info", "--json", "-m", model(QWEN).to_str().unwrap()])
            .run()
            .ok(),
    );
    assert_eq!(j["model"]["chat_template"]["name"], "chatml");
    insta::assert_json_snapshot!("qwen_json", mask_json(j));
}

#[test]
fn all_lists_every_metadata_key() {
    let j = json(
        &Inferno::new()
            .args([
                "info",
                "--json",
                "--all",
                "-m",
                model(QWEN).to_str().unwrap(),
            ])
            .run()
            .ok(),
    );
    let meta = j["metadata"].as_array().unwrap();
    assert_eq!(
        meta.len() as u64,
        j["model"]["metadata_count"].as_u64().unwrap()
    );
    let tokens = meta
        .iter()
        .find(|m| m["key"] == "tokenizer.ggml.tokens")
        .unwrap();
    assert_eq!(tokens["type"], "array");
    assert!(
        tokens["value"]
            .as_str()
            .unwrap()
            .starts_with("[string; 151936]"),
        "{tokens}"
    );
    let text = Inferno::new()
        .args(["info", "--all", "-m", model(GEMMA).to_str().unwrap()])
        .run()
        .ok();
    assert!(
        text.contains("general.architecture (string) = \"gemma3\""),
        "{text}"
    );
}

#[test]
fn bad_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, "not a model").unwrap();
    Inferno::new()
        .args(["info", "-m", text.to_str().unwrap()])
        .run()
        .fails(4, "not a GGUF file");
    let real = std::fs::read(model(QWEN)).unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &real[..4096]).unwrap();
    Inferno::new()
        .args(["info", "-m", cut.to_str().unwrap()])
        .run()
        .fails(4, "damaged");
}
