//! The interactive session of `inferno run` (no prompt, stdin a terminal).
//!
//! Line editing and history come from rustyline. The conversation stays in one llama.cpp
//! context: each turn renders the whole conversation through the chat template, and the engine
//! evaluates only the tokens the cache does not already hold. When the context would
//! overflow, the oldest turns are dropped (the system message stays) and the user is told;
//! `/clear` starts over. Models without a chat template complete each input as raw text.
//!
//! Ctrl-C while a reply streams stops that reply and returns to the prompt; Ctrl-C at the
//! prompt, or a second Ctrl-C during a reply, exits with 130. Ctrl-D or `/bye` exits with 0.

use std::sync::Arc;

use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use rustyline::history::History as _;
use tokio::sync::mpsc;

use super::context_options;
use super::session::Session;
use crate::engine::template::{Message, Role};
use crate::engine::{self, ChatCommand, Event, StopReason};
use crate::error::{Exit, fail};
use crate::output::{self, Written};

const HELP: &str = "\
commands:
  /help     this help
  /clear    forget the conversation
  /bye      quit (Ctrl-D works too)
  \"\"\"       start or end multi-line input
Ctrl-C stops a reply; Ctrl-C at the prompt quits.";

/// Room kept free for the reply when older turns have to be dropped.
const REPLY_ROOM: usize = 256;

enum Input {
    Line(String),
    Eof,
    Interrupted,
}

pub async fn interactive(s: &Session) -> anyhow::Result<()> {
    let name = s
        .model
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let ctx_opts = context_options(&s.settings);
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel::<ChatCommand>();
    let (ev_tx, mut ev_rx) = mpsc::channel::<Event>(64);
    let cancel = s.interrupts.flag();
    let model = Arc::clone(&s.model);
    let spec = s.spec.clone();
    let mut worker = Some(tokio::task::spawn_blocking(move || {
        engine::chat_worker(model, &ctx_opts, spec.as_ref(), cmd_rx, ev_tx, &cancel)
    }));
    // The worker says Ready once its context exists; if it cannot create one, its error ends
    // the session before the first prompt.
    if !matches!(ev_rx.recv().await, Some(Event::Ready)) {
        return Err(worker_failure(worker.take()).await);
    }
    if s.use_chat {
        output::message(&format!(
            "chatting with {name}. /help for commands, /bye or Ctrl-D to quit."
        ));
    } else {
        output::message(&format!(
            "{name} has no chat template (or --raw): each input is completed as raw text, without history. /bye or Ctrl-D to quit."
        ));
    }

    let mut lines: Vec<String> = Vec::new();
    let mut history: Vec<Message> = Vec::new();
    let outcome = loop {
        let (kept, input) = read_input(lines).await?;
        lines = kept;
        let text = match input {
            Input::Eof => break Ok(()),
            Input::Interrupted => break Err(fail(Exit::Interrupted, "")),
            Input::Line(t) => t,
        };
        match text.trim() {
            "" => continue,
            "/bye" | "/exit" | "/quit" => break Ok(()),
            "/help" | "/?" => {
                eprintln!("{HELP}");
                continue;
            }
            "/clear" => {
                history.clear();
                let _ = cmd_tx.send(ChatCommand::Clear);
                output::message("conversation cleared");
                continue;
            }
            t if t.starts_with('/') && !t.contains(' ') => {
                output::message(&format!("unknown command {t}; /help lists them"));
                continue;
            }
            _ => {}
        }
        if s.use_chat {
            match fit_history(s, &mut history, &text) {
                Ok(0) => {}
                Ok(dropped) => output::message(&format!(
                    "context full: dropped the {dropped} oldest message(s) of the conversation"
                )),
                Err(e) => {
                    output::message(&format!("{e:#}"));
                    continue;
                }
            }
        } else {
            // Raw completion: each input stands alone.
            let _ = cmd_tx.send(ChatCommand::Clear);
        }
        let req = s.request(s.prompt(&history, &text));
        if cmd_tx.send(ChatCommand::Turn(req)).is_err() {
            break Err(worker_failure(worker.take()).await);
        }
        let mut reply = String::new();
        let result = loop {
            match ev_rx.recv().await {
                Some(Event::Text(piece)) => {
                    if output::stdout(&piece)? == Written::Closed {
                        s.interrupts
                            .flag()
                            .store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    reply.push_str(&piece);
                }
                Some(Event::TurnEnd(result)) => break Some(result),
                Some(Event::Ready) => {}
                None => break None,
            }
        };
        // The worker ended (it could not create its context): its error is the session's.
        let Some(result) = result else {
            break Err(worker_failure(worker.take()).await);
        };
        output::stdout("\n")?;
        match result {
            Ok(stats) => {
                if s.use_chat {
                    history.push(Message::new(Role::User, text));
                    history.push(Message::new(Role::Assistant, reply));
                }
                if stats.stop_reason == StopReason::ContextFull {
                    output::message(
                        "context full: the reply was cut; the oldest turns will be dropped next time, or /clear",
                    );
                }
            }
            Err(e) if s.interrupts.is_set() => {
                // Stopped during prompt evaluation: nothing was said.
                drop(e);
            }
            Err(e) => output::message(&format!("{e:#}")),
        }
        if s.interrupts.is_set() {
            // Ctrl-C stopped this reply only.
            s.interrupts.reset();
        }
    };
    drop(cmd_tx);
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    outcome
}

/// Why the chat worker ended early: its own error, with its exit code.
async fn worker_failure(worker: Option<Worker>) -> anyhow::Error {
    match worker {
        Some(w) => match w.await {
            Ok(Err(e)) => e,
            Ok(Ok(())) => fail(Exit::Internal, "the generation thread ended unexpectedly"),
            Err(e) => fail(Exit::Internal, format!("the generation thread failed: {e}")),
        },
        None => fail(Exit::Internal, "the generation thread ended unexpectedly"),
    }
}

type Worker = tokio::task::JoinHandle<anyhow::Result<()>>;

/// Read one input (several lines between `"""` markers) on a blocking thread, with the
/// line history of the session.
///
/// The editor exists only while reading: rustyline replaces the SIGINT handler for the
/// lifetime of an editor (and its signal-hook mode stalls on pasted text), so a long-lived
/// editor would swallow the Ctrl-C meant to stop a reply.
async fn read_input(history: Vec<String>) -> anyhow::Result<(Vec<String>, Input)> {
    tokio::task::spawn_blocking(move || {
        let mut editor = DefaultEditor::new()
            .map_err(|e| fail(Exit::Internal, format!("cannot start line editing: {e}")))?;
        for line in &history {
            let _ = editor.add_history_entry(line.as_str());
        }
        let input = read_lines(&mut editor)?;
        let h = editor.history();
        let history = (0..h.len()).map(|i| h[i].clone()).collect();
        Ok((history, input))
    })
    .await
    .map_err(|e| fail(Exit::Internal, format!("input thread failed: {e}")))?
}

fn read_lines(editor: &mut DefaultEditor) -> anyhow::Result<Input> {
    let first = match readline(editor, ">>> ")? {
        Some(Ok(line)) => line,
        Some(Err(end)) => return Ok(end),
        None => return Ok(Input::Eof),
    };
    let Some(rest) = first.trim_start().strip_prefix("\"\"\"") else {
        let _ = editor.add_history_entry(first.as_str());
        return Ok(Input::Line(first));
    };
    // Multi-line: until a line ending with """ (the opening line may already close it).
    let mut text = rest.to_string();
    if let Some(done) = text.trim_end().strip_suffix("\"\"\"") {
        let done = done.to_string();
        let _ = editor.add_history_entry(first.as_str());
        return Ok(Input::Line(done));
    }
    loop {
        let line = match readline(editor, "... ")? {
            Some(Ok(line)) => line,
            Some(Err(end)) => return Ok(end),
            None => return Ok(Input::Eof),
        };
        if let Some(last) = line.trim_end().strip_suffix("\"\"\"") {
            if !text.is_empty() || !last.is_empty() {
                text.push('\n');
            }
            text.push_str(last);
            let _ = editor.add_history_entry(format!("\"\"\"{text}\"\"\"").as_str());
            return Ok(Input::Line(text.trim_start_matches('\n').to_string()));
        }
        text.push('\n');
        text.push_str(&line);
    }
}

/// `Some(Ok(line))`, `Some(Err(Interrupted))` on Ctrl-C, `None` on Ctrl-D.
fn readline(
    editor: &mut DefaultEditor,
    prompt: &str,
) -> anyhow::Result<Option<Result<String, Input>>> {
    match editor.readline(prompt) {
        Ok(line) => Ok(Some(Ok(line))),
        Err(ReadlineError::Interrupted) => Ok(Some(Err(Input::Interrupted))),
        Err(ReadlineError::Eof) => Ok(None),
        Err(e) => Err(fail(Exit::Internal, format!("cannot read input: {e}"))),
    }
}

/// Drop the oldest messages until the conversation plus the new input leaves room for a
/// reply. Returns how many messages were dropped; an input that cannot fit even alone is an
/// error for this turn.
fn fit_history(s: &Session, history: &mut Vec<Message>, input: &str) -> anyhow::Result<usize> {
    let n_ctx = s.settings.backend.context_size as usize;
    let room = REPLY_ROOM.min(n_ctx / 4);
    let mut dropped = 0;
    loop {
        let tokens = s.model.tokenize(&s.prompt(history, input))?.len();
        if tokens + room <= n_ctx {
            return Ok(dropped);
        }
        if history.is_empty() {
            return Err(fail(
                Exit::Prompt,
                format!(
                    "this message is {tokens} tokens; with room for a reply it does not fit the {n_ctx}-token context (raise -c/--context-size)"
                ),
            ));
        }
        // Drop a whole exchange (user + assistant) so roles keep alternating.
        let n = history.len().min(2);
        history.drain(..n);
        dropped += n;
    }
}
