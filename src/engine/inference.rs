//! One sequence in one context: prompt evaluation in `batch_size` chunks, reuse of the cached
//! prefix (a chat turn evaluates only its new tokens), and the sampling loop that streams text.
//!
//! Timing definitions (all wall clock, measured here, never derived from estimates):
//! - `prompt_ms`: evaluating the prompt tokens (all `batch_size` chunks) until their logits
//!   are ready.
//! - `ttft_ms`: from the start of prompt evaluation to the first generated token's text.
//! - `gen_ms`: from the end of prompt evaluation to the end of the last step; each generated
//!   token costs one sampling step and one decode, as in llama.cpp's own loop, so
//!   `gen_tps = gen_tokens / gen_ms` is comparable with llama.cpp's eval rate.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;

use super::context::{ContextOptions, new_context};
use super::emit::TextOut;
use super::logs::Buffer;
use super::model::LoadedModel;
use super::request::{GenerateRequest, GenerationStats, Prompt, StopReason};
use super::sampler::Sampler;
use super::speculative::{self, SpecStats, Speculator};
use crate::error::{Exit, fail};

/// A context plus the position of the next token.
pub struct Inference<'m> {
    pub model: &'m LoadedModel,
    pub ctx: LlamaContext<'m>,
    pub(super) batch: LlamaBatch<'static>,
    pub(super) n_batch: usize,
    /// The tokens in the KV cache, in order (position = index).
    pub(super) kv: Vec<LlamaToken>,
    /// Index in the last batch whose logits are ready for sampling.
    logits_index: i32,
    pub buffers: Vec<Buffer>,
}

impl<'m> Inference<'m> {
    pub fn new(model: &'m LoadedModel, opts: &ContextOptions) -> anyhow::Result<Self> {
        let (ctx, buffers) = new_context(model, opts)?;
        let n_batch = ctx.n_batch() as usize;
        Ok(Inference {
            model,
            ctx,
            batch: LlamaBatch::new(n_batch, 1),
            n_batch,
            kv: Vec::new(),
            logits_index: -1,
            buffers,
        })
    }

    pub fn n_ctx(&self) -> usize {
        self.ctx.n_ctx() as usize
    }

    /// The tokens of a prompt (see [`LoadedModel::tokenize`]).
    pub fn tokenize(&self, prompt: &Prompt) -> anyhow::Result<Vec<LlamaToken>> {
        self.model.tokenize(prompt)
    }

    /// Tokens in the KV cache.
    pub fn n_past(&self) -> usize {
        self.kv.len()
    }

    /// Forget everything in the KV cache.
    pub fn clear(&mut self) {
        self.ctx.clear_kv_cache();
        self.kv.clear();
        self.logits_index = -1;
    }

    /// Prefill: make the cache hold exactly `target` with fresh logits for its last token,
    /// evaluating only what differs from what is cached (a chat turn re-uses the whole
    /// conversation so far). Returns how many tokens were evaluated.
    pub fn prefill(&mut self, target: &[LlamaToken], cancel: &AtomicBool) -> anyhow::Result<usize> {
        let common = self
            .kv
            .iter()
            .zip(target)
            .take_while(|(a, b)| a == b)
            .count();
        // At least the last token is evaluated again, so its logits are current.
        let keep = common.min(target.len().saturating_sub(1));
        if keep < self.kv.len() {
            let trimmed = self.ctx.kv_cache_seq_rm(0, Some(keep as u32), None).is_ok();
            if trimmed {
                self.kv.truncate(keep);
            } else {
                // Some caches (sliding-window, recurrent) cannot drop a suffix: start over.
                self.clear();
            }
        }
        let start = self.kv.len();
        self.eval(&target[start..], cancel)?;
        Ok(target.len() - start)
    }

    /// Evaluate `tokens` after what is already in the cache, in chunks of `batch_size`; logits
    /// are kept for the last token only. Checks `cancel` between chunks.
    pub fn eval(&mut self, tokens: &[LlamaToken], cancel: &AtomicBool) -> anyhow::Result<()> {
        let free = self.n_ctx() - self.n_past();
        if tokens.len() > free {
            return Err(fail(
                Exit::Prompt,
                format!(
                    "the input is {} tokens but the context has room for {free} of its {}; raise -c/--context-size (backend_config.context_size)",
                    tokens.len(),
                    self.n_ctx()
                ),
            ));
        }
        for (chunk_no, chunk) in tokens.chunks(self.n_batch).enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Err(fail(Exit::Interrupted, "interrupted"));
            }
            let last_chunk = (chunk_no + 1) * self.n_batch >= tokens.len();
            self.batch.clear();
            for (i, &tok) in chunk.iter().enumerate() {
                let logits = last_chunk && i + 1 == chunk.len();
                self.batch
                    .add(tok, (self.kv.len() + i) as i32, &[0], logits)?;
            }
            self.ctx.decode(&mut self.batch).map_err(|e| {
                fail(
                    Exit::Inference,
                    format!("llama.cpp failed to evaluate the prompt: {e}"),
                )
            })?;
            self.kv.extend_from_slice(chunk);
            self.logits_index = chunk.len() as i32 - 1;
        }
        Ok(())
    }

    /// Sample the next token from the last evaluated logits.
    pub fn sample(&mut self, sampler: &mut Sampler) -> LlamaToken {
        sampler.sample(&self.ctx, self.logits_index)
    }

    /// Put one generated token into the cache so its logits can be sampled next.
    pub fn push(&mut self, token: LlamaToken) -> anyhow::Result<()> {
        self.batch.clear();
        self.batch.add(token, self.kv.len() as i32, &[0], true)?;
        self.ctx
            .decode(&mut self.batch)
            .map_err(|e| fail(Exit::Inference, format!("llama.cpp failed to decode: {e}")))?;
        self.kv.push(token);
        self.logits_index = 0;
        Ok(())
    }

    /// Sample, emit text and decode, token by token, after the evaluated prompt until a stop
    /// condition. `emit` receives printable text and returns false when nobody wants more
    /// (output closed).
    pub fn stream(
        &mut self,
        req: &GenerateRequest,
        sampler: &mut Sampler,
        cancel: &AtomicBool,
        started: Instant,
        emit: impl FnMut(String) -> bool,
    ) -> anyhow::Result<Generated> {
        let mut out = TextOut::new(&self.model.model, req, started, emit);
        let gen_start = Instant::now();
        let reason = loop {
            if cancel.load(Ordering::Relaxed) {
                break StopReason::Interrupted;
            }
            if req
                .max_tokens
                .is_some_and(|max| out.tokens.len() >= max as usize)
            {
                break StopReason::MaxTokens;
            }
            let token = self.sample(sampler);
            if let Some(reason) = out.token(token) {
                break reason;
            }
            if self.n_past() >= self.n_ctx() {
                break StopReason::ContextFull;
            }
            self.push(token)?;
        };
        let gen_ms = gen_start.elapsed().as_secs_f64() * 1e3;
        out.finish(reason);
        Ok(Generated {
            tokens: out.tokens,
            reason,
            ttft_ms: out.ttft_ms,
            gen_ms,
            speculative: None,
        })
    }

    /// Evaluate `tokens` in one batch after the cache, with logits for every one of them (row
    /// i: the next-token logits after `tokens[..=i]`): speculative decoding's verification.
    pub fn verify(&mut self, tokens: &[LlamaToken]) -> anyhow::Result<()> {
        self.batch.clear();
        for (i, &tok) in tokens.iter().enumerate() {
            self.batch
                .add(tok, (self.kv.len() + i) as i32, &[0], true)?;
        }
        self.ctx
            .decode(&mut self.batch)
            .map_err(|e| fail(Exit::Inference, format!("llama.cpp failed to decode: {e}")))?;
        self.kv.extend_from_slice(tokens);
        self.logits_index = tokens.len() as i32 - 1;
        Ok(())
    }

    /// Drop cached tokens from position `n` on (rejected proposals). False when this cache
    /// cannot drop a suffix (recurrent models); the caller then starts over.
    pub fn truncate(&mut self, n: usize) -> bool {
        if n >= self.kv.len() {
            return true;
        }
        if self.ctx.kv_cache_seq_rm(0, Some(n as u32), None).is_err() {
            return false;
        }
        self.kv.truncate(n);
        true
    }

    /// The batch row whose logits are next to sample.
    pub fn logits_index(&self) -> i32 {
        self.logits_index
    }

    /// The tokens in the cache.
    pub fn cached(&self) -> &[LlamaToken] {
        &self.kv
    }
}

/// The outcome of [`Inference::stream`].
#[derive(Debug)]
pub struct Generated {
    pub tokens: Vec<LlamaToken>,
    pub reason: StopReason,
    pub ttft_ms: Option<f64>,
    pub gen_ms: f64,
    /// Drafting figures, when speculative decoding generated the text.
    pub speculative: Option<SpecStats>,
}

impl Inference<'_> {
    /// Answer a request: evaluate its prompt (re-using what the cache already holds), then
    /// stream the reply, with proposals from `spec` when given (and no grammar constrains the
    /// output: a grammar's state cannot be rewound past rejected proposals).
    pub fn complete(
        &mut self,
        req: &GenerateRequest,
        cancel: &AtomicBool,
        spec: Option<&mut Speculator<'_>>,
        emit: impl FnMut(String) -> bool,
    ) -> anyhow::Result<GenerationStats> {
        let started = Instant::now();
        let prompt = self.tokenize(&req.prompt)?;
        if prompt.is_empty() {
            return Err(fail(Exit::Prompt, "the prompt is empty after tokenization"));
        }
        if prompt.len() >= self.n_ctx() {
            return Err(fail(
                Exit::Prompt,
                format!(
                    "the prompt is {} tokens but the context holds {} (and needs room to generate); raise -c/--context-size (backend_config.context_size)",
                    prompt.len(),
                    self.n_ctx()
                ),
            ));
        }
        let evaluated = self.prefill(&prompt, cancel)?;
        let mut spec = spec.filter(|_| req.grammar.is_none());
        if let Some(s) = spec.as_mut() {
            s.reset(req);
        }
        if let Some(draft) = spec.as_mut().and_then(|s| s.draft.as_mut()) {
            // The draft reads the prompt too; it counts as prompt time.
            draft.inf.prefill(&prompt, cancel)?;
        }
        let prompt_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut sampler = Sampler::new(self.model, req, self.n_ctx())?;
        sampler.accept_prompt(&prompt);
        let out = match spec {
            Some(spec) => {
                speculative::stream(self, spec, req, &mut sampler, cancel, started, emit)?
            }
            None => self.stream(req, &mut sampler, cancel, started, emit)?,
        };
        Ok(GenerationStats {
            prompt_tokens: evaluated,
            prompt_ms,
            ttft_ms: out.ttft_ms,
            gen_tokens: out.tokens.len(),
            gen_ms: out.gen_ms,
            stop_reason: out.reason,
            n_ctx: self.n_ctx() as u32,
            context_buffers: self.buffers.clone(),
            speculative: out.speculative,
        })
    }
}
