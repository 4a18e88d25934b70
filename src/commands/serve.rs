//! `inferno serve`: settings and model checks here (a bad file or flag fails before anything
//! listens), then the server ([`crate::server`]) listens and loads the model.

use super::{
    Global, context_options, model_file, model_layer, preflight, sampling_layer, settings,
    speculative,
};
use crate::cli::ServeArgs;
use crate::config::{Layer, ServerLayer};
use crate::engine::batch::BatchOptions;
use crate::error::{Exit, fail};
use crate::server::{self, ServeOptions};

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
    });
    flags.speculative = speculative::spec_layer(&args.spec);
    let settings = settings(global, flags)?;
    let (path, header) = model_file(&settings)?;
    preflight_slots(&path, &header, &settings)?;
    let draft = speculative::check_draft(&header, &settings)?;
    if settings.speculative.enabled() && settings.server.parallel != 1 {
        return Err(fail(
            Exit::Usage,
            format!(
                "--draft-model/--lookup need --parallel 1 (now {}): with several requests sharing each step the spare compute drafting uses is taken (see README, Speculative decoding)",
                settings.server.parallel
            ),
        ));
    }
    super::warn_plugins()?;
    let batch = BatchOptions {
        context: context_options(&settings),
        slots: settings.server.parallel,
        spec: None,
        max_queue: settings.server.max_queue as usize,
    };
    let facts = crate::modelinfo::facts(
        &path.display().to_string(),
        &header,
        crate::engine::template::template_name,
    );
    let load = {
        let (path, settings, cancel) = (path.clone(), settings.clone(), global.interrupts.flag());
        Box::new(move || {
            let model = super::load_blocking(&path, &header, &settings, cancel.clone())?;
            let draft_path = settings.speculative.draft_model.clone();
            let draft = draft_path.as_deref().zip(draft.as_ref());
            let spec = speculative::setup_blocking(draft, &settings, cancel)?;
            Ok((model, spec))
        })
    };
    let opts = ServeOptions {
        facts,
        server: settings.server.clone(),
        sampling: settings.sampling.clone(),
        batch,
        model_path: path,
        load,
    };
    server::run(opts, global.interrupts.clone()).await
}

/// The memory check with the context the server allocates: every slot's.
fn preflight_slots(
    path: &std::path::Path,
    header: &crate::gguf::GgufFile,
    s: &crate::config::Settings,
) -> anyhow::Result<()> {
    let mut all = s.clone();
    all.backend.context_size = s.backend.context_size.saturating_mul(s.server.parallel);
    preflight(path, header, &all)
}
