//! The synthetic-model generator (examples/synth.rs, built by `cargo test`): its output is a
//! valid GGUF of the requested shape that llama.cpp loads and runs, and is reproducible.

mod common;

use common::*;

#[test]
fn tiny_synthetic_model_has_its_shape_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("tiny.gguf");
    synth_tiny(&m, &[]);
    let size = std::fs::metadata(&m).unwrap().len();
    assert!(size < 4 << 20, "a few MB: {size}");
    let info: serde_json::Value = serde_json::from_str(
        &Inferno::new()
            .args(["info", "--json", "-m", m.to_str().unwrap()])
            .run()
            .ok(),
    )
    .unwrap();
    let f = &info["model"];
    assert_eq!(f["architecture"], "llama");
    assert!(f["name"].as_str().unwrap().contains("synthetic"));
    assert_eq!(f["file_type"], "Q4_K_M");
    assert_eq!(
        (
            f["layers"].as_u64(),
            f["embedding_length"].as_u64(),
            f["feed_forward_length"].as_u64()
        ),
        (Some(2), Some(256), Some(768))
    );
    assert_eq!(
        (
            f["heads"].as_u64(),
            f["kv_heads"].as_u64(),
            f["vocab_size"].as_u64()
        ),
        (Some(4), Some(2), Some(1024))
    );
    assert_eq!(f["tokenizer"], "llama");
    let types: Vec<&str> = f["quantization"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"Q4_K") && types.contains(&"Q6_K"),
        "Q4_K_M mix: {types:?}"
    );

    let run: serde_json::Value = serde_json::from_str(
        &Inferno::new()
            .args([
                "run",
                "-m",
                m.to_str().unwrap(),
                "--temp",
                "0",
                "-n",
                "8",
                "--ignore-eos",
                "--json",
                "-p",
                "hello",
            ])
            .run()
            .ok(),
    )
    .unwrap();
    assert_eq!(run["gen_tokens"], 8);
    assert_eq!(run["n_layers"], 3);
}

#[test]
fn the_same_seed_writes_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.gguf"),
        dir.path().join("b.gguf"),
        dir.path().join("c.gguf"),
    );
    synth_tiny(&a, &["--ftype", "f16"]);
    synth_tiny(&b, &["--ftype", "f16"]);
    synth_tiny(&c, &["--ftype", "f16", "--seed", "7"]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}
