//! `inferno serve`: settings and model checks here (a bad file or flag fails before anything
//! listens), then the server ([`crate::server`]) listens and loads the first model; the
//! others load on first use.
//!
//! The models: every `-m` and every `.gguf` in `--models-dir`; without `-m`, the config's
//! `[[models]]` entries; with none of these, `default_model`. Names are file stems (or the
//! entry's `name`) and must be unique.

use std::path::PathBuf;
use std::sync::Arc;

use super::{
    Global, check_gguf, context_options, model_layer, place, sampling_layer, settings, speculative,
};
use crate::cli::ServeArgs;
use crate::config::models::{ModelEntry, stem};
use crate::config::{Layer, ServerLayer, Settings};
use crate::engine::batch::BatchOptions;
use crate::error::{Exit, fail};
use crate::server::{self, Limits, ModelSpec, ServeOptions};

pub async fn serve(args: ServeArgs, global: &Global) -> anyhow::Result<()> {
    let mut flags: Layer = model_layer(&args.model);
    flags.sampling = Some(sampling_layer(&args.sampling));
    flags.server = Some(ServerLayer {
        host: args.host,
        port: args.port,
        parallel: args.parallel,
        api_key: args.api_key,
        cors_origins: (!args.cors_origins.is_empty()).then_some(args.cors_origins),
        max_queue: args.max_queue,
        body_limit: args.body_limit,
        request_timeout: args.request_timeout,
        shutdown_grace: None,
        keep_alive: args.keep_alive,
        max_loaded: args.max_loaded,
        max_memory: args.max_memory,
        models_dir: args.models_dir,
    });
    flags.speculative = speculative::spec_layer(&args.spec);
    let settings = settings(global, flags)?;
    let entries = model_entries(&args.model.model, &settings)?;
    let parallel = entries
        .first()
        .and_then(|e| e.parallel)
        .unwrap_or(settings.server.parallel);
    if settings.speculative.enabled() && (parallel != 1 || entries.len() > 1) {
        return Err(fail(
            Exit::Usage,
            format!(
                "--draft-model/--lookup need --parallel 1 and one model (now {} slots, {} models): with several requests sharing each step the spare compute drafting uses is taken (see README, Speculative decoding)",
                parallel,
                entries.len()
            ),
        ));
    }
    super::warn_plugins()?;
    let cancel = global.interrupts.flag();
    let mut models = Vec::new();
    for entry in &entries {
        models.push(model_spec(entry, &settings, &cancel)?);
    }
    let s = &settings.server;
    let opts = ServeOptions {
        server: s.clone(),
        sampling: settings.sampling.clone(),
        models,
        limits: Limits {
            max_loaded: s.max_loaded as usize,
            max_memory: s.max_memory,
            keep_alive: s.keep_alive,
        },
    };
    server::run(opts, global.interrupts.clone()).await
}

/// The models to offer, in order (the first answers requests without `model`).
fn model_entries(flag_models: &[PathBuf], s: &Settings) -> anyhow::Result<Vec<ModelEntry>> {
    let mut entries: Vec<ModelEntry> = flag_models
        .iter()
        .map(|p| ModelEntry {
            path: p.clone(),
            ..Default::default()
        })
        .collect();
    if entries.is_empty() {
        entries.extend(s.models.iter().cloned());
    }
    if let Some(dir) = &s.server.models_dir {
        let read = std::fs::read_dir(dir).map_err(|e| {
            fail(
                Exit::Usage,
                format!("cannot read --models-dir {}: {e}", dir.display()),
            )
        })?;
        let mut files: Vec<PathBuf> = read
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
            })
            .collect();
        if files.is_empty() {
            return Err(fail(
                Exit::Usage,
                format!("--models-dir {} has no .gguf files", dir.display()),
            ));
        }
        files.sort();
        entries.extend(files.into_iter().map(|path| ModelEntry {
            path,
            ..Default::default()
        }));
    }
    if entries.is_empty()
        && let Some(m) = &s.model
    {
        entries.push(ModelEntry {
            path: m.clone(),
            ..Default::default()
        });
    }
    if entries.is_empty() {
        return Err(fail(
            Exit::Usage,
            "no model given: pass -m/--model PATH (repeat for several), --models-dir DIR, [[models]] in .inferno.toml or default_model",
        ));
    }
    let mut seen: Vec<(String, &PathBuf)> = Vec::new();
    for e in &entries {
        let name = e.name();
        if let Some((_, other)) = seen.iter().find(|(n, _)| *n == name) {
            return Err(fail(
                Exit::Usage,
                format!(
                    "two models are named '{name}' ({} and {}); requests pick models by name, so give one a [[models]] name or rename the file",
                    other.display(),
                    e.path.display()
                ),
            ));
        }
        seen.push((name, &e.path));
    }
    Ok(entries)
}

/// One model's settings, checks, memory estimate and loader.
fn model_spec(
    entry: &ModelEntry,
    base: &Settings,
    cancel: &Arc<std::sync::atomic::AtomicBool>,
) -> anyhow::Result<ModelSpec> {
    let mut settings = base.clone();
    settings.model = Some(entry.path.clone());
    if let Some(c) = entry.context_size {
        settings.backend.context_size = c;
    }
    if let Some(p) = entry.parallel {
        settings.server.parallel = p;
    }
    if let Some(n) = entry.gpu_layers {
        // An exact number for this model, as --gpu-layers N is.
        settings.backend.gpu_layers = n;
        settings.backend.gpu_auto = false;
        settings.backend.gpu_enabled |= n > 0;
    }
    let path = entry.path.clone();
    let header = check_gguf(&path)?;
    if !settings.skip_model_checks {
        super::check_semantics(&path, &header)?;
    }
    // `-c 0` is decided here, once; `auto` layers again at each load (the memory free then).
    let slots = settings.server.parallel;
    let (settings, _) = place(&path, &header, &settings, slots, false)?;
    let draft = speculative::check_draft(&header, &settings)?;
    let facts = crate::modelinfo::facts(
        &path.display().to_string(),
        &header,
        crate::engine::template::template_name,
    );
    let estimate = crate::modelinfo::estimate(
        &header,
        &facts,
        u64::from(settings.backend.context_size).saturating_mul(u64::from(slots)),
        u64::from(settings.backend.ubatch_size),
    )
    .total_bytes;
    let batch = BatchOptions {
        context: context_options(&settings),
        slots: settings.server.parallel,
        spec: None,
        max_queue: settings.server.max_queue as usize,
    };
    let load = {
        let (path, settings, cancel) = (path.clone(), settings.clone(), Arc::clone(cancel));
        Arc::new(move || {
            let (settings, _) = place(&path, &header, &settings, slots, true)?;
            let model = super::load_blocking(&path, &header, &settings, cancel.clone())?;
            let draft_path = settings.speculative.draft_model.clone();
            let draft = draft_path.as_deref().zip(draft.as_ref());
            let spec = speculative::setup_blocking(draft, &settings, cancel.clone())?;
            Ok((model, spec))
        })
    };
    Ok(ModelSpec {
        name: entry.name.clone().unwrap_or_else(|| stem(&path)),
        path,
        facts,
        batch,
        estimate_bytes: estimate,
        uses_gpu: settings.backend.gpu_enabled
            && (settings.backend.gpu_auto || settings.backend.gpu_layers > 0),
        load,
    })
}
