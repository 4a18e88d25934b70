//! CSV (RFC 4180), one row per result with llama-bench's column names where they exist.

use super::{record, sum_kind};
use crate::bench::{BuildInfo, TestResult};
use crate::engine::logs::BufferKind;

pub(super) const CSV_COLUMNS: &[&str] = &[
    "inferno_version",
    "llama_cpp_version",
    "ggml_version",
    "build_backends",
    "cpu",
    "gpus",
    "model_filename",
    "model_desc",
    "model_size",
    "model_n_params",
    "backend",
    "layers_offloaded",
    "n_layers",
    "test",
    "n_prompt",
    "n_gen",
    "n_depth",
    "n_threads",
    "n_batch",
    "n_ubatch",
    "n_gpu_layers",
    "flash_attn",
    "n_ctx",
    "test_time",
    "avg_ns",
    "stddev_ns",
    "avg_ts",
    "stddev_ts",
    "ttft_ms",
    "ttft_stddev_ms",
    "total_tokens",
    "total_s",
    "throughput_ts",
    "ms_per_token",
    "peak_rss_bytes",
    "model_bytes",
    "kv_bytes",
    "compute_bytes",
    "samples_ns",
    "samples_ts",
];

/// RFC 4180: quote fields holding a comma, quote or newline.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn csv(build: &BuildInfo, results: &[TestResult]) -> String {
    let mut out = CSV_COLUMNS.join(",") + "\n";
    for r in results {
        let rec = record(r);
        let s = &rec.summary;
        let opt = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v:.3}"));
        let fields: Vec<String> = vec![
            build.inferno_version.clone(),
            build.llama_cpp_version.clone(),
            build.ggml_version.clone(),
            build.backends.join(";"),
            build.cpu.clone(),
            build.gpus.join(";"),
            rec.model_filename.to_string(),
            rec.model_desc.to_string(),
            rec.model_size.to_string(),
            rec.model_n_params.to_string(),
            rec.backend.to_string(),
            rec.layers_offloaded.to_string(),
            rec.n_layers.to_string(),
            rec.test.clone(),
            rec.n_prompt.to_string(),
            rec.n_gen.to_string(),
            rec.n_depth.to_string(),
            rec.n_threads.to_string(),
            rec.n_batch.to_string(),
            rec.n_ubatch.to_string(),
            rec.n_gpu_layers.to_string(),
            rec.flash_attn.clone(),
            rec.n_ctx.to_string(),
            rec.test_time.to_string(),
            format!("{:.0}", s.avg_ns),
            format!("{:.0}", s.stddev_ns),
            format!("{:.6}", s.avg_ts),
            format!("{:.6}", s.stddev_ts),
            opt(s.ttft_ms),
            opt(s.ttft_stddev_ms),
            s.total_tokens.to_string(),
            format!("{:.6}", s.total_s),
            format!("{:.6}", s.throughput_ts),
            format!("{:.6}", s.ms_per_token),
            rec.peak_rss_bytes.map_or(String::new(), |b| b.to_string()),
            sum_kind(&rec.memory, BufferKind::Model).to_string(),
            sum_kind(&rec.memory, BufferKind::Kv).to_string(),
            sum_kind(&rec.memory, BufferKind::Compute).to_string(),
            rec.samples_ns
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(";"),
            s.samples_ts
                .iter()
                .map(|t| format!("{t:.6}"))
                .collect::<Vec<_>>()
                .join(";"),
        ];
        out.push_str(
            &fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}
