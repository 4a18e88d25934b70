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
    shortcut: Shortcut,
    /// With a shortcut, the logit biases (ids in order, summed per id) applied while
    /// selecting candidates instead of by the chain.
    adjust: Vec<(usize, f32)>,
}

/// llama.cpp's sampling starts by copying every logit into a candidate array (151,936
/// entries for Qwen), per request per token: with many requests in a batch that copy, not the
/// decode, can bound the step. When nothing before top-k changes logits but biases on a few
/// ids (the request's `logit_bias`, suppressed tokens, end of generation with `ignore_eos`;
/// not penalties or a grammar), the same pick is made from fewer candidates: greedy is the
/// first largest biased logit, and top-k keeps the same k best, which the rest of the chain
/// (top-p, min-p, temperature, the seeded draw) then sees exactly as it would have.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shortcut {
    None,
    Greedy,
    TopK(usize),
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
        let s = &req.sampling;
        let plain = grammar.is_none() && !penalized(req);
        let shortcut = match (plain, s.temp == 0.0, s.top_k) {
            (false, _, _) => Shortcut::None,
            (true, true, _) => Shortcut::Greedy,
            (true, false, k) if k > 0 => Shortcut::TopK(k as usize),
            _ => Shortcut::None,
        };
        let biases = biases(model, req);
        if shortcut == Shortcut::None {
            return Ok(Sampler {
                chain: chain_with(model, req, n_ctx, true, biases),
                grammar,
                shortcut,
                adjust: Vec::new(),
            });
        }
        let mut adjust: Vec<(usize, f32)> = Vec::new();
        for b in &biases {
            let id = b.token().0 as usize;
            match adjust.iter_mut().find(|(i, _)| *i == id) {
                Some((_, v)) => *v += b.bias(),
                None => adjust.push((id, b.bias())),
            }
        }
        adjust.sort_by_key(|&(i, _)| i);
        Ok(Sampler {
            chain: chain_with(model, req, n_ctx, true, Vec::new()),
            grammar,
            shortcut,
            adjust,
        })
    }

    /// The prompt's tokens, for the penalties' window.
    pub fn accept_prompt(&mut self, tokens: &[LlamaToken]) {
        self.chain.accept_many(tokens);
    }

    /// Pick the next token from the logits at batch index `idx`, and remember it.
    pub fn sample(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> LlamaToken {
        if let Some(token) = self.shortcut_pick(|| ctx.get_logits_ith(idx)) {
            return token;
        }
        if self.grammar.is_none() {
            // llama_sampler_sample: apply the chain, pick, accept.
            self.chain.sample(ctx, idx)
        } else {
            self.pick(|| ctx.token_data_array_ith(idx))
        }
    }

    /// With a shortcut, its pick from the row `logits` gives (remembered by the chain);
    /// without, `None` and the logits are not read.
    fn shortcut_pick<'l>(&mut self, logits: impl FnOnce() -> &'l [f32]) -> Option<LlamaToken> {
        let token = match self.shortcut {
            Shortcut::None => return None,
            Shortcut::Greedy if self.adjust.is_empty() => LlamaToken(argmax(logits()) as i32),
            Shortcut::Greedy => top_k(logits(), 1, &self.adjust)
                .data
                .first()
                .map_or(LlamaToken(0), |d| d.id()),
            Shortcut::TopK(k) => {
                let mut best = top_k(logits(), k, &self.adjust);
                best.apply_sampler(&mut self.chain);
                best.selected_token().unwrap_or(LlamaToken(0))
            }
        };
        self.chain.accept(token);
        Some(token)
    }

    /// Pick the next token from logits kept from an earlier evaluation (see the batch
    /// engine's prompt reuse), exactly as [`Sampler::sample`] would from the context.
    pub fn sample_saved(&mut self, logits: &[f32]) -> LlamaToken {
        // With a shortcut the chain has no bias sampler: the shortcut applies the biases.
        if let Some(token) = self.shortcut_pick(|| logits) {
            return token;
        }
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

/// The index of the first largest value (llama.cpp's greedy sampler keeps the first of
/// equals).
fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best
}

/// The `k` largest logits after the biases `adjust` (ids in order; -inf removes the id), as
/// candidates, best first (ties: the lower id first). The `k + adjust.len()` best unbiased
/// logits hold the k best of the ids without a bias, whatever the biases remove.
fn top_k(logits: &[f32], k: usize, adjust: &[(usize, f32)]) -> LlamaTokenDataArray {
    let k = k.min(logits.len()).max(1);
    let want = (k + adjust.len()).min(logits.len());
    // A sorted buffer of the best so far; most logits fail the first comparison.
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(want + 1);
    for (i, &l) in logits.iter().enumerate() {
        if best.len() == want && l <= best[want - 1].0 {
            continue;
        }
        let at = best.partition_point(|&(b, _)| b >= l);
        best.insert(at, (l, i));
        best.truncate(want);
    }
    if !adjust.is_empty() {
        let biased = |i: usize| adjust.binary_search_by_key(&i, |&(id, _)| id).is_ok();
        best.retain(|&(_, i)| !biased(i));
        best.extend(
            adjust
                .iter()
                .filter(|&&(i, _)| i < logits.len())
                .map(|&(i, b)| (logits[i] + b, i))
                .filter(|&(l, _)| l > f32::NEG_INFINITY),
        );
        best.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        best.truncate(k);
    }
    LlamaTokenDataArray::new(
        best.into_iter()
            .map(|(l, i)| LlamaTokenData::new(LlamaToken(i as i32), l, 0.0))
            .collect(),
        true,
    )
}

fn penalized(req: &GenerateRequest) -> bool {
    let s = &req.sampling;
    (s.repeat_penalty != 1.0 || s.frequency_penalty != 0.0 || s.presence_penalty != 0.0)
        && s.repeat_last_n != 0
}

/// The chain for `req` (see the module's documentation for the order). Without `pick`, the
/// chain only shapes the candidates (biases, penalties, top-k, top-p, min-p, temperature) and
/// leaves the draw to the caller (speculative decoding's rejection sampling).
pub(super) fn chain(
    model: &LoadedModel,
    req: &GenerateRequest,
    n_ctx: usize,
    pick: bool,
) -> LlamaSampler {
    chain_with(model, req, n_ctx, pick, biases(model, req))
}

/// The logit biases of `req`: its own, the model's suppressed tokens and, with `ignore_eos`,
/// every end-of-generation token (these two at -inf).
fn biases(model: &LoadedModel, req: &GenerateRequest) -> Vec<LlamaLogitBias> {
    let n_vocab = model.model.n_vocab();
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
    biases
}

fn chain_with(
    model: &LoadedModel,
    req: &GenerateRequest,
    n_ctx: usize,
    pick: bool,
    biases: Vec<LlamaLogitBias>,
) -> LlamaSampler {
    let s = &req.sampling;
    let n_vocab = model.model.n_vocab();
    let mut chain = Vec::new();
    if !biases.is_empty() {
        chain.push(LlamaSampler::logit_bias(n_vocab, &biases));
    }
    if penalized(req) {
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
        if pick {
            chain.push(LlamaSampler::greedy());
        }
    } else {
        if s.top_k > 0 {
            chain.push(LlamaSampler::top_k(s.top_k));
        }
        chain.push(LlamaSampler::top_p(s.top_p, 1));
        chain.push(LlamaSampler::min_p(s.min_p, 1));
        chain.push(LlamaSampler::temp(s.temp));
        if pick {
            chain.push(LlamaSampler::dist(req.seed));
        }
    }
    LlamaSampler::chain_simple(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_pick_what_a_full_scan_picks() {
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..200 {
            let n = rng.usize(1..400);
            // Few distinct values, so ties are common.
            let logits: Vec<f32> = (0..n).map(|_| rng.u8(0..20) as f32 * 0.5).collect();
            let first_max = logits
                .iter()
                .enumerate()
                .fold(0, |b, (i, &l)| if l > logits[b] { i } else { b });
            assert_eq!(argmax(&logits), first_max);
            let k = rng.usize(1..50);
            let got: Vec<(i32, f32)> = top_k(&logits, k, &[])
                .data
                .iter()
                .map(|d| (d.id().0, d.logit()))
                .collect();
            let mut all: Vec<(i32, f32)> = logits
                .iter()
                .enumerate()
                .map(|(i, &l)| (i as i32, l))
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            all.truncate(k.min(n));
            assert_eq!(got, all);
            // With biases on a few ids (some removing them): the same as biasing every
            // logit, then sorting.
            let mut adjust: Vec<(usize, f32)> = (0..rng.usize(0..6))
                .map(|_| {
                    (
                        rng.usize(0..n),
                        if rng.bool() {
                            f32::NEG_INFINITY
                        } else {
                            rng.u8(0..8) as f32 - 4.0
                        },
                    )
                })
                .collect();
            adjust.sort_by_key(|&(i, _)| i);
            adjust.dedup_by_key(|&mut (i, _)| i);
            let got: Vec<(i32, f32)> = top_k(&logits, k, &adjust)
                .data
                .iter()
                .map(|d| (d.id().0, d.logit()))
                .collect();
            let mut all: Vec<(i32, f32)> = logits
                .iter()
                .enumerate()
                .map(|(i, &l)| {
                    (
                        i as i32,
                        l + adjust.iter().find(|a| a.0 == i).map_or(0.0, |a| a.1),
                    )
                })
                .filter(|&(_, l)| l > f32::NEG_INFINITY)
                .collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            all.truncate(k.min(n));
            assert_eq!(got, all);
        }
    }
}
