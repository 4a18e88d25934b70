//! How many tokens to draft, chosen from what was measured while generating. A step that
//! drafts up to k tokens costs the draft's catch-up with the accepted text (which also gives
//! its first proposal), one draft decode per further proposal, and one verification of the
//! proposals plus the pending token; it yields the accepted proposals and the target's own
//! next token: 1 + a1 + a1·a2 + ... + a1···ak tokens on average, where ai is the measured
//! chance that the i-th proposal is kept when the ones before it were. Measured per position,
//! not one rate for all: a prompt-lookup match is often wrong at once but, once right, is
//! copying and stays right for many tokens, which one rate would take for a weak draft. A
//! draft that is unsure at once proposes nothing (below `--draft-p-min`): that share of
//! attempts costs the catch-up and yields a plain step. A plain step yields one token for one
//! verification of one token.
//!
//! That model picks the draft length; whether to draft with a draft model is decided by what
//! drafting steps actually yielded (seconds per token, draft time included) against plain
//! steps, since a draft often stops early (`--draft-p-min`) and a model of that is less
//! trustworthy than the measurement; free proposals draft whenever the model expects a gain.
//! When drafting does not pay, plain steps run and a probe drafts now and then (acceptance
//! changes with the text), less often while probes keep failing, and not at all for a draft
//! model whose measured costs leave little to gain even if nearly everything were kept (a
//! small model on a GPU costs most of a target step per token).

use std::time::Duration;

/// Steps between probes while drafting does not pay, at first and at most.
const PROBE_EVERY: u32 = 8;
const MAX_PROBE_EVERY: u32 = 128;
/// Probes in a row that may fail before a request stops probing: a probe first catches the
/// draft up with every token since its last proposal, so probing costs what reading the
/// whole text with the draft costs (measured: about 7 % of the plain speed for the 0.5B
/// drafting for the 1.5B on 2 CPU cores) whether it pays or not.
const MAX_FAILED_PROBES: u32 = 2;
/// Weight of the newest measurement in the running averages.
const ALPHA: f64 = 0.2;
/// Checks' worth of weight a prior has: the pooled acceptance rate in each position's
/// estimate, and the optimistic `START` in the pooled rate (so drafting is tried and measured).
const PRIOR: f64 = 2.0;
const START: f64 = 0.7;
/// Near the best acceptance a draft model reaches (Qwen2.5-Coder-0.5B drafting for the 1.5B
/// on code: 88–97 % in inferno's adaptive drafts), and the least gain at that acceptance, with
/// verification as cheap as a plain step, for which a draft model is worth probing for: a
/// failed probe costs its catch-up, drafts and verification, several plain steps on a GPU,
/// for a gain that could at best be small. From measured costs: 2 CPU cores, the 0.5B for
/// the 1.5B, about 1.6; an H100, the same shapes (a draft token 0.76 of a target step), 1.13.
const HOPE: f64 = 0.95;
const PROBE_CEILING: f64 = 1.15;

#[derive(Debug, Clone)]
pub struct Policy {
    max: usize,
    min: usize,
    adaptive: bool,
    /// Seconds to verify a batch of n tokens (index n).
    verify: Vec<Avg>,
    /// Seconds of an attempt's catch-up (with its first proposal), and per further drafted
    /// token (free proposals such as prompt lookup cost nothing).
    catch_up: Avg,
    per_token: Avg,
    /// Share of attempts that proposed nothing.
    empty: f64,
    /// Acceptance counts per position.
    counts: Counts,
    /// Seconds per token of drafting steps (draft time, verification, and the tokens they
    /// yielded, the target's own included); `None` until measured.
    drafting: Option<f64>,
    /// The last `next` was a probe after plain steps.
    probing: bool,
    failed_probes: u32,
    /// Draft attempts measured.
    attempts: u32,
    idle_steps: u32,
    probe_every: u32,
}

/// Decayed counts, per position (index i - 1 for the i-th proposal), of proposals kept and
/// of proposals checked (a step checks its proposals in order up to the first rejection):
/// their ratio estimates the chance that the i-th proposal is kept given the ones before it
/// were. All positions together give a pooled rate that positions with few checks lean on.
#[derive(Debug, Clone)]
struct Counts {
    kept: Vec<f64>,
    checked: Vec<f64>,
}

impl Counts {
    fn new(max: usize) -> Counts {
        Counts {
            kept: vec![0.0; max.max(1)],
            checked: vec![0.0; max.max(1)],
        }
    }

    fn kept(&self) -> f64 {
        self.kept.iter().sum()
    }

    fn checked(&self) -> f64 {
        self.checked.iter().sum()
    }

    fn record(&mut self, drafted: usize, accepted: usize) {
        // Only the positions this step checked age: a deep position is reached rarely, and
        // decaying it on every step would leave it the pooled rate forever.
        let keep = 1.0 - ALPHA;
        let n = self.kept.len();
        for i in 0..(accepted + 1).min(drafted).min(n) {
            self.kept[i] *= keep;
            self.checked[i] *= keep;
        }
        for i in 0..accepted.min(n) {
            self.kept[i] += 1.0;
            self.checked[i] += 1.0;
        }
        if accepted < drafted && accepted < n {
            self.checked[accepted] += 1.0;
        }
    }
}

/// Measured seconds of a plain step, an attempt's catch-up and each further drafted token,
/// and the share of attempts that propose nothing.
struct Costs {
    plain: f64,
    catch_up: f64,
    per_token: f64,
    empty: f64,
}

/// A running average of one measured cost (`value` is `None` until measured) and how many
/// measurements it has seen. The first run of a batch size is often slow (llama.cpp sets up
/// for a new shape: on an H100 the first decodes took 3–6 times a settled one), so the second
/// measurement replaces the first when faster.
#[derive(Debug, Clone, Copy, Default)]
struct Avg {
    value: Option<f64>,
    n: u32,
}

impl Avg {
    fn add(&mut self, new: f64) {
        self.n += 1;
        self.value = Some(match self.value {
            None => new,
            Some(v) if self.n == 2 => v.min(new),
            Some(v) => v + ALPHA * (new - v),
        });
    }
}

impl Policy {
    pub fn new(max: usize, min: usize, adaptive: bool) -> Policy {
        Policy {
            max,
            min: min.min(max),
            adaptive,
            verify: vec![Avg::default(); max + 2],
            catch_up: Avg::default(),
            per_token: Avg::default(),
            empty: 0.0,
            counts: Counts::new(max),
            drafting: None,
            probing: false,
            failed_probes: 0,
            attempts: 0,
            idle_steps: 0,
            probe_every: PROBE_EVERY,
        }
    }

    /// Record a drafting step: `draft` seconds making the proposals (`catch_up` of them
    /// spent catching up with the text), `verify` seconds checking them, `tokens` gained.
    /// A probe's catch-up covers every token since the last draft, a cost of having stopped
    /// drafting rather than of drafting now, so it counts as a usual catch-up.
    pub fn attempt(&mut self, draft: f64, catch_up: f64, verify: f64, tokens: usize) {
        let draft = match (self.probing, self.catch_up.value) {
            (true, Some(usual)) => draft - catch_up + usual.min(catch_up),
            _ => draft,
        };
        let spt = (draft + verify) / tokens.max(1) as f64;
        // A probe is news of the text as it is now (code after prose, say): it replaces what
        // was measured before; attempts in a row are averaged, quicker than other figures.
        self.drafting = match (self.probing, self.drafting) {
            (false, Some(v)) => Some(v + 0.4 * (spt - v)),
            _ => Some(spt),
        };
    }

    /// A new request: probing starts afresh; what was measured stays.
    pub fn restart(&mut self) {
        self.failed_probes = 0;
        // One more attempt per request however dear the draft looked: only drafting measures
        // its costs, and two slow early measurements must not switch it off for a whole chat
        // or server.
        self.attempts = self.attempts.min(1);
        self.idle_steps = 0;
        self.probe_every = PROBE_EVERY;
    }

    /// The pooled chance that a proposal is kept.
    fn acceptance(&self) -> f64 {
        (self.counts.kept() + PRIOR * START) / (self.counts.checked() + PRIOR)
    }

    /// The chance that the i-th proposal (from 1) is kept when the ones before it were: its
    /// own counts, drawn towards the pooled rate while they are few.
    fn acceptance_at(&self, i: usize, pooled: f64) -> f64 {
        let c = &self.counts;
        let i = (i - 1).min(c.kept.len() - 1);
        (c.kept[i] + PRIOR * pooled) / (c.checked[i] + PRIOR)
    }

    /// Record a verification of `n` tokens that took `t`, of which `drafted` were drafts and
    /// `accepted` of those were kept.
    pub fn verified(&mut self, n: usize, t: Duration, drafted: usize, accepted: usize) {
        if let Some(cost) = self.verify.get_mut(n) {
            cost.add(t.as_secs_f64());
        }
        if drafted > 0 {
            self.counts.record(drafted, accepted);
        }
    }

    /// Record a draft attempt: its catch-up (with the first proposal), the time per further
    /// proposal if there were any, and how many it proposed.
    pub fn drafted(&mut self, catch_up: Duration, per_token: Option<Duration>, proposed: usize) {
        if catch_up.is_zero() {
            // Nothing was evaluated (no room left in the context): nothing measured.
            return;
        }
        self.attempts += 1;
        // A probe's catch-up covers every token since the last draft: a cost of having
        // stopped drafting, not of drafting (see `attempt`), so no more than a usual one.
        let c = match (self.probing, self.catch_up.value) {
            (true, Some(usual)) => usual.min(catch_up.as_secs_f64()),
            _ => catch_up.as_secs_f64(),
        };
        self.catch_up.add(c);
        if let Some(t) = per_token {
            self.per_token.add(t.as_secs_f64());
        }
        let empty = if proposed == 0 { 1.0 } else { 0.0 };
        self.empty += ALPHA * (empty - self.empty);
    }

    /// Verification time for `n` tokens: measured, or else extrapolated from the largest
    /// measured smaller batch at the measured cost per extra token between one token and that
    /// batch (a flat cost overrated long drafts: on 2 CPU cores 4 tokens cost 1.5 plain
    /// steps, 9 tokens 3). While only one token is measured, its cost: optimistic, so sizes
    /// that could pay get tried and then are known. Measured sizes are taken as they are (CPU
    /// kernels in tiles of rows can make 4 rows cheaper than 3).
    fn verify_cost(&self, n: usize, plain: f64) -> f64 {
        let top = n.min(self.verify.len() - 1);
        let Some((m, cost)) = (1..=top)
            .rev()
            .find_map(|i| self.verify[i].value.map(|c| (i, c)))
        else {
            return plain;
        };
        if m == n || m == 1 {
            return cost;
        }
        let slope = ((cost - plain) / (m - 1) as f64).max(0.0);
        // Never above a larger batch that was measured.
        let above = (n + 1..self.verify.len()).find_map(|i| self.verify[i].value);
        (cost + (n - m) as f64 * slope).min(above.unwrap_or(f64::INFINITY))
    }

    /// The draft length with the best expected gain (tokens per second against plain steps)
    /// up to `reach`, with `accept(i)` the chance the i-th proposal is kept when those before
    /// it were; (1.0, 0) when no length beats a plain step.
    fn best_length(&self, c: &Costs, reach: usize, accept: impl Fn(usize) -> f64) -> (f64, usize) {
        let mut best = (1.0, 0);
        // Expected tokens of a step drafting k: 1 + a1 + a1·a2 + ...
        let mut reached = 1.0;
        let mut drafted = 1.0;
        for k in 1..=reach {
            reached *= accept(k).min(0.99);
            drafted += reached;
            if k < self.min.max(1) {
                continue;
            }
            let tokens = (1.0 - c.empty) * drafted + c.empty;
            let secs = c.catch_up
                + (1.0 - c.empty)
                    * ((k - 1) as f64 * c.per_token + self.verify_cost(k + 1, c.plain))
                + c.empty * c.plain;
            let gain = tokens * c.plain / secs;
            if gain > best.0 {
                best = (gain, k);
            }
        }
        best
    }

    /// The most a draft model could gain with its measured costs: proposals kept at `HOPE`,
    /// none empty, verification of any length as cheap as one token. Bounds from above what
    /// drafting can earn, so it does not depend on the verification sizes measured so far
    /// (on a CPU a batch of 4 can cost less than one of 3; the first run of a size is slow).
    fn ceiling(&self, c: &Costs) -> f64 {
        let (mut best, mut reached, mut tokens) = (1.0f64, 1.0, 1.0);
        for k in 1..=self.max {
            reached *= HOPE;
            tokens += reached;
            best =
                best.max(tokens * c.plain / (c.catch_up + (k - 1) as f64 * c.per_token + c.plain));
        }
        best
    }

    /// How many tokens to draft now (0: a plain step). `free` proposals cost nothing to make
    /// and are never empty (no match means no attempt).
    pub fn next(&mut self, free: bool) -> usize {
        if !self.adaptive {
            return self.max;
        }
        // First a plain step, to know what drafting has to beat; then a draft, to know what
        // drafting costs.
        let Some(plain) = self.verify[1].value else {
            return 0;
        };
        let (catch_up, per_token, empty) = if free {
            (0.0, 0.0, 0.0)
        } else {
            let Some(c) = self.catch_up.value else {
                return 3.max(self.min).min(self.max);
            };
            // Drafts of one token measure no per-token time; a catch-up bounds it.
            let t = self.per_token.value.unwrap_or(c);
            // A catch-up evaluates at least one token, so a further token costs no more
            // than it: this bounds a stale per-token figure (one slow early measurement is
            // otherwise kept while short drafts measure no new one).
            (c, t.min(c), self.empty)
        };
        let pooled = self.acceptance();
        // Grow into longer drafts step by step (at most about twice the largest batch
        // verified so far): a long draft at an unknown cost can waste a lot.
        let largest = (1..self.verify.len())
            .rev()
            .find(|&n| self.verify[n].value.is_some())
            .unwrap_or(1);
        let reach = self.max.min(2 * largest + 1);
        let costs = Costs {
            plain,
            catch_up,
            per_token,
            empty,
        };
        let best = self.best_length(&costs, reach, |k| self.acceptance_at(k, pooled));
        let ceiling = if free {
            f64::INFINITY
        } else {
            self.ceiling(&costs)
        };
        let attempts = self.attempts;
        tracing::debug!(
            target: "speculative",
            "policy: plain {:.1} ms, catch-up {:.1} ms, per token {:.1} ms, empty {empty:.2}, acceptance {pooled:.2}, reach {reach}: k {} (gain {:.2}), drafting {:.1} ms/token, ceiling {ceiling:.2} after {attempts} attempts",
            plain * 1e3,
            catch_up * 1e3,
            per_token * 1e3,
            best.1,
            best.0,
            self.drafting.unwrap_or(0.0) * 1e3
        );
        // The model picks the length. Whether to draft: for a draft model, what drafting
        // steps measurably yielded (the model of its early stops is less trustworthy); free
        // proposals cost only their verification, which the model has measured, and one
        // unlucky step must not stop them for long.
        let pays = if free {
            best.1 > 0
        } else {
            self.drafting.is_none_or(|spt| spt < plain)
        };
        if self.probing {
            self.failed_probes = if pays { 0 } else { self.failed_probes + 1 };
        }
        self.probing = false;
        if pays {
            self.idle_steps = 0;
            self.probe_every = PROBE_EVERY;
            return if best.1 > 0 {
                best.1
            } else {
                3.min(reach).max(self.min).min(self.max)
            };
        }
        // Acceptance is only learnt by drafting: probe now and then, less often while probes
        // keep showing that drafting does not pay.
        self.idle_steps += 1;
        // Not for a draft model that could gain little even at its best. The first attempt
        // runs cold (the draft's first decodes are slow): a second one is always allowed, so
        // the costs are measured warm before they rule out probing.
        let worth_probing = free
            || (self.failed_probes < MAX_FAILED_PROBES
                && (self.attempts < 2 || ceiling >= PROBE_CEILING));
        if self.idle_steps >= self.probe_every && worth_probing {
            self.idle_steps = 0;
            self.probe_every = (self.probe_every * 2).min(MAX_PROBE_EVERY);
            self.probing = true;
            return if best.1 > 0 {
                best.1
            } else {
                3.max(self.min).min(self.max)
            };
        }
        0
    }
}

#[cfg(test)]
mod tests;
