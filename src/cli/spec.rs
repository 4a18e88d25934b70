//! Speculative decoding flags (run, bench, serve).

use std::path::PathBuf;

use clap::Args;
use const_format::formatcp;

use crate::config::defaults::text as default;

#[derive(Debug, Args, Clone, Default)]
pub struct SpecArgs {
    /// Draft model for speculative decoding: a smaller GGUF with the same vocabulary [config: speculative.draft_model]
    #[arg(long, value_name = "PATH")]
    pub draft_model: Option<PathBuf>,

    #[arg(long, value_name = "N", help = formatcp!(
        "Most tokens proposed per step [config: speculative.draft_max, default {}]",
        default::DRAFT_MAX
    ))]
    pub draft_max: Option<u32>,

    #[arg(long, value_name = "N", help = formatcp!(
        "Fewest drafted tokens worth verifying [config: speculative.draft_min, default {}]",
        default::DRAFT_MIN
    ))]
    pub draft_min: Option<u32>,

    #[arg(long, value_name = "P", help = formatcp!(
        "Stop drafting when the draft's best token is less likely than P [config: speculative.draft_p_min, default {}]",
        default::DRAFT_P_MIN
    ))]
    pub draft_p_min: Option<f32>,

    /// Draft model layers on the GPU [config: speculative.draft_gpu_layers, default: as the target]
    #[arg(long, value_name = "N")]
    pub draft_gpu_layers: Option<u32>,

    /// Prompt lookup: propose tokens that followed the same n-gram earlier in the prompt or output [config: speculative.lookup]
    #[arg(long)]
    pub lookup: bool,

    #[arg(long, value_name = "N", help = formatcp!(
        "Longest n-gram prompt lookup matches [config: speculative.lookup_ngram, default {}]",
        default::LOOKUP_NGRAM
    ))]
    pub lookup_ngram: Option<u32>,

    /// Always propose --draft-max tokens, even when measured costs say drafting does not pay [config: speculative.adaptive = false]
    #[arg(long)]
    pub draft_fixed: bool,
}
