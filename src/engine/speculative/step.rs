//! The speculative generation loop: propose, verify in one batch, keep the agreed prefix and
//! the target's own next token, cut the rest from the cache.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use llama_cpp_2::token::LlamaToken;

use super::draft::Proposal;
use super::shape::{Distribution, Shaper};
use super::{Source, Speculator, ms_since};
use crate::engine::emit::TextOut;
use crate::engine::inference::{Generated, Inference};
use crate::engine::request::{GenerateRequest, StopReason};
use crate::engine::sampler::Sampler;

/// How the target picks: its own sampler (greedy: exact), or its distribution with a seeded
/// generator for rejection sampling.
enum Pick<'s> {
    Greedy(&'s mut Sampler),
    Sampled { shaper: Shaper, rng: fastrand::Rng },
}

impl Pick<'_> {
    /// The target's token at batch row `row`, given the proposal `proposed` with the
    /// distribution it was drawn from (`None`: a free proposal, certain of its token).
    /// Returns the token and whether it is the proposal.
    fn pick(
        &mut self,
        inf: &Inference<'_>,
        row: i32,
        proposed: Option<(LlamaToken, Option<&Distribution>)>,
    ) -> (LlamaToken, bool) {
        match self {
            Pick::Greedy(sampler) => {
                let t = sampler.sample(&inf.ctx, row);
                (t, proposed.is_some_and(|(d, _)| d == t))
            }
            Pick::Sampled { shaper, rng } => {
                let p = shaper.distribution(inf.ctx.token_data_array_ith(row));
                let (t, kept) = match proposed {
                    None => (p.draw(rng.f64()), false),
                    Some((d, q)) => p.verify(d, q, || rng.f64()),
                };
                shaper.accept(t);
                (t, kept)
            }
        }
    }
}

/// Generate after the evaluated prompt, as [`Inference::stream`] does, with proposals from
/// `spec` verified in batches.
pub fn stream(
    inf: &mut Inference<'_>,
    spec: &mut Speculator<'_>,
    req: &GenerateRequest,
    sampler: &mut Sampler,
    cancel: &AtomicBool,
    started: Instant,
    emit: impl FnMut(String) -> bool,
) -> anyhow::Result<crate::engine::inference::Generated> {
    let model = inf.model;
    let mut out = TextOut::new(&model.model, req, started, emit);
    let mut history: Vec<LlamaToken> = inf.cached().to_vec();
    let mut pick = if req.sampling.temp == 0.0 {
        Pick::Greedy(sampler)
    } else {
        let mut shaper = Shaper::new(model, req, inf.n_ctx());
        shaper.accept_many(&history);
        Pick::Sampled {
            shaper,
            rng: fastrand::Rng::with_seed(u64::from(req.seed)),
        }
    };
    let mut draft_rng = fastrand::Rng::with_seed(u64::from(req.seed) ^ 0x5eed_d4af);
    let max = req.max_tokens.map_or(usize::MAX, |m| m as usize);
    let gen_start = Instant::now();

    let (mut next, _) = pick.pick(inf, inf.logits_index(), None);
    let reason = 'steps: loop {
        if let Some(reason) = out.token(next) {
            break reason;
        }
        if out.tokens.len() >= max {
            break StopReason::MaxTokens;
        }
        if inf.n_past() >= inf.n_ctx() {
            break StopReason::ContextFull;
        }
        if cancel.load(Ordering::Relaxed) {
            break StopReason::Interrupted;
        }
        history.push(next);
        // Proposals beyond the context or the token limit would be wasted.
        // The verification batch (the pending token and the proposals) must fit one decode.
        let room = (inf.n_ctx() - inf.n_past() - 1)
            .min(max - out.tokens.len() - 1)
            .min(inf.n_batch.saturating_sub(1));
        let (source, proposal, attempt) = propose(
            spec,
            &history,
            room,
            cancel,
            &mut draft_rng,
            model.model.n_vocab(),
        )?;

        let verify_start = Instant::now();
        let mut batch = Vec::with_capacity(proposal.tokens.len() + 1);
        batch.push(next);
        batch.extend_from_slice(&proposal.tokens);
        inf.verify(&batch)?;
        let mut accepted = 0;
        let mut stop = None;
        for row in 0..=proposal.tokens.len() {
            let proposed = proposal
                .tokens
                .get(row)
                .map(|&d| (d, proposal.dists.get(row)));
            let (t, kept) = pick.pick(inf, row as i32, proposed);
            if !kept {
                next = t;
                break;
            }
            accepted += 1;
            history.push(t);
            stop = out.token(t);
            if stop.is_none() && out.tokens.len() >= max {
                stop = Some(StopReason::MaxTokens);
            }
            if stop.is_some() {
                break;
            }
        }
        let took = verify_start.elapsed();
        tracing::debug!(
            target: "speculative",
            "{source:?}: {} proposed, {accepted} kept, verify {:.1} ms",
            proposal.tokens.len(),
            took.as_secs_f64() * 1e3
        );
        spec.verified(source, batch.len(), took, proposal.tokens.len(), accepted);
        if let Some(a) = attempt {
            spec.attempted(a, took.as_secs_f64(), accepted + 1);
        }
        if let Some(reason) = stop {
            break 'steps reason;
        }
        // The cache keeps the accepted text; `next` is evaluated with the next batch.
        if !inf.truncate(history.len()) {
            inf.clear();
            inf.prefill(&history, cancel)?;
            inf.truncate(history.len());
        }
    };
    let gen_ms = ms_since(gen_start);
    out.finish(reason);
    Ok(Generated {
        tokens: std::mem::take(&mut out.tokens),
        reason,
        ttft_ms: out.ttft_ms,
        gen_ms,
        speculative: Some(spec.stats.clone()),
    })
}

/// A drafting attempt, whether or not it proposed anything: who made it, the seconds it
/// took and the part of them spent catching up with the text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempt {
    pub source: Source,
    pub secs: f64,
    pub catch_up: f64,
}

/// Proposals for the text `history`: prompt lookup first (free), else the draft model, as
/// many as the policies find worth it and `room` allows, with the attempt that made them.
fn propose(
    spec: &mut Speculator<'_>,
    history: &[LlamaToken],
    room: usize,
    cancel: &AtomicBool,
    rng: &mut fastrand::Rng,
    n_vocab: i32,
) -> anyhow::Result<(Source, Proposal, Option<Attempt>)> {
    if room == 0 {
        return Ok((Source::None, Proposal::default(), None));
    }
    if let Some(lookup) = &mut spec.lookup {
        let k = spec.lookup_policy.next(true).min(room);
        if k > 0 {
            let tokens = lookup.propose(history, k);
            if tokens.len() >= spec.opts.draft_min.max(1) {
                let proposal = Proposal {
                    tokens,
                    ..Proposal::default()
                };
                let attempt = Attempt {
                    source: Source::Lookup,
                    secs: 0.0,
                    catch_up: 0.0,
                };
                return Ok((Source::Lookup, proposal, Some(attempt)));
            }
        }
    }
    if let Some(draft) = &mut spec.draft {
        let k = spec.draft_policy.next(false).min(room);
        if k > 0 && k >= spec.opts.draft_min {
            let t = Instant::now();
            let mut p = draft.propose(history, k, cancel, || rng.f64())?;
            // A draft's vocabulary may have a few (padding) tokens more than the target's.
            if let Some(cut) = p.tokens.iter().position(|t| t.0 >= n_vocab) {
                p.tokens.truncate(cut);
                p.dists.truncate(cut);
            }
            spec.draft_policy
                .drafted(p.catch_up, p.per_token, p.tokens.len());
            let secs = t.elapsed().as_secs_f64();
            spec.stats.draft_ms += secs * 1e3;
            // An attempt that evaluated nothing (no room left in the context) measured nothing.
            let attempt = (!p.catch_up.is_zero()).then_some(Attempt {
                source: Source::Draft,
                secs,
                catch_up: p.catch_up.as_secs_f64(),
            });
            if p.tokens.len() >= spec.opts.draft_min.max(1) {
                return Ok((Source::Draft, p, attempt));
            }
            return Ok((Source::None, Proposal::default(), attempt));
        }
    }
    Ok((Source::None, Proposal::default(), None))
}
