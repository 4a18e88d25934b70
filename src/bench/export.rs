//! Renderers from benchmark results to bytes: Markdown (llama-bench's table), JSON, JSONL and
//! CSV. Pure functions; each is snapshot-tested.

use serde::Serialize;

use super::stats::{Summary, summarize};
use super::{BuildInfo, TestResult};
use crate::engine::logs::{Buffer, BufferKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
    Jsonl,
    Csv,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "md" | "markdown" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            "jsonl" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            _ => Err(format!("'{s}' is not one of md, json, jsonl, csv")),
        }
    }
}

pub fn render(format: Format, build: &BuildInfo, results: &[TestResult]) -> String {
    match format {
        Format::Markdown => markdown(results),
        Format::Json => json(build, results),
        Format::Jsonl => jsonl(build, results),
        Format::Csv => csv(build, results),
    }
}

/// One result with its statistics, as JSON/JSONL/CSV carry it (field names are stable).
#[derive(Debug, Serialize)]
struct Record<'a> {
    model_filename: &'a str,
    model_desc: &'a str,
    model_size: u64,
    model_n_params: u64,
    backend: &'a str,
    layers_offloaded: u32,
    n_layers: u32,
    test: String,
    n_prompt: u32,
    n_gen: u32,
    n_depth: u32,
    n_threads: u32,
    n_batch: u32,
    n_ubatch: u32,
    n_gpu_layers: u32,
    flash_attn: String,
    op_offload: bool,
    n_ctx: u32,
    test_time: u64,
    #[serde(flatten)]
    summary: Summary,
    samples_ns: &'a [u64],
    peak_rss_bytes: Option<u64>,
    memory: Vec<&'a Buffer>,
}

fn record(r: &TestResult) -> Record<'_> {
    Record {
        model_filename: &r.model.filename,
        model_desc: &r.model.desc,
        model_size: r.model.size_bytes,
        model_n_params: r.model.n_params,
        backend: &r.model.backend,
        layers_offloaded: r.model.layers_offloaded,
        n_layers: r.model.n_layers,
        test: r.spec.name(),
        n_prompt: r.spec.n_prompt,
        n_gen: r.spec.n_gen,
        n_depth: r.spec.n_depth,
        n_threads: r.spec.threads,
        n_batch: r.spec.n_batch,
        n_ubatch: r.spec.n_ubatch,
        n_gpu_layers: r.spec.gpu_layers,
        flash_attn: r.spec.flash_attn.to_string(),
        op_offload: r.spec.op_offload,
        n_ctx: r.spec.context(),
        test_time: r.started_at,
        summary: summarize(r),
        samples_ns: &r.samples_ns,
        peak_rss_bytes: r.peak_rss_bytes,
        memory: r
            .model
            .model_buffers
            .iter()
            .chain(&r.context_buffers)
            .collect(),
    }
}

pub fn json(build: &BuildInfo, results: &[TestResult]) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        build: &'a BuildInfo,
        results: Vec<Record<'a>>,
    }
    let doc = Doc {
        build,
        results: results.iter().map(record).collect(),
    };
    serde_json::to_string_pretty(&doc).expect("serializable") + "\n"
}

/// One object per line; each carries the build fields so lines stand alone.
pub fn jsonl(build: &BuildInfo, results: &[TestResult]) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        build: &'a BuildInfo,
        #[serde(flatten)]
        record: Record<'a>,
    }
    results
        .iter()
        .map(|r| {
            serde_json::to_string(&Line {
                build,
                record: record(r),
            })
            .expect("serializable")
                + "\n"
        })
        .collect()
}

const CSV_COLUMNS: &[&str] = &[
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

fn sum_kind(buffers: &[&Buffer], kind: BufferKind) -> u64 {
    buffers
        .iter()
        .filter(|b| b.kind == kind)
        .map(|b| b.bytes)
        .sum()
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

fn size(bytes: u64) -> String {
    let gib = bytes as f64 / (1u64 << 30) as f64;
    if gib >= 1.0 {
        format!("{gib:.2} GiB")
    } else {
        format!("{:.2} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

fn params(n: u64) -> String {
    if n >= 1_000_000_000 {
        format!("{:.2} B", n as f64 / 1e9)
    } else {
        format!("{:.2} M", n as f64 / 1e6)
    }
}

/// A Markdown table; `right` columns are right-aligned, widths fit the longest cell.
fn table(headers: &[(&str, bool)], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, (h, _))| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([h.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let pad = |s: &str, w: usize, right: bool| {
        let n = w.saturating_sub(s.chars().count());
        if right {
            format!("{}{s}", " ".repeat(n))
        } else {
            format!("{s}{}", " ".repeat(n))
        }
    };
    let mut out = line(
        headers
            .iter()
            .zip(&widths)
            .map(|((h, r), &w)| pad(h, w, *r))
            .collect(),
    );
    out.push_str(&line(
        headers
            .iter()
            .zip(&widths)
            .map(|((_, r), &w)| {
                if *r {
                    format!("{}:", "-".repeat(w - 1))
                } else {
                    "-".repeat(w)
                }
            })
            .collect(),
    ));
    for row in rows {
        out.push_str(&line(
            row.iter()
                .zip(headers.iter().zip(&widths))
                .map(|(c, ((_, r), &w))| pad(c, w, *r))
                .collect(),
        ));
    }
    out
}

/// llama-bench's table (model, size, params, backend, ngl, threads, test, t/s; batch, ubatch
/// and flash-attention columns when they vary or differ from the defaults), then a table of
/// what inferno adds: time to first token, totals, memory.
pub fn markdown(results: &[TestResult]) -> String {
    if results.is_empty() {
        return String::new();
    }
    let varies = |f: &dyn Fn(&TestResult) -> String, default: &str| {
        let first = f(&results[0]);
        results.iter().any(|r| f(r) != first) || first != default
    };
    let show_ngl = results
        .iter()
        .any(|r| r.model.backend != "CPU" || r.spec.gpu_layers > 0 && r.model.layers_offloaded > 0);
    let show_batch = varies(&|r| r.spec.n_batch.to_string(), "512");
    let show_ubatch = varies(&|r| r.spec.n_ubatch.to_string(), "512");
    let show_fa = varies(&|r| r.spec.flash_attn.to_string(), "auto");

    let mut headers: Vec<(&str, bool)> = vec![
        ("model", false),
        ("size", true),
        ("params", true),
        ("backend", false),
    ];
    if show_ngl {
        headers.push(("ngl", true));
    }
    headers.push(("threads", true));
    if show_batch {
        headers.push(("n_batch", true));
    }
    if show_ubatch {
        headers.push(("n_ubatch", true));
    }
    if show_fa {
        headers.push(("fa", true));
    }
    headers.extend([("test", true), ("t/s", true)]);
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let s = summarize(r);
            let mut row = vec![
                r.model.desc.clone(),
                size(r.model.size_bytes),
                params(r.model.n_params),
                r.model.backend.clone(),
            ];
            if show_ngl {
                row.push(r.spec.gpu_layers.min(r.model.n_layers).to_string());
            }
            row.push(r.spec.threads.to_string());
            if show_batch {
                row.push(r.spec.n_batch.to_string());
            }
            if show_ubatch {
                row.push(r.spec.n_ubatch.to_string());
            }
            if show_fa {
                row.push(r.spec.flash_attn.to_string());
            }
            row.push(r.spec.name());
            row.push(format!("{:.2} ± {:.2}", s.avg_ts, s.stddev_ts));
            row
        })
        .collect();
    let mut out = table(&headers, &rows);

    let mib = |b: u64| format!("{:.2}", b as f64 / (1u64 << 20) as f64);
    let detail_rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let rec = record(r);
            let s = &rec.summary;
            vec![
                r.spec.name(),
                s.ttft_ms.map_or("-".into(), |t| {
                    format!("{t:.2} ± {:.2}", s.ttft_stddev_ms.unwrap_or(0.0))
                }),
                s.total_tokens.to_string(),
                format!("{:.3}", s.total_s),
                format!("{:.2}", s.throughput_ts),
                format!("{:.3}", s.ms_per_token),
                mib(sum_kind(&rec.memory, BufferKind::Model)),
                mib(sum_kind(&rec.memory, BufferKind::Kv)),
                mib(sum_kind(&rec.memory, BufferKind::Compute)),
                r.peak_rss_bytes.map_or("-".into(), mib),
            ]
        })
        .collect();
    out.push('\n');
    out.push_str(&table(
        &[
            ("test", false),
            ("ttft ms", true),
            ("tokens", true),
            ("total s", true),
            ("t/s overall", true),
            ("ms/token", true),
            ("model MiB", true),
            ("KV MiB", true),
            ("compute MiB", true),
            ("peak RSS MiB", true),
        ],
        &detail_rows,
    ));
    out
}

#[cfg(test)]
mod tests {
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
        insta::assert_snapshot!(markdown(&r));
    }

    #[test]
    fn json_snapshot() {
        let (b, r) = results();
        let text = json(&b, &r);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        // 512 tokens in 2.56 s, 2.60 s, 2.54 s: the mean of the three rates.
        let want = (512.0 / 2.56 + 512.0 / 2.6 + 512.0 / 2.54) / 3.0;
        assert!((v["results"][0]["avg_ts"].as_f64().unwrap() - want).abs() < 1e-3);
        insta::assert_snapshot!(text);
    }

    #[test]
    fn jsonl_snapshot() {
        let (b, r) = results();
        let text = jsonl(&b, &r);
        assert_eq!(text.lines().count(), 3);
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["build"]["inferno_version"], "0.1.0");
        }
        insta::assert_snapshot!(text);
    }

    #[test]
    fn csv_snapshot() {
        let (b, r) = results();
        let text = csv(&b, &r);
        let header = text.lines().next().unwrap();
        for line in text.lines().skip(1) {
            // The CPU name holds a comma and is quoted; every row has all columns.
            assert!(line.contains("\"Test CPU, 2 cores\""));
        }
        assert_eq!(header.split(',').count(), CSV_COLUMNS.len());
        insta::assert_snapshot!(text);
    }
}
