//! Renderers from benchmark results to bytes, one per format as hyperfine lays them out:
//! [`markdown`] (llama-bench's table), [`json`] (JSON and JSONL) and [`csv`]. Pure functions;
//! each is snapshot-tested. [`Record`] is the one flat view of a result they all share.

mod csv;
mod json;
mod markdown;
#[cfg(test)]
mod tests;

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
        Format::Markdown => markdown::markdown(results),
        Format::Json => json::json(build, results),
        Format::Jsonl => json::jsonl(build, results),
        Format::Csv => csv::csv(build, results),
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

/// The bytes of every buffer of one kind (model, KV, compute), over all devices.
fn sum_kind(buffers: &[&Buffer], kind: BufferKind) -> u64 {
    buffers
        .iter()
        .filter(|b| b.kind == kind)
        .map(|b| b.bytes)
        .sum()
}
