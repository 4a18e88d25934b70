//! `inferno run`: generate text from a prompt and stream it to stdout, or chat interactively
//! when no prompt is given and stdin is a terminal.

use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use super::{Global, chat, context_options, load, model_file, model_layer, settings};
use crate::cli::RunArgs;
use crate::config::{SamplingLayer, Settings};
use crate::engine::chat::{Message, Role};
use crate::engine::{self, Event, GenerateRequest, LoadedModel, Prompt, StopReason};
use crate::error::{Exit, fail};
use crate::output::{self, Written};
use crate::report::{self, RunFacts};
use crate::signals::Interrupts;

pub async fn run(args: RunArgs, global: &Global) -> anyhow::Result<()> {
    let mut flags = model_layer(&args.model);
    flags.sampling = Some(SamplingLayer {
        temp: args.temp,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        repeat_penalty: args.repeat_penalty,
        repeat_last_n: args.repeat_last_n,
        seed: args.seed,
    });
    let settings = settings(global, flags)?;
    let (path, header) = model_file(&settings)?;
    super::preflight(&path, &header, &settings)?;
    let max_tokens = max_tokens(args.max_tokens)?;
    let interactive =
        args.prompt.is_none() && args.file.is_none() && std::io::stdin().is_terminal();
    if interactive && args.json {
        return Err(fail(
            Exit::Usage,
            "--json needs a prompt: pass -p TEXT, -f FILE or pipe stdin",
        ));
    }
    // Read the prompt before the (slow) load, so a bad prompt fails fast.
    let text = if interactive {
        None
    } else {
        Some(read_prompt(&args)?)
    };

    let interrupts = global.interrupts.clone();
    let model = load(&path, &settings, interrupts.flag()).await?;
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
    };
    match text {
        None => chat::interactive(&session).await,
        Some(text) => single(&session, text, args.json, global.verbose > 0).await,
    }
}

/// What a run needs after the model is loaded.
pub struct Session {
    pub model: Arc<LoadedModel>,
    pub settings: Settings,
    pub use_chat: bool,
    pub system: Option<String>,
    pub stop: Vec<String>,
    pub max_tokens: Option<u32>,
    pub ignore_eos: bool,
    pub interrupts: Interrupts,
}

impl Session {
    /// The prompt for one user input, with the system message when chatting.
    pub fn prompt(&self, history: &[Message], user: &str) -> Prompt {
        if !self.use_chat {
            return Prompt::Raw(user.to_string());
        }
        let mut messages = Vec::with_capacity(history.len() + 2);
        if let Some(system) = &self.system {
            messages.push(Message::new(Role::System, system.clone()));
        }
        messages.extend_from_slice(history);
        messages.push(Message::new(Role::User, user));
        Prompt::Chat(messages)
    }

    pub fn request(&self, prompt: Prompt) -> GenerateRequest {
        GenerateRequest {
            prompt,
            max_tokens: self.max_tokens,
            sampling: self.settings.sampling.clone(),
            seed: self.settings.sampling.seed.unwrap_or_else(random_seed),
            stop: self.stop.clone(),
            ignore_eos: self.ignore_eos,
        }
    }

    pub fn facts(&self, seed: u32) -> RunFacts<'_> {
        RunFacts {
            model: self.model.path.to_str().unwrap_or("?"),
            chat: self.use_chat,
            template: self
                .model
                .chat
                .as_ref()
                .filter(|_| self.use_chat)
                .and_then(|f| f.name.as_deref()),
            seed,
            load_ms: self.model.load_ms,
            offload: self.model.offload,
            model_buffers: &self.model.buffers,
            threads: self.settings.backend.threads,
            batch_size: self.settings.backend.batch_size,
        }
    }
}

/// One prompt, one answer: streamed text (or one JSON object) on stdout.
async fn single(s: &Session, text: String, json: bool, verbose: bool) -> anyhow::Result<()> {
    let req = s.request(s.prompt(&[], &text));
    let ctx_opts = context_options(&s.settings);
    let (tx, mut rx) = mpsc::channel::<Event>(64);
    let cancel = s.interrupts.flag();
    let (model, task_req) = (Arc::clone(&s.model), req.clone());
    let task = tokio::task::spawn_blocking(move || {
        engine::generate(model, &ctx_opts, &task_req, tx, &cancel)
    });

    let mut collected = String::new();
    let mut closed = false;
    while let Some(event) = rx.recv().await {
        let Event::Text(piece) = event else { continue };
        if json {
            collected.push_str(&piece);
        } else if !closed && output::stdout(&piece)? == Written::Closed {
            // Nobody reads any more: stop generating, end quietly with success.
            closed = true;
            s.interrupts.flag().store(true, Ordering::SeqCst);
        }
        if !json {
            collected.push_str(&piece);
        }
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

/// The prompt from -p, -f or stdin, with one trailing newline removed from files and stdin.
fn read_prompt(args: &RunArgs) -> anyhow::Result<String> {
    let text = match (&args.prompt, &args.file) {
        (Some(p), _) if p == "-" => read_stdin()?,
        (Some(p), _) => p.clone(),
        (None, Some(f)) => chomp(read_file(f)?),
        (None, None) => read_stdin()?,
    };
    if text.trim().is_empty() {
        return Err(fail(
            Exit::Prompt,
            "the prompt is empty (or only whitespace); give some text with -p, -f or stdin",
        ));
    }
    Ok(text)
}

fn read_stdin() -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| {
            fail(
                Exit::Prompt,
                format!("cannot read the prompt from stdin: {e}"),
            )
        })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        fail(
            Exit::Prompt,
            format!(
                "the prompt on stdin is not valid UTF-8 (bad byte at offset {}); convert it first, e.g. with iconv",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    Ok(chomp(text))
}

fn read_file(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).map_err(|e| {
        fail(
            Exit::Prompt,
            format!("cannot read prompt file {} (-f): {e}", path.display()),
        )
    })?;
    String::from_utf8(bytes).map_err(|e| {
        fail(
            Exit::Prompt,
            format!(
                "prompt file {} is not valid UTF-8 (bad byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Remove one trailing newline (`\n` or `\r\n`), as a shell's `$(...)` would.
fn chomp(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    s
}

/// A seed from the OS's randomness (std's hasher keys are seeded from it).
fn random_seed() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chomp_removes_one_newline() {
        assert_eq!(chomp("a\n\n".into()), "a\n");
        assert_eq!(chomp("a\r\n".into()), "a");
        assert_eq!(chomp("a".into()), "a");
    }

    #[test]
    fn max_tokens_range() {
        assert_eq!(max_tokens(None).unwrap(), None);
        assert_eq!(max_tokens(Some(-1)).unwrap(), None);
        assert_eq!(max_tokens(Some(5)).unwrap(), Some(5));
        assert!(max_tokens(Some(0)).is_err());
        assert!(max_tokens(Some(-2)).is_err());
    }
}
