//! The command line (clap only: no behaviour here).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::FlashAttn;

#[derive(Debug, Parser)]
#[command(
    name = "inferno",
    version,
    about = "Run GGUF language models locally through llama.cpp",
    long_about = "Run GGUF language models locally through llama.cpp.\n\n\
        Generated text goes to stdout; logs, progress and statistics go to stderr.",
    propagate_version = true
)]
pub struct Cli {
    /// Read settings from this file instead of ./.inferno.toml [env: INFERNO_CONFIG]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// More output on stderr: llama.cpp's log, timings (-vv: debug detail)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate text from a prompt (argument, file or stdin)
    #[command(allow_negative_numbers = true)]
    Run(RunArgs),
    /// Measure prompt processing and generation speed (llama-bench's method)
    Bench(BenchArgs),
    /// Show the machine, this build, compute devices and settings; with -m, a model's facts
    Info(InfoArgs),
}

/// Model and context settings shared by the commands that load a model.
#[derive(Debug, Args, Clone, Default)]
pub struct ModelArgs {
    /// GGUF model file [config: default_model]
    #[arg(short, long, value_name = "PATH")]
    pub model: Option<PathBuf>,

    /// Context size in tokens [config: backend_config.context_size, default 2048]
    #[arg(short = 'c', long, value_name = "N")]
    pub context_size: Option<u32>,

    /// Logical batch size for prompt evaluation [config: backend_config.batch_size, default 512]
    #[arg(short = 'b', long, value_name = "N")]
    pub batch_size: Option<u32>,

    /// Physical batch size [config: backend_config.ubatch_size, default min(batch, 512)]
    #[arg(long, value_name = "N")]
    pub ubatch_size: Option<u32>,

    /// CPU threads [config: backend_config.threads, default: physical cores]
    #[arg(short, long, value_name = "N")]
    pub threads: Option<u32>,

    /// Layers to offload to the GPU (overrides gpu_enabled; 0 = CPU only)
    #[arg(long, value_name = "N")]
    pub gpu_layers: Option<u32>,

    /// Do not use the GPU [config: backend_config.gpu_enabled = false]
    #[arg(long, conflicts_with = "gpu_layers")]
    pub no_gpu: bool,

    /// Flash attention: auto, on, off [config: backend_config.flash_attn, default auto]
    #[arg(long, value_name = "WHEN")]
    pub flash_attn: Option<FlashAttn>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub model: ModelArgs,

    /// The prompt; "-" reads stdin. Without -p/-f the prompt is read from stdin when it is not a terminal
    #[arg(short, long, value_name = "TEXT", conflicts_with = "file")]
    pub prompt: Option<String>,

    /// Read the prompt from a file
    #[arg(short, long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// Maximum tokens to generate (-1: until end of generation or a full context)
    #[arg(short = 'n', long, value_name = "N", allow_hyphen_values = true)]
    pub max_tokens: Option<i64>,

    /// Raw completion: do not apply the model's chat template
    #[arg(long)]
    pub raw: bool,

    /// System message for chat models (ignored with --raw)
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,

    /// Stop before this text (repeatable); it is not printed
    #[arg(long, value_name = "TEXT")]
    pub stop: Vec<String>,

    /// Print one JSON object with the text, stop reason and measured timings instead of streaming text
    #[arg(long)]
    pub json: bool,

    /// Never stop at an end-of-generation token (they are never sampled): fixed-length output
    #[arg(long)]
    pub ignore_eos: bool,

    /// Sampling temperature; 0 = greedy [config: sampling.temp, default 0.8]
    #[arg(long, value_name = "T")]
    pub temp: Option<f32>,

    /// Top-k sampling; 0 = off [config: sampling.top_k, default 40]
    #[arg(long, value_name = "K")]
    pub top_k: Option<i32>,

    /// Top-p (nucleus) sampling [config: sampling.top_p, default 0.95]
    #[arg(long, value_name = "P")]
    pub top_p: Option<f32>,

    /// Min-p sampling [config: sampling.min_p, default 0.05]
    #[arg(long, value_name = "P")]
    pub min_p: Option<f32>,

    /// Repetition penalty; 1 = off [config: sampling.repeat_penalty, default 1.0]
    #[arg(long, value_name = "X")]
    pub repeat_penalty: Option<f32>,

    /// Tokens considered by the repetition penalty; -1 = whole context [config: sampling.repeat_last_n, default 64]
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub repeat_last_n: Option<i32>,

    /// Random seed; the same seed gives the same text [config: sampling.seed, default random]
    #[arg(short, long, value_name = "N")]
    pub seed: Option<u32>,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Model settings; with -m PATH the model is described (read from its header, not loaded)
    #[command(flatten)]
    pub model: ModelArgs,

    /// With -m: list every metadata key and value (arrays summarized)
    #[arg(long)]
    pub all: bool,

    /// One JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

/// Every list takes comma-separated values or ranges (`1-8`, `8-32+8`, `16-128*2`), and may be
/// repeated; every combination runs.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// GGUF model file(s) [config: default_model]
    #[arg(short, long, value_name = "PATH")]
    pub model: Vec<PathBuf>,

    /// Prompt lengths to time (pp tests) [default: 512]
    #[arg(short = 'p', long, value_name = "LIST")]
    pub n_prompt: Vec<String>,

    /// Generation lengths to time (tg tests) [default: 128]
    #[arg(short = 'n', long, value_name = "LIST")]
    pub n_gen: Vec<String>,

    /// Prompt then generation in one test, e.g. 512,128 (repeatable)
    #[arg(long, value_name = "P,G")]
    pub pg: Vec<String>,

    /// Tokens already in the KV cache before each run (untimed) [default: 0]
    #[arg(short = 'd', long, value_name = "LIST")]
    pub depth: Vec<String>,

    /// Timed runs per test, after one warm-up run
    #[arg(short = 'r', long, value_name = "N", default_value_t = 5)]
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

    /// Layers on the GPU [default: from gpu_enabled/gpu_layers in config]
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
}
