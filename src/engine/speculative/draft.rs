//! The draft model: a smaller model with the target's vocabulary, run in its own context. Its
//! cache follows the text the target accepted (each proposal starts by catching up with it,
//! evaluating only what it lacks); it proposes tokens one at a time and stops early when its
//! best token's probability falls below `p_min` (an uncertain draft is unlikely to be kept).

use std::sync::atomic::AtomicBool;

use llama_cpp_2::token::LlamaToken;

use super::shape::{Distribution, Shaper};
use crate::engine::inference::Inference;

pub struct Draft<'d> {
    pub inf: Inference<'d>,
    /// The request's sampling settings applied to the draft (temperature > 0 only), without
    /// penalties: rejection sampling needs only the distribution the draft drew from.
    pub shaper: Option<Shaper>,
    pub p_min: f32,
}

/// Drafted tokens, with the draft's distribution at each when sampling (greedy needs none).
#[derive(Default)]
pub struct Proposal {
    pub tokens: Vec<LlamaToken>,
    pub dists: Vec<Distribution>,
    /// Time to catch up with the accepted text (which gives the first proposal's logits).
    pub catch_up: std::time::Duration,
    /// Time per token drafted after the first (a decode of one token each).
    pub per_token: Option<std::time::Duration>,
}

impl Draft<'_> {
    /// Up to `k` tokens following `history` (the accepted text, ending with the token the
    /// target will verify first). With a shaper, tokens are drawn from its distribution with
    /// `uniform`; without, the draft's best token is taken.
    pub fn propose(
        &mut self,
        history: &[LlamaToken],
        k: usize,
        cancel: &AtomicBool,
        mut uniform: impl FnMut() -> f64,
    ) -> anyhow::Result<Proposal> {
        let mut out = Proposal::default();
        if k == 0 || history.len() + k >= self.inf.n_ctx() {
            return Ok(out);
        }
        let start = std::time::Instant::now();
        self.inf.prefill(history, cancel)?;
        out.catch_up = start.elapsed();
        let pushes_start = std::time::Instant::now();
        for i in 0..k {
            let idx = self.inf.logits_index();
            let token = match &mut self.shaper {
                None => {
                    let (token, p) = best(self.inf.ctx.get_logits_ith(idx));
                    if p < self.p_min {
                        break;
                    }
                    token
                }
                Some(shaper) => {
                    let dist = shaper.distribution(self.inf.ctx.token_data_array_ith(idx));
                    if dist.top_probability() < self.p_min {
                        break;
                    }
                    let token = dist.draw(uniform());
                    out.dists.push(dist);
                    token
                }
            };
            out.tokens.push(token);
            if i + 1 < k {
                self.inf.push(token)?;
            }
        }
        // Tokens after the first each needed a push, except a last one never pushed.
        let pushes = out.tokens.len().saturating_sub(1);
        if pushes > 0 {
            out.per_token = Some(pushes_start.elapsed() / pushes as u32);
        }
        Ok(out)
    }
}

/// The most likely token of a row of logits and its probability (softmax at temperature 1),
/// without sorting the vocabulary.
fn best(logits: &[f32]) -> (LlamaToken, f32) {
    let (mut arg, mut max) = (0, f32::NEG_INFINITY);
    for (i, &l) in logits.iter().enumerate() {
        if l > max {
            (arg, max) = (i, l);
        }
    }
    let total: f32 = logits.iter().map(|&l| (l - max).exp()).sum();
    (LlamaToken(arg as i32), 1.0 / total)
}

#[cfg(test)]
mod tests {
    #[test]
    fn best_is_the_argmax_with_its_softmax_probability() {
        let (t, p) = super::best(&[0.0, 2.0, 0.0]);
        assert_eq!(t.0, 1);
        let e2 = 2f32.exp();
        assert!((p - e2 / (e2 + 2.0)).abs() < 1e-6);
    }
}
