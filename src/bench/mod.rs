//! `inferno bench`: throughput measurement with llama-bench's method, split like hyperfine:
//! [`plan`] turns parameter lists into test instances, [`runner`] measures them, [`stats`]
//! summarizes samples and [`export`] renders results; the last two are pure functions.

pub mod export;
pub mod parallel;
pub mod plan;
pub mod runner;
pub mod speculative;
pub mod stats;

use std::path::PathBuf;

use serde::Serialize;

use crate::config::FlashAttn;
use crate::engine::logs::Buffer;

/// One test instance: a model, its parameters and the work to time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestSpec {
    pub model: PathBuf,
    pub n_prompt: u32,
    pub n_gen: u32,
    pub n_depth: u32,
    pub threads: u32,
    pub n_batch: u32,
    pub n_ubatch: u32,
    pub gpu_layers: u32,
    pub flash_attn: FlashAttn,
    /// Whether llama.cpp may run batched work on a GPU for CPU-resident weights (off when the
    /// GPU is disabled in the configuration).
    pub op_offload: bool,
    /// Context size; 0 means prompt + generation + depth, as llama-bench sizes it.
    pub n_ctx: u32,
}

impl TestSpec {
    /// llama-bench's test name: `pp512`, `tg128`, `pp512+tg128`, with ` @ d1024` for depth.
    pub fn name(&self) -> String {
        let mut name = match (self.n_prompt, self.n_gen) {
            (p, 0) => format!("pp{p}"),
            (0, g) => format!("tg{g}"),
            (p, g) => format!("pp{p}+tg{g}"),
        };
        if self.n_depth > 0 {
            name.push_str(&format!(" @ d{}", self.n_depth));
        }
        name
    }

    pub fn tokens(&self) -> u64 {
        u64::from(self.n_prompt) + u64::from(self.n_gen)
    }

    pub fn context(&self) -> u32 {
        if self.n_ctx > 0 {
            self.n_ctx
        } else {
            (self.n_prompt + self.n_gen + self.n_depth).max(1)
        }
    }
}

/// What the table says about a model (llama.cpp's own description and counts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelDesc {
    pub filename: String,
    /// llama.cpp's `llama_model_desc`, e.g. `gemma3 270M Q4_K - Medium`.
    pub desc: String,
    pub size_bytes: u64,
    pub n_params: u64,
    /// Backends holding the weights, e.g. `CPU` or `CUDA`.
    pub backend: String,
    pub layers_offloaded: u32,
    pub n_layers: u32,
    /// Weight buffers per device.
    pub model_buffers: Vec<Buffer>,
}

/// Measurements of one test instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestResult {
    pub spec: TestSpec,
    pub model: ModelDesc,
    /// Wall time of each repetition, in nanoseconds.
    pub samples_ns: Vec<u64>,
    /// For tests with a prompt and generation: time until the prompt's logits (the first
    /// token) were ready, per repetition.
    pub ttft_ns: Vec<u64>,
    /// KV cache and compute buffers of the test's context.
    pub context_buffers: Vec<Buffer>,
    /// Peak resident memory of the process when the test finished.
    pub peak_rss_bytes: Option<u64>,
    /// Unix time (seconds) when the test started.
    pub started_at: u64,
}

/// The build and machine a run happened on (JSON/CSV carry it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildInfo {
    pub inferno_version: String,
    pub llama_cpp_2_version: String,
    pub llama_cpp_version: String,
    pub ggml_version: String,
    pub backends: Vec<String>,
    pub cpu: String,
    pub gpus: Vec<String>,
}
