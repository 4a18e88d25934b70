//! Sampling, as llama.cpp's common sampler does it (common/sampling.cpp): a chain of logit
//! biases (the request's, the model's suppressed tokens, end-of-generation with `ignore_eos`),
//! the penalties (repetition, frequency, presence), top-k, top-p, min-p, temperature and a
//! seeded draw (argmax when the temperature is 0); and, apart from the chain, a grammar the
//! output must follow. The grammar is consulted only for generated tokens (the prompt's
//! tokens feed the penalties, not the grammar), and, as in llama.cpp, only when the chain's
//! pick breaks it: then the candidates are filtered by the grammar and the chain picks again.

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;

use super::model::LoadedModel;
use super::request::GenerateRequest;
use crate::error::{Exit, fail};

/// One request's sampler.
pub struct Sampler {
    chain: LlamaSampler,
    grammar: Option<LlamaSampler>,
}

impl Sampler {
    /// The sampler for `req`. `n_ctx` sizes a repetition window of -1 (whole context). A
    /// grammar llama.cpp cannot parse is an error (exit 6: it is part of the request).
    pub fn new(model: &LoadedModel, req: &GenerateRequest, n_ctx: usize) -> anyhow::Result<Self> {
        let grammar = match &req.grammar {
            None => None,
            Some(g) => Some(LlamaSampler::grammar(&model.model, g, "root").map_err(|e| {
                fail(
                    Exit::Prompt,
                    format!("llama.cpp cannot use this grammar: {e}"),
                )
            })?),
        };
        Ok(Sampler {
            chain: chain(model, req, n_ctx),
            grammar,
        })
    }

    /// The prompt's tokens, for the penalties' window.
    pub fn accept_prompt(&mut self, tokens: &[LlamaToken]) {
        self.chain.accept_many(tokens);
    }

    /// Pick the next token from the logits at batch index `idx`, and remember it.
    pub fn sample(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> LlamaToken {
        if self.grammar.is_none() {
            // llama_sampler_sample: apply the chain, pick, accept.
            return self.chain.sample(ctx, idx);
        }
        self.pick(|| ctx.token_data_array_ith(idx))
    }

    /// Pick the next token from logits kept from an earlier evaluation (see the batch
    /// engine's prompt reuse), exactly as [`Sampler::sample`] would from the context.
    pub fn sample_saved(&mut self, logits: &[f32]) -> LlamaToken {
        self.pick(|| {
            LlamaTokenDataArray::new(
                logits
                    .iter()
                    .enumerate()
                    .map(|(i, &l)| LlamaTokenData::new(LlamaToken(i as i32), l, 0.0))
                    .collect(),
                false,
            )
        })
    }

    /// The chain's pick; if a grammar rejects it, the chain's pick among what the grammar
    /// allows (llama.cpp's `common_sampler_sample`). Then both remember the token.
    fn pick(&mut self, candidates: impl Fn() -> LlamaTokenDataArray) -> LlamaToken {
        let mut all = candidates();
        all.apply_sampler(&mut self.chain);
        let mut token = all.selected_token().unwrap_or(LlamaToken(0));
        if let Some(grammar) = &mut self.grammar {
            let mut single =
                LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 1.0, 0.0)], false);
            single.apply_sampler(grammar);
            if single.data[0].logit() == f32::NEG_INFINITY {
                let mut allowed = candidates();
                allowed.apply_sampler(grammar);
                allowed.apply_sampler(&mut self.chain);
                token = allowed.selected_token().unwrap_or(token);
            }
            grammar.accept(token);
        }
        self.chain.accept(token);
        token
    }
}

/// The chain for `req` (see the module's documentation for the order).
fn chain(model: &LoadedModel, req: &GenerateRequest, n_ctx: usize) -> LlamaSampler {
    let s = &req.sampling;
    let n_vocab = model.model.n_vocab();
    let mut chain = Vec::new();
    let mut biases: Vec<LlamaLogitBias> = req
        .logit_bias
        .iter()
        .filter(|(t, _)| (0..n_vocab).contains(t))
        .map(|&(t, b)| LlamaLogitBias::new(LlamaToken(t), b))
        .collect();
    let mut banned: Vec<LlamaToken> = model.suppress_tokens.clone();
    if req.ignore_eos {
        let vocab = model.model.vocab();
        banned.extend((0..n_vocab).map(LlamaToken).filter(|&t| vocab.is_eog(t)));
    }
    biases.extend(
        banned
            .into_iter()
            .map(|t| LlamaLogitBias::new(t, f32::NEG_INFINITY)),
    );
    if !biases.is_empty() {
        chain.push(LlamaSampler::logit_bias(n_vocab, &biases));
    }
    let penalize =
        (s.repeat_penalty != 1.0 || s.frequency_penalty != 0.0 || s.presence_penalty != 0.0)
            && s.repeat_last_n != 0;
    if penalize {
        let last_n = if s.repeat_last_n < 0 {
            n_ctx as i32
        } else {
            s.repeat_last_n
        };
        chain.push(LlamaSampler::penalties(
            n_vocab,
            last_n,
            s.repeat_penalty,
            s.frequency_penalty,
            s.presence_penalty,
        ));
    }
    if s.temp == 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        if s.top_k > 0 {
            chain.push(LlamaSampler::top_k(s.top_k));
        }
        chain.push(LlamaSampler::top_p(s.top_p, 1));
        chain.push(LlamaSampler::min_p(s.min_p, 1));
        chain.push(LlamaSampler::temp(s.temp));
        chain.push(LlamaSampler::dist(req.seed));
    }
    LlamaSampler::chain_simple(chain)
}
