//! `inferno bench` flags.

use std::path::PathBuf;

use clap::Args;
use const_format::formatcp;

use crate::config::defaults::text as default;

/// Every list takes comma-separated values or ranges (`1-8`, `8-32+8`, `16-128*2`), and may be
/// repeated; every combination runs.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// GGUF model file(s) [config: default_model]
    #[arg(short, long, value_name = "PATH")]
    pub model: Vec<PathBuf>,

    #[arg(short = 'p', long, value_name = "LIST", help = formatcp!(
        "Prompt lengths to time (pp tests) [default: {}]",
        default::BENCH_PROMPT
    ))]
    pub n_prompt: Vec<String>,

    #[arg(short = 'n', long, value_name = "LIST", help = formatcp!(
        "Generation lengths to time (tg tests) [default: {}]",
        default::BENCH_GEN
    ))]
    pub n_gen: Vec<String>,

    /// Prompt then generation in one test, e.g. 512,128 (repeatable)
    #[arg(long, value_name = "P,G")]
    pub pg: Vec<String>,

    /// Tokens already in the KV cache before each run (untimed) [default: 0]
    #[arg(short = 'd', long, value_name = "LIST")]
    pub depth: Vec<String>,

    /// Timed runs per test, after one warm-up run
    #[arg(short = 'r', long, value_name = "N", default_value = default::BENCH_REPETITIONS)]
    pub repetitions: u32,

    /// CPU threads [default: config backend_config.threads]
    #[arg(short, long, value_name = "LIST")]
    pub threads: Vec<String>,

    /// Logical batch sizes [default: config backend_config.batch_size]
    #[arg(short = 'b', long, value_name = "LIST")]
    pub batch_size: Vec<String>,

    /// Physical batch sizes [default: config backend_config.ubatch_size]
    #[arg(long, value_name = "LIST")]
    pub ubatch_size: Vec<String>,

    /// GPU margin, several GPUs, RPC workers
    #[command(flatten)]
    pub devices: super::DeviceArgs,

    /// Layers on the GPU: numbers, or auto (as many as fit) [default: from gpu_enabled/gpu_layers in config]
    #[arg(long, visible_alias = "ngl", value_name = "LIST")]
    pub gpu_layers: Vec<String>,

    /// Flash attention: auto, on, off (comma list) [default: config backend_config.flash_attn]
    #[arg(long, value_name = "LIST")]
    pub flash_attn: Vec<String>,

    /// Context sizes [default: each test's prompt + generation + depth, as llama-bench]
    #[arg(short = 'c', long, value_name = "LIST")]
    pub context_size: Vec<String>,

    /// Output format on stdout: md, json, jsonl, csv
    #[arg(short, long, value_name = "FORMAT", default_value = "md")]
    pub output: crate::bench::export::Format,

    /// Skip the warm-up run of each test
    #[arg(long)]
    pub no_warmup: bool,

    /// Batched decoding instead (llama-batched-bench's method): sequences at once, e.g.
    /// 1,2,4,8; with -p/-n as each sequence's prompt and generation lengths
    #[arg(long, value_name = "LIST")]
    pub parallel: Vec<String>,

    /// Plain against speculative greedy generation on built-in real prompts (code, edits,
    /// JSON, prose), side by side; -n is the length per prompt
    #[command(flatten)]
    pub spec: super::SpecArgs,
}
