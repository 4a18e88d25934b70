//! Speculative decoding: cheap proposals (a small draft model with the target's vocabulary,
//! or n-grams already in the text) checked by the target in one batch. At batch size 1 a
//! decode step is bound by memory bandwidth or kernel launches, so verifying k + 1 tokens
//! costs little more than producing one; every accepted proposal is a step saved.
//!
//! Exactness: with greedy sampling a proposal is kept only when it is the token the target's
//! own sampler picks at that position (the same [`Sampler`] as the plain loop, row by row), so
//! the text is the plain loop's up to how llama.cpp's kernels round a batch. With temperature
//! the proposal is kept with probability min(1, p/q) and otherwise replaced by a draw from the
//! residual max(0, p - q) (Leviathan et al., 2023), so the text follows the target's
//! distribution; the draw uses its own generator seeded from the request's seed.
//!
//! [`policy::Policy`] measures what drafting costs and earns and turns it off when it does
//! not pay (a draft model as slow as the target, text that never repeats).

mod draft;
mod lookup;
mod policy;
mod shape;
mod step;

use std::sync::Arc;
use std::time::Instant;

use crate::engine::context::ContextOptions;
use crate::engine::inference::Inference;
use crate::engine::model::LoadedModel;
use crate::engine::request::GenerateRequest;

pub use draft::Draft;
pub use lookup::Lookup;
pub use policy::Policy;
pub use shape::{Distribution, Shaper};
pub use step::stream;

/// What to speculate with, and how far.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SpecOptions {
    /// Most tokens proposed per step.
    pub draft_max: usize,
    /// Fewest tokens worth a verification (shorter proposals: a plain step).
    pub draft_min: usize,
    /// The draft stops proposing when its best token's probability falls below this.
    pub p_min: f32,
    /// Prompt lookup with n-grams of up to this many tokens (`None`: off).
    pub lookup_ngram: Option<usize>,
    /// Choose the draft length from measured costs (false: always `draft_max`).
    pub adaptive: bool,
}

/// Drafting figures of one generation (all counted, none estimated).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct SpecStats {
    /// Tokens proposed (draft model and lookup).
    pub drafted: usize,
    /// Proposed tokens the target kept.
    pub accepted: usize,
    /// Target evaluations during generation (each yields one or more tokens).
    pub steps: usize,
    /// Steps that verified proposals.
    pub verify_steps: usize,
    /// Of `drafted`, proposed by prompt lookup.
    pub lookup_drafted: usize,
    pub lookup_accepted: usize,
    /// Time spent running the draft model.
    pub draft_ms: f64,
}

impl SpecStats {
    pub fn acceptance(&self) -> f64 {
        if self.drafted == 0 {
            0.0
        } else {
            self.accepted as f64 / self.drafted as f64
        }
    }

    /// Accepted proposals per verification step.
    pub fn accepted_per_verify(&self) -> f64 {
        if self.verify_steps == 0 {
            0.0
        } else {
            self.accepted as f64 / self.verify_steps as f64
        }
    }
}

/// Per-request speculation state: the draft (if any), the lookup index, the policies.
pub struct Speculator<'d> {
    pub opts: SpecOptions,
    pub draft: Option<Draft<'d>>,
    lookup: Option<Lookup>,
    draft_policy: Policy,
    lookup_policy: Policy,
    pub stats: SpecStats,
}

impl<'d> Speculator<'d> {
    /// A speculator for one sequence; `draft` is the draft model's own context (the same
    /// size as the target's).
    pub fn new(opts: SpecOptions, draft: Option<Inference<'d>>) -> Speculator<'d> {
        let policy = || Policy::new(opts.draft_max, opts.draft_min, opts.adaptive);
        Speculator {
            lookup: opts.lookup_ngram.map(Lookup::new),
            draft_policy: policy(),
            lookup_policy: policy(),
            draft: draft.map(|inf| Draft {
                inf,
                shaper: None,
                p_min: opts.p_min,
            }),
            opts,
            stats: SpecStats::default(),
        }
    }

    /// Start a new generation for `req`. A chat session keeps the draft's cache and the
    /// measured costs across turns.
    pub fn reset(&mut self, req: &GenerateRequest) {
        self.stats = SpecStats::default();
        self.draft_policy.restart();
        self.lookup_policy.restart();
        if let Some(n) = self.opts.lookup_ngram {
            self.lookup = Some(Lookup::new(n));
        }
        if let Some(draft) = &mut self.draft {
            draft.shaper = (req.sampling.temp != 0.0).then(|| {
                let mut plain = req.clone();
                plain.sampling.repeat_penalty = 1.0;
                plain.sampling.frequency_penalty = 0.0;
                plain.sampling.presence_penalty = 0.0;
                Shaper::new(draft.inf.model, &plain, draft.inf.n_ctx())
            });
        }
    }

    /// Record what a drafting attempt cost (with its verification, `verify` seconds) and
    /// the tokens the step gained.
    fn attempted(&mut self, a: step::Attempt, verify: f64, tokens: usize) {
        let policy = match a.source {
            Source::Lookup => &mut self.lookup_policy,
            _ => &mut self.draft_policy,
        };
        policy.attempt(a.secs, a.catch_up, verify, tokens);
    }

    /// Record one target evaluation of `n` tokens.
    fn verified(
        &mut self,
        source: Source,
        n: usize,
        took: std::time::Duration,
        drafted: usize,
        accepted: usize,
    ) {
        self.stats.steps += 1;
        if drafted > 0 {
            self.stats.verify_steps += 1;
            self.stats.drafted += drafted;
            self.stats.accepted += accepted;
            if source == Source::Lookup {
                self.stats.lookup_drafted += drafted;
                self.stats.lookup_accepted += accepted;
            }
        }
        // Both policies learn the cost of a verification; each learns its own acceptance.
        let own = |s: Source| {
            if s == source {
                (drafted, accepted)
            } else {
                (0, 0)
            }
        };
        let (d, a) = own(Source::Draft);
        self.draft_policy.verified(n, took, d, a);
        let (d, a) = own(Source::Lookup);
        self.lookup_policy.verified(n, took, d, a);
    }
}

/// What callers hand the engine to speculate with: the options and the loaded draft model.
#[derive(Clone)]
pub struct SpecSetup {
    pub opts: SpecOptions,
    pub draft: Option<Arc<LoadedModel>>,
}

impl std::fmt::Debug for SpecSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpecSetup")
            .field("opts", &self.opts)
            .field("draft", &self.draft.as_ref().map(|m| m.path.clone()))
            .finish()
    }
}

impl SpecSetup {
    /// A speculator whose draft context (if any) matches the target's `ctx` options.
    pub fn speculator(&self, ctx: &ContextOptions) -> anyhow::Result<Speculator<'_>> {
        let draft = match &self.draft {
            Some(model) => Some(Inference::new(model, ctx)?),
            None => None,
        };
        Ok(Speculator::new(self.opts.clone(), draft))
    }
}

/// Where a step's proposals came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    None,
    Lookup,
    Draft,
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
