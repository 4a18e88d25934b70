//! llama-bench's Markdown table, then a table of what inferno adds.

use super::{record, sum_kind};
use crate::bench::TestResult;
use crate::bench::stats::summarize;
use crate::config::defaults;
use crate::engine::logs::BufferKind;
use crate::units;

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
    let show_batch = varies(&|r| r.spec.n_batch.to_string(), defaults::text::BATCH_SIZE);
    let show_ubatch = varies(
        &|r| r.spec.n_ubatch.to_string(),
        defaults::text::UBATCH_SIZE,
    );
    let default_fa = defaults::FLASH_ATTN.to_string();
    let show_fa = varies(&|r| r.spec.flash_attn.to_string(), &default_fa);

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
                units::bytes(r.model.size_bytes),
                units::count(r.model.n_params),
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

    let mib = |b: u64| format!("{:.2}", units::mib(b));
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
