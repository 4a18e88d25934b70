//! `inferno run` flags.

use std::path::PathBuf;

use clap::Args;
use const_format::formatcp;

use super::ModelArgs;
use crate::config::defaults::text as default;

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

    /// Many prompts from FILE ("-": stdin), one per line (text, or a JSON object with "prompt"
    /// or "messages" and per-line settings); results as JSON lines in input order
    #[arg(long, value_name = "FILE", conflicts_with_all = ["prompt", "file", "json"])]
    pub batch: Option<PathBuf>,

    #[arg(long, value_name = "N", requires = "batch", help = formatcp!(
        "With --batch: prompts processed at once, sharing each decode step [default {}]",
        default::PARALLEL
    ))]
    pub parallel: Option<u32>,

    #[command(flatten)]
    pub sampling: SamplingArgs,

    #[command(flatten)]
    pub spec: super::SpecArgs,
}

/// Sampling flags (run, and later the server's defaults).
#[derive(Debug, Args, Clone, Default)]
pub struct SamplingArgs {
    #[arg(long, value_name = "T", help = formatcp!(
        "Sampling temperature; 0 = greedy [config: sampling.temp, default {}]",
        default::TEMP
    ))]
    pub temp: Option<f32>,

    #[arg(long, value_name = "K", help = formatcp!(
        "Top-k sampling; 0 = off [config: sampling.top_k, default {}]",
        default::TOP_K
    ))]
    pub top_k: Option<i32>,

    #[arg(long, value_name = "P", help = formatcp!(
        "Top-p (nucleus) sampling [config: sampling.top_p, default {}]",
        default::TOP_P
    ))]
    pub top_p: Option<f32>,

    #[arg(long, value_name = "P", help = formatcp!(
        "Min-p sampling [config: sampling.min_p, default {}]",
        default::MIN_P
    ))]
    pub min_p: Option<f32>,

    #[arg(long, value_name = "X", help = formatcp!(
        "Repetition penalty; 1 = off [config: sampling.repeat_penalty, default {}]",
        default::REPEAT_PENALTY
    ))]
    pub repeat_penalty: Option<f32>,

    #[arg(long, value_name = "N", allow_hyphen_values = true, help = formatcp!(
        "Tokens considered by the repetition penalty; -1 = whole context [config: sampling.repeat_last_n, default {}]",
        default::REPEAT_LAST_N
    ))]
    pub repeat_last_n: Option<i32>,

    #[arg(long, value_name = "X", allow_hyphen_values = true, help = formatcp!(
        "Frequency penalty, -2 to 2: lowers tokens by how often they appeared [config: sampling.frequency_penalty, default {}]",
        default::FREQUENCY_PENALTY
    ))]
    pub frequency_penalty: Option<f32>,

    #[arg(long, value_name = "X", allow_hyphen_values = true, help = formatcp!(
        "Presence penalty, -2 to 2: lowers tokens that appeared at all [config: sampling.presence_penalty, default {}]",
        default::PRESENCE_PENALTY
    ))]
    pub presence_penalty: Option<f32>,

    /// Random seed; the same seed gives the same text (0 to 4294967294) [config: sampling.seed, default random]
    #[arg(short, long, value_name = "N")]
    pub seed: Option<u32>,
}
