//! How many tokens to draft, chosen from what was measured while generating. A step that
//! drafts up to k tokens costs the draft's catch-up with the accepted text (which also gives
//! its first proposal), one draft decode per further proposal, and one verification of the
//! proposals plus the pending token; it yields the accepted proposals and the target's own
//! next token: 1 + a1 + a1·a2 + ... + a1···ak tokens on average, where ai is the measured
//! chance that the i-th proposal is kept when the ones before it were. Measured per position,
//! not one rate for all: a prompt-lookup match is often wrong at once but, once right, is
//! copying and stays right for many tokens, which one rate would take for a weak draft. A draft
//! that is unsure at once proposes nothing (below `--draft-p-min`): that share of attempts
//! costs the catch-up and yields a plain step. A plain step yields one token for one
//! verification of one token. That model picks the draft length; whether to draft with a
//! draft model is decided by what drafting steps actually yielded (seconds per token, draft
//! time included) against plain steps, since a draft often stops early (`--draft-p-min`) and
//! a model of that is less trustworthy than the measurement; free proposals draft whenever
//! the model expects a gain. When drafting does not pay, plain steps run and a probe drafts
//! now and then (acceptance changes with the text), less often while probes keep failing.

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

#[derive(Debug, Clone)]
pub struct Policy {
    max: usize,
    min: usize,
    adaptive: bool,
    /// Seconds to verify a batch of n tokens (index n); `None` until measured.
    verify: Vec<Option<f64>>,
    /// Seconds of an attempt's catch-up (with its first proposal), and per further drafted
    /// token; `None` until measured (free proposals such as prompt lookup cost nothing).
    catch_up: Option<f64>,
    per_token: Option<f64>,
    /// Share of attempts that proposed nothing.
    empty: f64,
    /// Decayed counts, per position (index i - 1 for the i-th proposal), of proposals kept
    /// and of proposals checked (a step checks its proposals in order up to the first
    /// rejection): their ratio estimates the chance that the i-th proposal is kept given the
    /// ones before it were. All positions together give the pooled rate that positions with
    /// few checks lean on.
    kept: Vec<f64>,
    checked: Vec<f64>,
    /// Seconds per token of drafting steps (draft time, verification, and the tokens they
    /// yielded, the target's own included); `None` until measured.
    drafting: Option<f64>,
    /// The last `next` was a probe after plain steps.
    probing: bool,
    failed_probes: u32,
    idle_steps: u32,
    probe_every: u32,
}

fn ema(old: Option<f64>, new: f64) -> Option<f64> {
    Some(old.map_or(new, |v| v + ALPHA * (new - v)))
}

impl Policy {
    pub fn new(max: usize, min: usize, adaptive: bool) -> Policy {
        Policy {
            max,
            min: min.min(max),
            adaptive,
            verify: vec![None; max + 2],
            catch_up: None,
            per_token: None,
            empty: 0.0,
            kept: vec![0.0; max.max(1)],
            checked: vec![0.0; max.max(1)],
            drafting: None,
            probing: false,
            failed_probes: 0,
            idle_steps: 0,
            probe_every: PROBE_EVERY,
        }
    }

    /// Record a drafting step: `draft` seconds making the proposals (`catch_up` of them
    /// spent catching up with the text), `verify` seconds checking them, `tokens` gained.
    /// A probe's catch-up covers every token since the last draft, a cost of having stopped
    /// drafting rather than of drafting now, so it counts as a usual catch-up.
    pub fn attempt(&mut self, draft: f64, catch_up: f64, verify: f64, tokens: usize) {
        let draft = match (self.probing, self.catch_up) {
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
        self.idle_steps = 0;
        self.probe_every = PROBE_EVERY;
    }

    /// The pooled chance that a proposal is kept.
    fn acceptance(&self) -> f64 {
        let kept: f64 = self.kept.iter().sum();
        let checked: f64 = self.checked.iter().sum();
        (kept + PRIOR * START) / (checked + PRIOR)
    }

    /// The chance that the i-th proposal (from 1) is kept when the ones before it were: its
    /// own counts, drawn towards the pooled rate while they are few.
    fn acceptance_at(&self, i: usize, pooled: f64) -> f64 {
        let i = (i - 1).min(self.kept.len() - 1);
        (self.kept[i] + PRIOR * pooled) / (self.checked[i] + PRIOR)
    }

    /// Record a verification of `n` tokens that took `t`, of which `drafted` were drafts and
    /// `accepted` of those were kept.
    pub fn verified(&mut self, n: usize, t: Duration, drafted: usize, accepted: usize) {
        if let Some(slot) = self.verify.get_mut(n) {
            *slot = ema(*slot, t.as_secs_f64());
        }
        if drafted > 0 {
            // Only the positions this step checked age: a deep position is reached rarely,
            // and decaying it on every step would leave it the pooled rate forever.
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

    /// Record a draft attempt: its catch-up (with the first proposal), the time per further
    /// proposal if there were any, and how many it proposed.
    pub fn drafted(&mut self, catch_up: Duration, per_token: Option<Duration>, proposed: usize) {
        self.catch_up = ema(self.catch_up, catch_up.as_secs_f64());
        if let Some(t) = per_token {
            self.per_token = ema(self.per_token, t.as_secs_f64());
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
        let Some((m, cost)) = (1..=top).rev().find_map(|i| self.verify[i].map(|c| (i, c))) else {
            return plain;
        };
        if m == n || m == 1 {
            return cost;
        }
        let slope = ((cost - plain) / (m - 1) as f64).max(0.0);
        // Never above a larger batch that was measured.
        let above = (n + 1..self.verify.len()).find_map(|i| self.verify[i]);
        (cost + (n - m) as f64 * slope).min(above.unwrap_or(f64::INFINITY))
    }

    /// How many tokens to draft now (0: a plain step). `free` proposals cost nothing to make
    /// and are never empty (no match means no attempt).
    pub fn next(&mut self, free: bool) -> usize {
        if !self.adaptive {
            return self.max;
        }
        // First a plain step, to know what drafting has to beat; then a draft, to know what
        // drafting costs.
        let Some(plain) = self.verify[1] else {
            return 0;
        };
        let (catch_up, per_token, empty) = if free {
            (0.0, 0.0, 0.0)
        } else {
            let Some(c) = self.catch_up else {
                return 3.max(self.min).min(self.max);
            };
            // Drafts of one token measure no per-token time; a catch-up bounds it.
            let t = self.per_token.unwrap_or(c);
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
            .find(|&n| self.verify[n].is_some())
            .unwrap_or(1);
        let reach = self.max.min(2 * largest + 1);
        let mut best = (1.0, 0);
        // Expected tokens of a step drafting k: 1 + a1 + a1·a2 + ...
        let mut reached = 1.0;
        let mut drafted = 1.0;
        for k in 1..=reach {
            reached *= self.acceptance_at(k, pooled).min(0.99);
            drafted += reached;
            if k < self.min.max(1) {
                continue;
            }
            let tokens = (1.0 - empty) * drafted + empty;
            let secs = catch_up
                + (1.0 - empty) * ((k - 1) as f64 * per_token + self.verify_cost(k + 1, plain))
                + empty * plain;
            let gain = tokens * plain / secs;
            if gain > best.0 {
                best = (gain, k);
            }
        }
        tracing::debug!(
            target: "speculative",
            "policy: plain {:.1} ms, catch-up {:.1} ms, per token {:.1} ms, empty {empty:.2}, acceptance {pooled:.2}, reach {reach}: k {} (gain {:.2}), drafting {:.1} ms/token",
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
        if self.idle_steps >= self.probe_every && (free || self.failed_probes < MAX_FAILED_PROBES) {
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
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn measured(costs: &[u64], max: usize) -> Policy {
        let mut p = Policy::new(max, 1, true);
        for (n, &c) in costs.iter().enumerate().skip(1) {
            p.verified(n, MS(c), 0, 0);
        }
        p
    }

    #[test]
    fn drafts_when_it_pays_and_stops_when_it_does_not() {
        let mut p = measured(&[0, 100, 105, 110, 115, 120, 125, 130, 135, 140], 8);
        // Verifying costs little more for more tokens; drafts are cheap; most are accepted.
        p.drafted(MS(10), Some(MS(10)), 4);
        for _ in 0..20 {
            p.verified(5, MS(125), 4, 4);
            p.attempt(0.04, 0.01, 0.125, 5);
        }
        let k = p.next(false);
        assert!(k >= 4, "cheap drafts, high acceptance: draft long ({k})");
        // Drafts as dear as the target and rarely accepted: plain steps.
        for _ in 0..30 {
            p.drafted(MS(100), Some(MS(100)), 2);
            p.verified(3, MS(110), 2, 0);
            p.attempt(0.2, 0.1, 0.11, 1);
        }
        assert_eq!(p.next(false), 0);
        // ... but it probes after a while, then less often; each probe fails here.
        let probe = |p: &mut Policy, window: u32| {
            let k = (0..window).map(|_| p.next(false)).find(|&k| k > 0);
            if k.is_some() {
                p.attempt(0.2, 0.1, 0.11, 1);
            }
            k.is_some()
        };
        assert!(probe(&mut p, PROBE_EVERY));
        assert!(probe(&mut p, 2 * PROBE_EVERY));
        // Two failed probes: this request stops probing (each probe reads the whole text
        // since the last draft with the draft model) ...
        assert!(!probe(&mut p, 16 * PROBE_EVERY));
        // ... and the next request probes again; a probe that pays turns drafting back on.
        p.restart();
        assert!((0..PROBE_EVERY).any(|_| p.next(false) > 0));
        p.attempt(0.04, 0.01, 0.125, 5);
        assert!(p.next(false) > 0 && p.next(false) > 0);
    }

    #[test]
    fn a_draft_that_is_mostly_unsure_is_not_worth_its_catch_up() {
        let mut p = measured(&[0, 80, 110, 150, 126, 166], 4);
        // When it proposes, everything is kept; but nine attempts in ten propose nothing
        // and cost their catch-up on top of a plain step.
        for i in 0..40 {
            let proposed = if i % 10 == 0 { 3 } else { 0 };
            p.drafted(MS(45), Some(MS(45)), proposed);
            if proposed > 0 {
                p.verified(4, MS(126), 3, 3);
                p.attempt(0.135, 0.045, 0.126, 4);
            } else {
                p.verified(1, MS(80), 0, 0);
                p.attempt(0.045, 0.045, 0.08, 1);
            }
        }
        assert_eq!(p.next(false), 0);
        // The same draft, sure of itself: worth it.
        for _ in 0..40 {
            p.drafted(MS(45), Some(MS(45)), 3);
            p.verified(4, MS(126), 3, 3);
            p.attempt(0.135, 0.045, 0.126, 4);
        }
        assert!(p.next(false) > 0);
    }

    #[test]
    fn a_cheap_tile_is_found() {
        // Batches of 4 cost less than 3 (as CPU kernels in 4-row tiles do): 3 drafts (a
        // batch of 4) win over 2.
        let mut p = measured(&[0, 92, 128, 151, 126, 166], 4);
        p.drafted(MS(10), Some(MS(10)), 3);
        for _ in 0..20 {
            p.verified(4, MS(126), 3, 3);
            p.attempt(0.03, 0.01, 0.126, 4);
        }
        assert_eq!(p.next(false), 3);
    }

    #[test]
    fn free_proposals_need_acceptance_not_draft_time() {
        let mut p = measured(&[0, 80, 110, 150, 126], 3);
        for _ in 0..20 {
            p.verified(4, MS(126), 3, 0);
            p.attempt(0.0, 0.0, 0.126, 1);
        }
        assert_eq!(p.next(true), 0, "nothing kept: plain steps");
        for _ in 0..20 {
            p.verified(4, MS(126), 3, 3);
            p.attempt(0.0, 0.0, 0.126, 4);
        }
        assert_eq!(p.next(true), 3);
    }

    #[test]
    fn acceptance_is_learnt_per_position() {
        // Proposals of 8, always right for two tokens and wrong at the third: one rate for
        // all positions (2 kept of 3 checked) would take the longest draft; per position the
        // third is known to fail.
        let mut p = measured(&[0, 100, 105, 110, 115, 120, 125, 130, 135, 140], 8);
        for _ in 0..20 {
            p.verified(9, MS(140), 8, 2);
        }
        let k = p.next(true);
        assert!((2..=4).contains(&k), "k = {k}");
        // Wrong at once half the time, then right all along: long drafts pay.
        let mut p = measured(&[0, 100, 105, 110, 115, 120, 125, 130, 135, 140], 8);
        for i in 0..20 {
            p.verified(9, MS(140), 8, if i % 2 == 0 { 0 } else { 8 });
        }
        assert_eq!(p.next(true), 8);
    }

    #[test]
    fn fixed_when_not_adaptive() {
        assert_eq!(Policy::new(6, 1, false).next(false), 6);
    }
}
