//! `inferno run`: generate text from a prompt and stream it to stdout, or chat interactively
//! when no prompt is given and stdin is a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use super::session::Session;
use super::{
    Global, batch, chat, context_options, load, model_file, model_layer, one_model, prompt,
    sampling_layer, settings, speculative,
};
use crate::cli::RunArgs;
use crate::config::defaults;
use crate::engine::{self, Event, StopReason};
use crate::error::{Exit, fail};
use crate::output::{self, Written};
use crate::report;

pub async fn run(args: RunArgs, global: &Global) -> anyhow::Result<()> {
    one_model(&args.model)?;
    let mut flags = model_layer(&args.model);
    flags.sampling = Some(sampling_layer(&args.sampling));
    flags.speculative = speculative::spec_layer(&args.spec);
    let settings = settings(global, flags)?;
    let (path, header) = model_file(&settings)?;
    let slots = match args.batch {
        Some(_) => args.parallel.unwrap_or(defaults::PARALLEL),
        None => 1,
    };
    let (settings, placement) = super::place(&path, &header, &settings, slots, true)?;
    let draft = speculative::check_draft(&header, &settings)?;
    if args.batch.is_some() && settings.speculative.enabled() {
        return Err(fail(
            Exit::Usage,
            "--batch shares each decode step among prompts and does not draft; drop --draft-model/--lookup, or run prompts one at a time",
        ));
    }
    let max_tokens = max_tokens(args.max_tokens)?;
    let interactive = args.prompt.is_none()
        && args.file.is_none()
        && args.batch.is_none()
        && std::io::stdin().is_terminal();
    if interactive && args.json {
        return Err(fail(
            Exit::Usage,
            "--json needs a prompt: pass -p TEXT, -f FILE or pipe stdin",
        ));
    }
    let interrupts = global.interrupts.clone();
    // Read the prompt before the (slow) load, so a bad prompt fails fast.
    let text = if interactive || args.batch.is_some() {
        None
    } else {
        let source = prompt::Source::from_flags(args.prompt.as_deref(), args.file.as_deref());
        Some(prompt::read(source, &interrupts).await?)
    };

    let model = load(&path, &header, &settings, interrupts.flag()).await?;
    let spec = speculative::setup(draft, &settings, interrupts.flag()).await?;
    let use_chat = !args.raw && model.chat.is_some();
    if global.verbose > 0 {
        let how = match (&model.chat, use_chat) {
            (Some(f), true) => format!(
                "chat template {} (\"{}\")",
                f.name.as_deref().unwrap_or("unrecognized"),
                f.first_line
            ),
            (Some(_), false) => "raw completion (--raw)".into(),
            (None, _) => "raw completion (the model has no chat template)".into(),
        };
        output::message(&format!("prompt format: {how}"));
    }
    let session = Session {
        model,
        settings,
        use_chat,
        system: args.system.clone(),
        stop: args.stop.clone(),
        max_tokens,
        ignore_eos: args.ignore_eos,
        interrupts,
        spec,
        placement,
    };
    if let Some(file) = &args.batch {
        let parallel = args.parallel.unwrap_or(defaults::PARALLEL);
        if parallel == 0 {
            return Err(fail(
                Exit::Usage,
                "invalid --parallel 0: must be at least 1",
            ));
        }
        return batch::run(&session, file, parallel).await;
    }
    match text {
        None => chat::interactive(&session).await,
        Some(text) => single(&session, text, args.json, global.verbose > 0).await,
    }
}

/// One prompt, one answer: streamed text (or one JSON object) on stdout.
async fn single(s: &Session, text: String, json: bool, verbose: bool) -> anyhow::Result<()> {
    let req = s.request(s.prompt(&[], &text));
    let ctx_opts = context_options(&s.settings);
    let (tx, mut rx) = mpsc::channel::<Event>(64);
    let cancel = s.interrupts.flag();
    let (model, task_req, spec) = (Arc::clone(&s.model), req.clone(), s.spec.clone());
    let task = tokio::task::spawn_blocking(move || {
        engine::complete_once(model, &ctx_opts, spec.as_ref(), &task_req, tx, &cancel)
    });

    let mut collected = String::new();
    let mut closed = false;
    while let Some(event) = rx.recv().await {
        let Event::Text(piece) = event else { continue };
        if !json && !closed && output::stdout(&piece)? == Written::Closed {
            // Nobody reads any more: stop generating, end quietly with success.
            closed = true;
            s.interrupts.flag().store(true, Ordering::SeqCst);
        }
        collected.push_str(&piece);
    }
    let result = task.await?;
    if closed {
        return Ok(());
    }
    let signal = s.interrupts.exit();
    let stats = match (result, signal) {
        (Ok(stats), _) => stats,
        // Interrupted before any text (during prompt evaluation): nothing to flush.
        (Err(_), Some(exit)) => return Err(fail(exit, "")),
        (Err(e), None) => return Err(e),
    };
    let report = report::run_report(collected, &s.facts(req.seed), &stats);
    let out = if json {
        serde_json::to_string(&report)? + "\n"
    } else {
        "\n".to_string()
    };
    if output::stdout(&out)? == Written::Closed {
        return Ok(());
    }
    if stats.stop_reason == StopReason::ContextFull {
        output::message(&format!(
            "stopped: the context is full ({} tokens); raise -c/--context-size for longer output",
            stats.n_ctx
        ));
    }
    if verbose {
        eprint!("\n{}", report::verbose_block(&report));
    }
    match signal {
        // The partial text is flushed; the exit code says it was cut short.
        Some(exit) => Err(fail(exit, "")),
        None => Ok(()),
    }
}

fn max_tokens(n: Option<i64>) -> anyhow::Result<Option<u32>> {
    match n {
        None | Some(-1) => Ok(None),
        Some(n) if n >= 1 && n <= i64::from(u32::MAX) => Ok(Some(n as u32)),
        Some(n) => Err(fail(
            Exit::Usage,
            format!("invalid -n/--max-tokens {n}: must be at least 1, or -1 for no limit"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_tokens_range() {
        assert_eq!(max_tokens(None).unwrap(), None);
        assert_eq!(max_tokens(Some(-1)).unwrap(), None);
        assert_eq!(max_tokens(Some(5)).unwrap(), Some(5));
        assert!(max_tokens(Some(0)).is_err());
        assert!(max_tokens(Some(-2)).is_err());
    }
}
