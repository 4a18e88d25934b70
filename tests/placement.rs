//! `--gpu-layers auto` and `-c 0` on this (CPU) machine: the decision is reported, a context
//! of 0 becomes the largest that fits (up to the trained size), bad values are refused. The
//! GPU side (layers chosen against free memory, compared with llama.cpp's own fitter) is
//! measured on the GPU machine: benches/README.md, "Auto placement".

mod common;

use common::*;

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[test]
fn context_zero_takes_the_trained_context_when_it_fits() {
    let r = run_on(QWEN)
        .args(["-c", "0", "--temp", "0", "-n", "4", "--json", "-p", "hi"])
        .run();
    let j = json(&r.ok());
    // Qwen2.5-Coder-0.5B is trained on 32768 tokens: about 400 MiB of KV cache fits here.
    assert_eq!(j["context_size"], 32768);
    assert!(
        r.stderr().contains("context: 32768 tokens fit (-c 0)"),
        "{}",
        r.stderr()
    );
}

#[test]
fn auto_without_a_gpu_is_zero_layers_and_reported() {
    let r = run_on(QWEN)
        .args([
            "--gpu-layers",
            "auto",
            "--temp",
            "0",
            "-n",
            "4",
            "--json",
            "-p",
            "hi",
        ])
        .run();
    let j = json(&r.ok());
    assert_eq!(j["gpu_layers_offloaded"], 0);
    let p = &j["placement"];
    assert_eq!(p["layers"], 0);
    assert_eq!(p["total"], 25);
    assert_eq!(p["devices"], serde_json::json!([]));
    assert_eq!(p["allocated_gpu_bytes"], 0);
    // The same text as an explicit 0.
    let zero = json(
        &run_on(QWEN)
            .args([
                "--gpu-layers",
                "0",
                "--temp",
                "0",
                "-n",
                "4",
                "--json",
                "-p",
                "hi",
            ])
            .run()
            .ok(),
    );
    assert_eq!(j["text"], zero["text"]);
    assert!(
        zero.get("placement").is_none(),
        "an exact number is not a decision"
    );
}

#[test]
fn bad_values_are_refused() {
    run_on(QWEN)
        .args(["--gpu-layers", "most", "-p", "hi"])
        .run()
        .fails(2, "'most' is not a number of layers or 'auto'");
    Inferno::new()
        .args(["run", "-m", model(QWEN).to_str().unwrap(), "-p", "hi"])
        .env("INFERNO_GPU_LAYERS", "lots")
        .run()
        .fails(3, "INFERNO_GPU_LAYERS");
}
