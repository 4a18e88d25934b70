//! One slot: a sequence of the shared context, the tokens its cache holds, and the request it
//! is serving (prompt progress, sampler, text stream and stop filter, timing).

use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::mpsc;

use super::{Completion, Event, Pending};
use crate::engine::model::LoadedModel;
use crate::engine::request::{StopReason, TopTwo};
use crate::engine::sampler::Sampler;
use crate::engine::text::{StopFilter, Utf8Stream};

pub(super) struct Slot {
    /// The sequence id in the context.
    pub id: i32,
    /// The tokens in this sequence's cache, in order (position = index).
    pub cached: Vec<LlamaToken>,
    /// When the slot last finished a request (for least-recently-used choice).
    pub last_used: Option<Instant>,
    /// The logits at the end of the last prompt this slot evaluated, and that prompt's length:
    /// the same prompt again starts from them instead of evaluating its last token anew (in a
    /// batch of another shape, which rounds differently), so a seed reproduces its text.
    pub prompt_logits: Option<(usize, Vec<f32>)>,
    pub active: Option<Active>,
}

/// A request being served.
pub(super) struct Active {
    pub events: mpsc::UnboundedSender<Event>,
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub sampler: Sampler,
    pub prompt: Vec<LlamaToken>,
    /// Prompt tokens in the cache so far (reused ones included).
    pub prompt_done: usize,
    pub cached_tokens: usize,
    pub max_tokens: Option<u32>,
    pub generated: usize,
    /// A sampled token still to be decoded (its logits give the next one).
    pub pending: Option<LlamaToken>,
    /// Index of this slot's logits in the current batch.
    pub logits_at: Option<i32>,
    /// Saved prompt logits to sample the first token from (no evaluation needed).
    pub replay: Option<Vec<f32>>,
    /// `Some` when the request asked for a trace of the best two logits per token.
    trace: Option<Vec<TopTwo>>,
    utf8: Utf8Stream,
    stops: StopFilter,
    submitted: Instant,
    started: Instant,
    prompt_ready: Option<Instant>,
    first_text: Option<Instant>,
}

/// Where the logits of a step come from.
pub(super) enum Logits<'a> {
    /// Row `i` of the last batch.
    Batch(&'a LlamaContext<'a>, i32),
    /// Saved from an earlier evaluation of the same prompt.
    Saved(&'a [f32]),
}

/// What the scheduler must do with a slot after a token.
pub(super) enum After {
    Continue,
    Finish(StopReason),
}

impl Slot {
    pub fn new(id: i32) -> Slot {
        Slot {
            id,
            cached: Vec::new(),
            last_used: None,
            prompt_logits: None,
            active: None,
        }
    }

    /// Tokens the cache shares with `tokens`, from the start.
    pub fn common_prefix(&self, tokens: &[LlamaToken]) -> usize {
        self.cached
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count()
    }

    /// Take `p`: keep the `keep` cached tokens it shares (the caller trimmed the cache to
    /// them) and start evaluating the rest of its prompt.
    pub fn start(&mut self, p: Pending, sampler: Sampler, keep: usize) {
        let now = Instant::now();
        let _ = p.events.send(Event::Started {
            prompt_tokens: p.tokens.len(),
            cached_tokens: keep,
        });
        self.active = Some(Active {
            events: p.events,
            cancel: p.cancel,
            sampler,
            prompt_done: keep,
            cached_tokens: keep,
            max_tokens: p.req.max_tokens,
            generated: 0,
            pending: None,
            logits_at: None,
            replay: None,
            trace: p.req.trace.then(Vec::new),
            utf8: Utf8Stream::default(),
            stops: StopFilter::new(p.req.stop),
            submitted: p.submitted,
            started: now,
            prompt_ready: None,
            first_text: None,
            prompt: p.tokens,
        });
    }

    /// End the request: flush held-back text (unless a stop sequence ended it), report the
    /// figures, free the slot.
    pub fn finish(&mut self, reason: StopReason) -> Option<Completion> {
        let mut a = self.active.take()?;
        self.last_used = Some(Instant::now());
        if reason != StopReason::StopSequence {
            let tail = a.stops.push(&a.utf8.finish());
            let mut last = tail.text;
            if !tail.stopped {
                last.push_str(&a.stops.finish());
            }
            if !last.is_empty() {
                a.first_text.get_or_insert_with(Instant::now);
                let _ = a.events.send(Event::Text(last));
            }
        }
        let ms = |from: Instant, to: Instant| to.duration_since(from).as_secs_f64() * 1e3;
        let end = Instant::now();
        let prompt_ready = a.prompt_ready.unwrap_or(end);
        let c = Completion {
            prompt_tokens: a.prompt.len(),
            cached_tokens: a.cached_tokens,
            gen_tokens: a.generated,
            stop_reason: reason,
            queued_ms: ms(a.submitted, a.started),
            prompt_ms: ms(a.started, prompt_ready),
            ttft_ms: a.first_text.map(|t| ms(a.submitted, t)),
            gen_ms: ms(prompt_ready, end),
            trace: a.trace.take().unwrap_or_default(),
            speculative: None,
        };
        let _ = a.events.send(Event::Done(c.clone()));
        Some(c)
    }
}

impl Completion {
    /// The figures of a request that ended while it waited for a slot.
    pub(super) fn never_started(p: &Pending) -> Completion {
        Completion {
            prompt_tokens: p.tokens.len(),
            cached_tokens: 0,
            gen_tokens: 0,
            stop_reason: StopReason::Interrupted,
            queued_ms: p.submitted.elapsed().as_secs_f64() * 1e3,
            prompt_ms: 0.0,
            ttft_ms: None,
            gen_ms: 0.0,
            trace: Vec::new(),
            speculative: None,
        }
    }
}

impl Active {
    /// When the request took its slot.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Whether the caller went away (the request is cancelled).
    pub fn cancelled(&self) -> bool {
        self.events.is_closed() || self.cancel.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the next logits are the prompt's (the first token is next).
    pub fn at_prompt_end(&self) -> bool {
        self.prompt_ready.is_none()
    }

    /// Sample from `logits` and handle the token: text out, stop conditions. `room` is how
    /// many more tokens the slot's cache can take.
    pub fn step(&mut self, logits: Logits<'_>, model: &LoadedModel, room: usize) -> After {
        if self.prompt_ready.is_none() {
            self.prompt_ready = Some(Instant::now());
        }
        let token = match logits {
            Logits::Batch(ctx, idx) => self.sampler.sample(ctx, idx),
            Logits::Saved(l) => self.sampler.sample_saved(l),
        };
        if let Some(trace) = &mut self.trace {
            let row = match logits {
                Logits::Batch(ctx, idx) => ctx.get_logits_ith(idx),
                Logits::Saved(l) => l,
            };
            trace.push(TopTwo::of(row, token.0));
        }
        let vocab = model.model.vocab();
        if vocab.is_eog(token) {
            return After::Finish(StopReason::Eog);
        }
        self.generated += 1;
        let piece = vocab.token_to_piece(token, false, None);
        let out = self.stops.push(&self.utf8.push(&piece));
        if !out.text.is_empty() {
            self.first_text.get_or_insert_with(Instant::now);
            if self.events.send(Event::Text(out.text)).is_err() {
                return After::Finish(StopReason::Interrupted);
            }
        }
        if out.stopped {
            return After::Finish(StopReason::StopSequence);
        }
        if self
            .max_tokens
            .is_some_and(|m| self.generated >= m as usize)
        {
            return After::Finish(StopReason::MaxTokens);
        }
        if room == 0 {
            return After::Finish(StopReason::ContextFull);
        }
        self.pending = Some(token);
        After::Continue
    }
}
