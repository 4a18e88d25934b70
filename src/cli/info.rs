//! `inferno info` flags.

use clap::Args;

use super::ModelArgs;

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
