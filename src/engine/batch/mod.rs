//! Continuous batching: N slots (sequences) in one llama.cpp context, one `llama_decode` per
//! step carrying a chunk of every new request's prompt and one token for each generating
//! request. Requests join and leave between steps; each slot keeps its tokens in the cache, so
//! a request that shares a prefix with what a slot holds (the same system prompt, the next chat
//! turn) evaluates only the rest. Each request has its own sampler and seed.
//!
//! The scheduler owns its context on a thread of its own; callers [`Scheduler::submit`]
//! requests and receive [`Event`]s over a channel. Dropping the receiver cancels the request:
//! its slot is freed within one step. Used by `serve`, `run --batch` and `bench --parallel`.
//!
//! - [`slot`]: one request's state in a slot (prompt progress, sampler, text stream, timing).
//! - [`scheduler`]: the thread: queue, slot assignment with prefix reuse, the decode loop.
//! - [`single`]: the one-slot thread with speculative decoding, when a draft model or prompt
//!   lookup is configured.

mod scheduler;
mod single;
mod slot;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use llama_cpp_2::token::LlamaToken;
use tokio::sync::mpsc;

use super::context::ContextOptions;
use super::model::LoadedModel;
use super::request::{GenerateRequest, StopReason};
use crate::error::{Exit, fail};

/// How to run the scheduler.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Context per slot in `context.n_ctx` (the context holds `slots` times that).
    pub context: ContextOptions,
    pub slots: u32,
    /// Speculative decoding (one slot only).
    pub spec: Option<crate::engine::speculative::SpecSetup>,
    /// Requests that may wait for a slot; more are refused ([`Rejected::QueueFull`]).
    pub max_queue: usize,
}

/// What the scheduler sends about one request.
#[derive(Debug)]
pub enum Event {
    /// A slot took the request. `cached_tokens` of its prompt were already in the slot's cache.
    Started {
        prompt_tokens: usize,
        cached_tokens: usize,
    },
    /// Text ready to send (complete UTF-8, never part of a stop sequence).
    Text(String),
    /// The request ended; the last event.
    Done(Completion),
    /// The request failed after it was accepted (decoding failed); the last event.
    Failed(String),
}

/// Measured figures of one request (all wall clock, from the scheduler's thread).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Completion {
    pub prompt_tokens: usize,
    /// Prompt tokens found in the slot's cache (not evaluated again).
    pub cached_tokens: usize,
    pub gen_tokens: usize,
    pub stop_reason: StopReason,
    /// Waiting for a slot.
    pub queued_ms: f64,
    /// From taking a slot until the prompt's logits were ready.
    pub prompt_ms: f64,
    /// From submission to the first generated text.
    pub ttft_ms: Option<f64>,
    /// From the prompt's logits to the last token.
    pub gen_ms: f64,
    /// With [`GenerateRequest::trace`]: the two best logits at each generated position.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<crate::engine::request::TopTwo>,
    /// Drafting figures, when the request was generated speculatively.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speculative: Option<crate::engine::speculative::SpecStats>,
}

/// Why a request was not accepted.
#[derive(Debug)]
pub enum Rejected {
    /// The queue of requests waiting for a slot is full.
    QueueFull { max_queue: usize },
    /// The prompt (plus room for at least one generated token, or `max_tokens` when given)
    /// does not fit a slot's context.
    TooLong {
        prompt_tokens: usize,
        max_tokens: Option<u32>,
        slot_context: usize,
    },
    /// The scheduler has stopped (shutting down, or its thread failed).
    Stopped,
    /// The request itself is invalid (a prompt that cannot be tokenized, a bad grammar).
    Invalid(anyhow::Error),
}

/// Counters and gauges the scheduler keeps up to date: the one source `/metrics`, the
/// dashboard and reports read.
#[derive(Debug, Default)]
pub struct Stats {
    pub slots: AtomicUsize,
    pub active: AtomicUsize,
    pub queued: AtomicUsize,
    /// KV cache cells holding tokens, over all slots.
    pub kv_cells_used: AtomicUsize,
    pub kv_cells_total: AtomicUsize,
    pub requests_started: AtomicU64,
    pub requests_finished: AtomicU64,
    /// Prompt tokens evaluated (cache hits not counted) and reused from the cache.
    pub prompt_tokens: AtomicU64,
    pub cached_tokens: AtomicU64,
    pub generated_tokens: AtomicU64,
    pub decode_calls: AtomicU64,
    /// Time inside `llama_decode`, and of whole steps (decode + sampling + bookkeeping).
    pub decode_ns: AtomicU64,
    pub step_ns: AtomicU64,
}

/// A running scheduler. Cloning shares it.
#[derive(Clone)]
pub struct Scheduler {
    commands: mpsc::UnboundedSender<Command>,
    pub stats: Arc<Stats>,
    model: Arc<LoadedModel>,
    max_queue: usize,
    /// Tokens each slot's context holds.
    pub slot_context: usize,
    /// The KV cache and compute buffers of the context, per device.
    pub buffers: Vec<crate::engine::logs::Buffer>,
}

enum Command {
    Submit(Box<Pending>),
    /// End every request now (stop reason `Interrupted`), queued ones included.
    StopAll,
}

/// A request waiting for a slot.
struct Pending {
    req: GenerateRequest,
    tokens: Vec<LlamaToken>,
    events: mpsc::UnboundedSender<Event>,
    cancel: Arc<AtomicBool>,
    submitted: Instant,
}

impl Pending {
    fn cancelled(&self) -> bool {
        self.events.is_closed() || self.cancel.load(Ordering::Relaxed)
    }
}

/// An accepted request: its events, and a way to end it early while still hearing how it
/// ended (its `Done` comes within one step). Dropping the events also ends it.
pub struct Ticket {
    pub events: mpsc::UnboundedReceiver<Event>,
    cancel: Arc<AtomicBool>,
}

impl Ticket {
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Scheduler {
    /// Create the context (all slots) on a thread of its own and start serving. Fails if the
    /// context cannot be created.
    pub fn start(model: Arc<LoadedModel>, opts: BatchOptions) -> anyhow::Result<Scheduler> {
        Scheduler::start_with_stats(model, opts, Arc::new(Stats::default()))
    }

    /// [`Scheduler::start`] counting into `stats`, which outlive this scheduler (a server
    /// that unloads and reloads a model keeps its totals).
    pub fn start_with_stats(
        model: Arc<LoadedModel>,
        opts: BatchOptions,
        stats: Arc<Stats>,
    ) -> anyhow::Result<Scheduler> {
        let (commands, rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let max_queue = opts.max_queue;
        let thread_model = Arc::clone(&model);
        let thread_stats = Arc::clone(&stats);
        std::thread::Builder::new()
            .name("inferno-batch".into())
            .spawn(move || match opts.spec.clone() {
                Some(spec) => single::run(thread_model, spec, opts, rx, thread_stats, ready_tx),
                None => scheduler::run(thread_model, opts, rx, thread_stats, ready_tx),
            })
            .map_err(|e| {
                fail(
                    Exit::Internal,
                    format!("cannot start the batch thread: {e}"),
                )
            })?;
        let (slot_context, buffers) = ready_rx
            .recv()
            .map_err(|_| fail(Exit::Internal, "the batch thread ended while starting"))??;
        Ok(Scheduler {
            commands,
            stats,
            model,
            max_queue,
            slot_context,
            buffers,
        })
    }

    pub fn model(&self) -> &Arc<LoadedModel> {
        &self.model
    }

    /// Tokenize and check the request on the caller's thread (so the caller can answer with an
    /// error before anything streams), then queue it. Events arrive on the returned receiver;
    /// dropping it cancels the request.
    pub fn submit(&self, req: GenerateRequest) -> Result<Ticket, Rejected> {
        let tokens = self
            .model
            .tokenize(&req.prompt)
            .map_err(Rejected::Invalid)?;
        if tokens.is_empty() {
            return Err(Rejected::Invalid(fail(
                Exit::Prompt,
                "the prompt is empty after tokenization",
            )));
        }
        let room = req.max_tokens.map_or(1, |m| m.max(1) as usize);
        if tokens.len() + room > self.slot_context {
            return Err(Rejected::TooLong {
                prompt_tokens: tokens.len(),
                max_tokens: req.max_tokens,
                slot_context: self.slot_context,
            });
        }
        if let Some(g) = &req.grammar {
            super::grammar::validate(&self.model, g).map_err(Rejected::Invalid)?;
        }
        // Reserve a place in the queue; the scheduler gives it back when a slot takes it. Free
        // slots take requests at once, so they do not count against the queue's limit.
        let free = self
            .stats
            .slots
            .load(Ordering::SeqCst)
            .saturating_sub(self.stats.active.load(Ordering::SeqCst));
        let queued = self.stats.queued.fetch_add(1, Ordering::SeqCst);
        if queued >= self.max_queue.saturating_add(free) {
            self.stats.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Rejected::QueueFull {
                max_queue: self.max_queue,
            });
        }
        let (events, rx) = mpsc::unbounded_channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let pending = Pending {
            req,
            tokens,
            events,
            cancel: Arc::clone(&cancel),
            submitted: Instant::now(),
        };
        if self
            .commands
            .send(Command::Submit(Box::new(pending)))
            .is_err()
        {
            self.stats.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(Rejected::Stopped);
        }
        Ok(Ticket { events: rx, cancel })
    }

    /// End every request now, queued ones included (each gets its `Done` event).
    pub fn stop_all(&self) {
        let _ = self.commands.send(Command::StopAll);
    }
}
