//! Snapshot tests of every format on one fixed set of results.

use super::csv::CSV_COLUMNS;
use super::*;
use crate::bench::{ModelDesc, TestSpec};
use crate::config::FlashAttn;

fn results() -> (BuildInfo, Vec<TestResult>) {
    let build = BuildInfo {
        inferno_version: "0.1.0".into(),
        llama_cpp_2_version: "0.1.160".into(),
        llama_cpp_version: "0.6.0-dev".into(),
        ggml_version: "0.26.0".into(),
        backends: vec!["CPU".into()],
        cpu: "Test CPU, 2 cores".into(),
        gpus: vec![],
    };
    let model = ModelDesc {
        filename: "test_models/qwen.gguf".into(),
        desc: "qwen2 0.5B Q4_K - Medium".into(),
        size_bytes: 391_866_368,
        n_params: 494_032_768,
        backend: "CPU".into(),
        layers_offloaded: 0,
        n_layers: 25,
        model_buffers: vec![Buffer {
            device: "CPU_Mapped".into(),
            kind: BufferKind::Model,
            bytes: 485_448_745,
        }],
    };
    let spec = |p, g| TestSpec {
        model: "test_models/qwen.gguf".into(),
        n_prompt: p,
        n_gen: g,
        n_depth: 0,
        threads: 2,
        n_batch: 512,
        n_ubatch: 512,
        gpu_layers: 0,
        flash_attn: FlashAttn::Auto,
        op_offload: true,
        n_ctx: 0,
    };
    let ctx = vec![
        Buffer {
            device: "CPU".into(),
            kind: BufferKind::Kv,
            bytes: 6_291_456,
        },
        Buffer {
            device: "CPU".into(),
            kind: BufferKind::Compute,
            bytes: 300_000_000,
        },
    ];
    let r = |spec: TestSpec, samples: Vec<u64>, ttft: Vec<u64>| TestResult {
        spec,
        model: model.clone(),
        samples_ns: samples,
        ttft_ns: ttft,
        context_buffers: ctx.clone(),
        peak_rss_bytes: Some(900 << 20),
        started_at: 1_764_000_000,
    };
    (
        build,
        vec![
            r(
                spec(512, 0),
                vec![2_560_000_000, 2_600_000_000, 2_540_000_000],
                vec![],
            ),
            r(
                spec(0, 128),
                vec![4_266_666_667, 4_300_000_000, 4_250_000_000],
                vec![],
            ),
            r(
                spec(64, 16),
                vec![900_000_000, 910_000_000, 905_000_000],
                vec![350_000_000, 352_000_000, 349_000_000],
            ),
        ],
    )
}

#[test]
fn markdown_snapshot() {
    let (_, r) = results();
    insta::assert_snapshot!(markdown::markdown(&r));
}

#[test]
fn json_snapshot() {
    let (b, r) = results();
    let text = json::json(&b, &r);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    // 512 tokens in 2.56 s, 2.60 s, 2.54 s: the mean of the three rates.
    let want = (512.0 / 2.56 + 512.0 / 2.6 + 512.0 / 2.54) / 3.0;
    assert!((v["results"][0]["avg_ts"].as_f64().unwrap() - want).abs() < 1e-3);
    insta::assert_snapshot!(text);
}

#[test]
fn jsonl_snapshot() {
    let (b, r) = results();
    let text = json::jsonl(&b, &r);
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["build"]["inferno_version"], "0.1.0");
    }
    insta::assert_snapshot!(text);
}

/// Read back with a real CSV parser: every row has every column, and quoted fields (the CPU
/// name holds a comma) come back whole.
#[test]
fn csv_snapshot() {
    let (b, r) = results();
    let text = csv::csv(&b, &r);
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, CSV_COLUMNS);
    let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), r.len());
    let col = |name: &str| CSV_COLUMNS.iter().position(|c| *c == name).unwrap();
    for (row, result) in rows.iter().zip(&r) {
        assert_eq!(row.len(), CSV_COLUMNS.len());
        assert_eq!(&row[col("cpu")], "Test CPU, 2 cores");
        assert_eq!(row[col("test")], result.spec.name());
        let samples: Vec<u64> = row[col("samples_ns")]
            .split(';')
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(samples, result.samples_ns);
    }
    insta::assert_snapshot!(text);
}
