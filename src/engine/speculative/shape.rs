//! Distributions for speculative sampling: the request's sampling settings applied to a row of
//! logits (biases, penalties, top-k, top-p, min-p, temperature; the draw is ours), and the
//! draws rejection sampling makes from them.

use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;

use crate::engine::model::LoadedModel;
use crate::engine::request::GenerateRequest;
use crate::engine::sampler;

/// The candidates that survive the sampling settings, with their probabilities, best first.
#[derive(Debug, Clone, Default)]
pub struct Distribution {
    pub probs: Vec<(LlamaToken, f64)>,
}

impl Distribution {
    pub fn top_probability(&self) -> f32 {
        self.probs.first().map_or(0.0, |p| p.1 as f32)
    }

    pub fn best(&self) -> LlamaToken {
        self.probs.first().map_or(LlamaToken(0), |p| p.0)
    }

    pub fn prob(&self, t: LlamaToken) -> f64 {
        self.probs.iter().find(|p| p.0 == t).map_or(0.0, |p| p.1)
    }

    /// A draw with `u` uniform in [0, 1).
    pub fn draw(&self, u: f64) -> LlamaToken {
        let mut acc = 0.0;
        for &(t, p) in &self.probs {
            acc += p;
            if u < acc {
                return t;
            }
        }
        self.probs.last().map_or(LlamaToken(0), |p| p.0)
    }

    /// max(0, self - other), renormalized: where to draw from after rejecting `other`'s pick
    /// (if nothing is left, self).
    pub fn residual(&self, other: &Distribution) -> Distribution {
        // One lookup per candidate: both can hold the whole vocabulary (top-k 0, top-p 1).
        let q: std::collections::HashMap<i32, f64> =
            other.probs.iter().map(|&(t, p)| (t.0, p)).collect();
        let mut probs: Vec<(LlamaToken, f64)> = self
            .probs
            .iter()
            .map(|&(t, p)| (t, (p - q.get(&t.0).copied().unwrap_or(0.0)).max(0.0)))
            .filter(|p| p.1 > 0.0)
            .collect();
        let total: f64 = probs.iter().map(|p| p.1).sum();
        if total <= 0.0 {
            return self.clone();
        }
        probs.iter_mut().for_each(|p| p.1 /= total);
        probs.sort_by(|a, b| b.1.total_cmp(&a.1));
        Distribution { probs }
    }

    /// Speculative sampling's test of proposal `d`, drawn from `q` (`None`: a free proposal,
    /// certain of `d`), against this, the target's distribution: keep `d` with probability
    /// min(1, p(d)/q(d)), else draw from the residual. The result is distributed as this
    /// distribution whatever `q` is. Returns the token and whether it is `d`.
    pub fn verify(
        &self,
        d: LlamaToken,
        q: Option<&Distribution>,
        mut uniform: impl FnMut() -> f64,
    ) -> (LlamaToken, bool) {
        let point;
        let q = match q {
            Some(q) => q,
            None => {
                point = Distribution::point(d);
                &point
            }
        };
        let (pd, qd) = (self.prob(d), q.prob(d));
        if qd > 0.0 && uniform() < (pd / qd).min(1.0) {
            return (d, true);
        }
        let t = self.residual(q).draw(uniform());
        (t, t == d)
    }

    /// A distribution that is certain of `t` (a free proposal, e.g. prompt lookup).
    pub fn point(t: LlamaToken) -> Distribution {
        Distribution {
            probs: vec![(t, 1.0)],
        }
    }
}

/// The request's sampling settings without the final draw.
pub struct Shaper {
    chain: LlamaSampler,
}

impl Shaper {
    pub fn new(model: &LoadedModel, req: &GenerateRequest, n_ctx: usize) -> Shaper {
        Shaper {
            chain: sampler::chain(model, req, n_ctx, false),
        }
    }

    /// Remember a token of the text (penalties look back at them).
    pub fn accept(&mut self, t: LlamaToken) {
        self.chain.accept(t);
    }

    pub fn accept_many(&mut self, tokens: &[LlamaToken]) {
        self.chain.accept_many(tokens);
    }

    pub fn distribution(&mut self, mut row: LlamaTokenDataArray) -> Distribution {
        row.apply_sampler(&mut self.chain);
        Shaper::softmax(row)
    }

    /// Probabilities of the candidates left (logit -inf: removed), best first.
    pub fn softmax(row: LlamaTokenDataArray) -> Distribution {
        let live: Vec<(LlamaToken, f32)> = row
            .data
            .iter()
            .filter(|d| d.logit() > f32::NEG_INFINITY)
            .map(|d| (d.id(), d.logit()))
            .collect();
        let max = live.iter().map(|p| p.1).fold(f32::NEG_INFINITY, f32::max);
        let mut probs: Vec<(LlamaToken, f64)> = live
            .into_iter()
            .map(|(t, l)| (t, f64::from(l - max).exp()))
            .collect();
        let total: f64 = probs.iter().map(|p| p.1).sum();
        probs
            .iter_mut()
            .for_each(|p| p.1 /= total.max(f64::MIN_POSITIVE));
        probs.sort_by(|a, b| b.1.total_cmp(&a.1));
        Distribution { probs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: &[(i32, f64)]) -> Distribution {
        Distribution {
            probs: v.iter().map(|&(t, p)| (LlamaToken(t), p)).collect(),
        }
    }

    #[test]
    fn draws_and_residuals() {
        let p = d(&[(1, 0.5), (2, 0.3), (3, 0.2)]);
        assert_eq!(p.draw(0.1), LlamaToken(1));
        assert_eq!(p.draw(0.6), LlamaToken(2));
        assert_eq!(p.draw(0.95), LlamaToken(3));
        // Rejecting a point mass on 1 leaves 2 and 3 in proportion.
        let r = p.residual(&Distribution::point(LlamaToken(1)));
        assert_eq!(r.probs.len(), 2);
        assert!((r.prob(LlamaToken(2)) - 0.6).abs() < 1e-12);
        // max(0, p - q): where q has more than p, nothing.
        let q = d(&[(1, 0.2), (2, 0.6), (3, 0.2)]);
        let r = p.residual(&q);
        assert_eq!(r.probs, vec![(LlamaToken(1), 1.0)]);
    }

    /// Propose from q, verify against p, many times: the output frequencies must be p's
    /// (within 6 standard errors), for a draft distribution unlike p and for free proposals.
    #[test]
    fn verified_proposals_follow_the_target_distribution() {
        let p = d(&[(1, 0.5), (2, 0.3), (3, 0.15), (4, 0.05)]);
        let q = d(&[(2, 0.6), (1, 0.2), (4, 0.15), (5, 0.05)]);
        let mut rng = fastrand::Rng::with_seed(7);
        const N: usize = 200_000;
        for free in [false, true] {
            let mut counts = std::collections::HashMap::new();
            for i in 0..N {
                let (t, _) = if free {
                    // Lookup proposes whatever the text repeats: here, token 2 or 5 alternately.
                    p.verify(LlamaToken(if i % 2 == 0 { 2 } else { 5 }), None, || {
                        rng.f64()
                    })
                } else {
                    p.verify(q.draw(rng.f64()), Some(&q), || rng.f64())
                };
                *counts.entry(t.0).or_insert(0usize) += 1;
            }
            for &(t, want) in &p.probs {
                let got = counts.get(&t.0).copied().unwrap_or(0) as f64 / N as f64;
                let se = (want * (1.0 - want) / N as f64).sqrt();
                assert!(
                    (got - want).abs() < 6.0 * se,
                    "token {} ({}): {got:.4} vs {want}",
                    t.0,
                    if free { "free" } else { "drafted" }
                );
            }
            assert!(
                !counts.contains_key(&5),
                "a token p excludes is never emitted"
            );
        }
    }
}
