//! Speculative decoding for the commands: the flags layer, the draft model (checked against
//! the target's vocabulary before its weights are loaded), and the figures a report shows.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::{check_gguf, check_semantics, model_options};
use crate::cli::SpecArgs;
use crate::config::{Settings, SpeculativeLayer};
use crate::engine::speculative::{SpecOptions, SpecSetup};
use crate::engine::{self, LoadedModel};
use crate::error::{Exit, fail};
use crate::gguf::{self, GgufFile};

pub fn spec_layer(a: &SpecArgs) -> Option<SpeculativeLayer> {
    Some(SpeculativeLayer {
        draft_model: a.draft_model.clone(),
        draft_max: a.draft_max,
        draft_min: a.draft_min,
        draft_p_min: a.draft_p_min,
        draft_gpu_layers: a.draft_gpu_layers,
        lookup: a.lookup.then_some(true),
        lookup_ngram: a.lookup_ngram,
        adaptive: a.draft_fixed.then_some(false),
    })
}

/// The engine's options for the settings.
pub fn options(s: &Settings) -> SpecOptions {
    let sp = &s.speculative;
    SpecOptions {
        draft_max: sp.draft_max as usize,
        draft_min: sp.draft_min as usize,
        p_min: sp.draft_p_min,
        lookup_ngram: sp.lookup.then_some(sp.lookup_ngram as usize),
        adaptive: sp.adaptive,
    }
}

/// Check the draft model against the target before anything is loaded (fast failure).
pub fn check_draft(target: &GgufFile, s: &Settings) -> anyhow::Result<Option<GgufFile>> {
    let Some(path) = &s.speculative.draft_model else {
        return Ok(None);
    };
    let header = check_gguf(path).map_err(|e| {
        fail(
            crate::error::exit_of(&e),
            format!("draft model (--draft-model): {e}"),
        )
    })?;
    if !s.skip_model_checks {
        check_semantics(path, &header)?;
    }
    gguf::compat::same_vocabulary(target, &header).map_err(|why| {
        fail(
            Exit::Usage,
            format!(
                "draft model {} cannot draft for {}: {why}; use a draft from the same model family (same tokenizer)",
                path.display(),
                s.model.as_deref().map_or("the model".into(), |m| m.display().to_string())
            ),
        )
    })?;
    Ok(Some(header))
}

/// Load the draft (on the calling, blocking thread) and bundle it with the options; `None`
/// when speculation is off.
pub fn setup_blocking(
    draft: Option<(&Path, &GgufFile)>,
    s: &Settings,
    cancel: Arc<AtomicBool>,
) -> anyhow::Result<Option<SpecSetup>> {
    if !s.speculative.enabled() {
        return Ok(None);
    }
    let draft = match draft {
        None => None,
        Some((path, header)) => {
            let mut opts = model_options(header, s);
            if let Some(n) = s.speculative.draft_gpu_layers {
                opts.gpu_layers = n;
            }
            Some(Arc::new(engine::load_model(path, &opts, cancel, |_| {})?) as Arc<LoadedModel>)
        }
    };
    Ok(Some(SpecSetup {
        opts: options(s),
        draft,
    }))
}

/// Load the draft checked by [`check_draft`], for a command on the async side.
pub async fn setup(
    header: Option<GgufFile>,
    s: &Settings,
    cancel: Arc<AtomicBool>,
) -> anyhow::Result<Option<SpecSetup>> {
    let s2 = s.clone();
    tokio::task::spawn_blocking(move || {
        let path = s2.speculative.draft_model.clone();
        let draft = path.as_deref().zip(header.as_ref());
        setup_blocking(draft, &s2, cancel)
    })
    .await?
}
