//! Running the engine on a blocking thread and streaming what it produces to the async side:
//! one complete generation ([`complete_once`]) or a chat session that keeps its context across
//! turns ([`chat_worker`]). Text goes over a tokio channel as it is produced.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::mpsc;

use super::context::ContextOptions;
use super::inference::Inference;
use super::model::LoadedModel;
use super::request::{GenerateRequest, GenerationStats};
use super::speculative::SpecSetup;

/// What the generating thread sends to the async side.
#[derive(Debug)]
pub enum Event {
    /// A chat session's context exists; turns can be sent.
    Ready,
    /// Text ready to print (complete UTF-8, never part of a stop sequence).
    Text(String),
    /// A chat turn ended (interactive sessions; single runs return their stats instead).
    TurnEnd(anyhow::Result<GenerationStats>),
}

/// Commands for a chat session's worker thread.
#[derive(Debug)]
pub enum ChatCommand {
    /// Generate a reply to this conversation (the cache keeps what it shares with the last).
    Turn(GenerateRequest),
    /// Forget the conversation.
    Clear,
}

/// One complete generation on a fresh context, sending text over `tx` as it is produced.
/// Runs on a blocking thread (`spawn_blocking`).
pub fn complete_once(
    model: Arc<LoadedModel>,
    ctx_opts: &ContextOptions,
    spec: Option<&SpecSetup>,
    req: &GenerateRequest,
    tx: mpsc::Sender<Event>,
    cancel: &AtomicBool,
) -> anyhow::Result<GenerationStats> {
    let mut inf = Inference::new(&model, ctx_opts)?;
    let mut spec = spec.map(|s| s.speculator(ctx_opts)).transpose()?;
    inf.complete(req, cancel, spec.as_mut(), |text| {
        tx.blocking_send(Event::Text(text)).is_ok()
    })
}

/// A chat session: one context kept across turns, driven by commands, on a blocking thread.
/// Ends when the command sender is dropped.
pub fn chat_worker(
    model: Arc<LoadedModel>,
    ctx_opts: &ContextOptions,
    spec: Option<&SpecSetup>,
    mut commands: mpsc::UnboundedReceiver<ChatCommand>,
    tx: mpsc::Sender<Event>,
    cancel: &AtomicBool,
) -> anyhow::Result<()> {
    let mut inf = Inference::new(&model, ctx_opts)?;
    let mut spec = spec.map(|s| s.speculator(ctx_opts)).transpose()?;
    if tx.blocking_send(Event::Ready).is_err() {
        return Ok(());
    }
    while let Some(cmd) = commands.blocking_recv() {
        match cmd {
            ChatCommand::Clear => inf.clear(),
            ChatCommand::Turn(req) => {
                let result = inf.complete(&req, cancel, spec.as_mut(), |text| {
                    tx.blocking_send(Event::Text(text)).is_ok()
                });
                if tx.blocking_send(Event::TurnEnd(result)).is_err() {
                    break;
                }
            }
        }
    }
    Ok(())
}
