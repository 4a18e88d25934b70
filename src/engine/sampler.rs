//! The sampler chain: llama.cpp's default order (common/sampling.cpp: logit biases first,
//! including the model's suppressed tokens, then repetition penalty, top-k, top-p, min-p,
//! temperature and a seeded draw), or argmax after the biases and penalty when the
//! temperature is 0.

use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;

use super::model::LoadedModel;
use crate::config::SamplingSettings;

/// The chain for `s`, drawing with `seed`. `n_ctx` sizes a repetition window of -1 (whole
/// context). With `ignore_eos`, end-of-generation tokens get a bias of -inf, as llama.cpp's
/// `--ignore-eos`.
pub fn chain(
    model: &LoadedModel,
    s: &SamplingSettings,
    seed: u32,
    ignore_eos: bool,
    n_ctx: usize,
) -> LlamaSampler {
    let n_vocab = model.model.n_vocab();
    let mut chain = Vec::new();
    let mut banned: Vec<LlamaToken> = model.suppress_tokens.clone();
    if ignore_eos {
        let vocab = model.model.vocab();
        banned.extend((0..n_vocab).map(LlamaToken).filter(|&t| vocab.is_eog(t)));
    }
    if !banned.is_empty() {
        let biases: Vec<LlamaLogitBias> = banned
            .into_iter()
            .map(|t| LlamaLogitBias::new(t, f32::NEG_INFINITY))
            .collect();
        chain.push(LlamaSampler::logit_bias(n_vocab, &biases));
    }
    if s.repeat_penalty != 1.0 && s.repeat_last_n != 0 {
        let last_n = if s.repeat_last_n < 0 {
            n_ctx as i32
        } else {
            s.repeat_last_n
        };
        chain.push(LlamaSampler::penalties(
            n_vocab,
            last_n,
            s.repeat_penalty,
            0.0,
            0.0,
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
        chain.push(LlamaSampler::dist(seed));
    }
    LlamaSampler::chain_simple(chain)
}
