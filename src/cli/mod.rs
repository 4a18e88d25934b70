//! The command line: clap types only, no behaviour. One file per subcommand's flags; defaults
//! shown in help texts come from [`crate::config::defaults`], never typed twice.

mod bench;
mod info;
mod run;
mod serve;
mod spec;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use const_format::formatcp;

pub use bench::BenchArgs;
pub use info::InfoArgs;
pub use run::{RunArgs, SamplingArgs};
pub use serve::ServeArgs;
pub use spec::SpecArgs;

use crate::config::FlashAttn;
use crate::config::defaults::text as default;

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
    /// Serve the model over an OpenAI-compatible HTTP API (continuous batching)
    Serve(ServeArgs),
    /// Serve one local device (CPU or a GPU) to `--rpc` clients through ggml's RPC server.
    /// No authentication: anyone who reaches the port can run code here; trusted networks only
    RpcWorker(RpcWorkerArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout
    Man,
}

/// Model and context settings shared by the commands that load a model.
#[derive(Debug, Args, Clone, Default)]
pub struct ModelArgs {
    /// GGUF model file; `serve` takes several (repeat -m) [config: default_model]
    #[arg(short, long, value_name = "PATH", action = clap::ArgAction::Append)]
    pub model: Vec<PathBuf>,

    #[arg(short = 'c', long, value_name = "N", help = formatcp!(
        "Context size in tokens; 0 = the largest that fits free memory, up to the trained size [config: backend_config.context_size, default {}]",
        default::CONTEXT_SIZE
    ))]
    pub context_size: Option<u32>,

    #[arg(short = 'b', long, value_name = "N", help = formatcp!(
        "Logical batch size for prompt evaluation [config: backend_config.batch_size, default {}]",
        default::BATCH_SIZE
    ))]
    pub batch_size: Option<u32>,

    #[arg(long, value_name = "N", help = formatcp!(
        "Physical batch size [config: backend_config.ubatch_size, default min(batch, {})]",
        default::UBATCH_SIZE
    ))]
    pub ubatch_size: Option<u32>,

    /// CPU threads [config: backend_config.threads, default: physical cores]
    #[arg(short, long, value_name = "N")]
    pub threads: Option<u32>,

    /// Layers to offload to the GPU: a number (0 = weights on the CPU) or auto, as many as fit
    /// the GPUs' free memory [config: backend_config.gpu_layers, default: auto with a GPU backend]
    #[arg(long, value_name = "N|auto")]
    pub gpu_layers: Option<crate::config::GpuLayers>,

    /// GPU margin, several GPUs, RPC workers
    #[command(flatten)]
    pub devices: DeviceArgs,

    /// Do not use the GPU [config: backend_config.gpu_enabled = false]
    #[arg(long, conflicts_with = "gpu_layers")]
    pub no_gpu: bool,

    #[arg(long, value_name = "WHEN", help = formatcp!(
        "Flash attention: auto, on, off [config: backend_config.flash_attn, default {}]",
        crate::config::defaults::FLASH_ATTN.name()
    ))]
    pub flash_attn: Option<FlashAttn>,
}

/// The command definition, for completion scripts and the man page.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// `inferno rpc-worker` flags.
#[derive(Debug, Args)]
pub struct RpcWorkerArgs {
    /// Address to listen on; only this machine by default (any other address lets anyone who
    /// reaches it run code here)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub host: String,

    /// Port to listen on
    #[arg(long, value_name = "PORT", default_value_t = 50052)]
    pub port: u16,

    /// The device to serve, by name (CPU, CUDA0, ...; `inferno info` lists them) [default: the
    /// first GPU, else the CPU]
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,

    /// CPU threads (for the CPU device) [default: physical cores]
    #[arg(short, long, value_name = "N")]
    pub threads: Option<u32>,

    /// Keep received weights in this directory, so a client that sends the same model again
    /// sends only hashes
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
}

/// Where a model's layers may go: shared by the commands that load models and by `bench`.
#[derive(Debug, Args, Clone, Default)]
pub struct DeviceArgs {
    #[arg(long, value_name = "MIB", help = formatcp!(
        "MiB --gpu-layers auto leaves free on each GPU [config: backend_config.gpu_margin, default {}]",
        default::GPU_MARGIN_MIB
    ))]
    pub gpu_margin: Option<u64>,

    /// Several GPUs: none (one GPU, --main-gpu), layer (whole layers per GPU), row (each
    /// matrix split by rows) [config: backend_config.split_mode, default layer]
    #[arg(long, value_name = "MODE", value_parser = crate::config::parse_split_mode)]
    pub split_mode: Option<crate::engine::SplitMode>,

    /// Share of the model per GPU (and RPC device), in device order, e.g. 3,1 [config:
    /// backend_config.tensor_split, default: in proportion to free memory]
    #[arg(long, value_name = "A,B,...")]
    pub tensor_split: Option<crate::config::Shares>,

    /// The GPU for --split-mode none (and row's intermediate results) [config: backend_config.main_gpu, default 0]
    #[arg(long, value_name = "N")]
    pub main_gpu: Option<u32>,

    /// Keep CPU weights unrepacked, as weights sent over RPC are (llama.cpp's --no-repack)
    /// [config: backend_config.no_repack]
    #[arg(long)]
    pub no_repack: bool,

    /// RPC workers whose devices join the local ones (inferno rpc-worker; trusted networks
    /// only) [config: backend_config.rpc]
    #[arg(long, value_name = "HOST:PORT,...", value_delimiter = ',')]
    pub rpc: Vec<String>,
}
