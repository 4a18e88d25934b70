//! `inferno info`: the machine, this build, its compute devices and the resolved settings
//! ([`machine`]); with `--model`, what the model is (read from the GGUF header, weights
//! untouched) and whether it fits ([`model`]). Human-readable sections by default, one JSON
//! object with `--json`.

mod machine;
mod model;

use std::fmt::Write as _;

use super::{Global, check_gguf, model_layer, one_model, settings};
use crate::cli::InfoArgs;
use crate::output;

pub async fn info(args: InfoArgs, global: &Global) -> anyhow::Result<()> {
    one_model(&args.model)?;
    let settings = settings(global, model_layer(&args.model))?;
    super::warn_plugins()?;
    // With -m the model is described; the configured default_model alone does not switch.
    let text = match args.model.model.first() {
        Some(path) => {
            let header = check_gguf(path)?;
            let report = model::report(&path.display().to_string(), &header, &settings, args.all)?;
            if args.json {
                serde_json::to_string_pretty(&report)? + "\n"
            } else {
                model::render(&report)
            }
        }
        None => {
            let report = machine::report(settings)?;
            if args.json {
                serde_json::to_string_pretty(&report)? + "\n"
            } else {
                machine::render(&report)
            }
        }
    };
    output::stdout(&text)?;
    Ok(())
}

/// One `  key              value` line of a text section.
fn row(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "  {key:<16} {value}");
}

/// A value, or `-` when absent.
fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_string(), T::to_string)
}
