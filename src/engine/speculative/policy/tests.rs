//! The policy against measured-like costs: when it drafts, how long, and when it stops.
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
    // Drafts rarely accepted: plain steps.
    for _ in 0..30 {
        p.drafted(MS(30), Some(MS(30)), 2);
        p.verified(3, MS(110), 2, 0);
        p.attempt(0.06, 0.03, 0.11, 1);
    }
    assert_eq!(p.next(false), 0);
    // ... but it probes after a while, then less often; each probe fails here.
    let probe = |p: &mut Policy, window: u32| {
        let k = (0..window).map(|_| p.next(false)).find(|&k| k > 0);
        if k.is_some() {
            p.attempt(0.06, 0.03, 0.11, 1);
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

/// Runs `steps` steps; every drafting step is an attempt that proposes 3 and, verified as a
/// batch of 4 at `verify` ms, keeps `kept` of them. Returns how many steps drafted.
fn attempts(p: &mut Policy, steps: usize, draft: u64, verify: u64, kept: usize) -> usize {
    let mut n = 0;
    for _ in 0..steps {
        if p.next(false) > 0 {
            n += 1;
            p.drafted(MS(draft), Some(MS(draft)), 3);
            p.verified(4, MS(verify), 3, kept);
            let secs = 3.0 * draft as f64 / 1e3;
            p.attempt(secs, draft as f64 / 1e3, verify as f64 / 1e3, kept + 1);
        } else {
            p.verified(
                1,
                MS(p.verify[1].value.map_or(0, |v| (v * 1e3).round() as u64)),
                0,
                0,
            );
        }
    }
    n
}

#[test]
fn a_draft_as_dear_as_the_target_is_not_probed() {
    // GPU-like: a step is kernel launches, so the small draft costs nearly what the target
    // does per token (2.0 against 2.2 ms, in tenths). Even when all it proposes is kept, no
    // length pays: a first attempt (cold), one more to measure it warm, then no probes.
    let mut p = measured(&[0, 22, 26, 27, 28, 30], 4);
    assert_eq!(attempts(&mut p, 2000, 21, 28, 3), 2);
    // The next request (a chat turn, a server's next request) gets one more.
    p.restart();
    assert_eq!(attempts(&mut p, 2000, 21, 28, 3), 1);
    // The H100's costs for the Qwen 0.5B / 1.5B shapes: even with every proposal kept at
    // 95 % and verification as cheap as one token, drafting would gain at most 12 %: after
    // two attempts that failed, no probes follow.
    let mut p = measured(&[0, 22, 25, 25, 27, 29], 4);
    assert_eq!(attempts(&mut p, 2000, 17, 27, 0), 2);
    // CPU-like: the draft costs a third of a target step: after failed attempts, probes go
    // on (the text may change), two in a row failing per request.
    let mut p = measured(&[0, 88, 126, 158, 122, 160], 4);
    assert_eq!(
        attempts(&mut p, 2000, 30, 122, 0),
        1 + MAX_FAILED_PROBES as usize
    );
    p.restart();
    assert_eq!(
        attempts(&mut p, 2000, 30, 122, 0),
        MAX_FAILED_PROBES as usize
    );
}

#[test]
fn unmeasured_sizes_are_costed_from_measured_ones() {
    // Measured up to 4 tokens: beyond, on the line through the measured cost per token (38
    // ms from 1 to 4 here), never above a larger size measured.
    let mut p = measured(&[0, 88, 126, 158, 202], 16);
    let plain = 0.088;
    assert!((p.verify_cost(9, plain) - (0.202 + 5.0 * 0.038)).abs() < 1e-9);
    p.verified(9, MS(250), 0, 0);
    assert!((p.verify_cost(5, plain) - (0.202 + 0.038)).abs() < 1e-9);
    assert!((p.verify_cost(8, plain) - 0.250).abs() < 1e-9);
    // Every proposal kept: a longer draft is tried ...
    let mut p = measured(&[0, 88, 126, 158, 202], 16);
    for _ in 0..10 {
        p.verified(4, MS(202), 3, 3);
    }
    let k = p.next(true);
    assert!(k > 3, "k = {k}");
    // ... and once measured dear, it is not.
    for n in 5..=17 {
        p.verified(n, MS(88 * n as u64), 0, 0);
        p.verified(n, MS(88 * n as u64), 0, 0);
    }
    assert_eq!(p.next(true), 3);
}

#[test]
fn a_slow_first_run_of_a_size_is_not_kept() {
    let mut p = Policy::new(4, 1, true);
    p.verified(1, MS(20), 0, 0);
    p.verified(1, MS(3), 0, 0);
    assert_eq!(p.verify[1].value, Some(0.003));
    // A faster first run is kept.
    let mut q = Policy::new(4, 1, true);
    q.verified(1, MS(3), 0, 0);
    q.verified(1, MS(20), 0, 0);
    assert_eq!(q.verify[1].value, Some(0.003));
    // Later measurements are averaged.
    p.verified(1, MS(8), 0, 0);
    assert!((p.verify[1].value.unwrap() - 0.004).abs() < 1e-9);
}

#[test]
fn a_probe_catch_up_is_not_a_usual_one() {
    // A probe first reads every token since the last draft (300 ms here against 30 usual):
    // a cost of having stopped, which must not make every later attempt look dear.
    let mut p = measured(&[0, 88, 126, 158, 122], 4);
    p.drafted(MS(30), Some(MS(30)), 3);
    p.probing = true;
    p.drafted(MS(300), Some(MS(30)), 3);
    assert_eq!(p.catch_up.value, Some(0.03));
    // An attempt that evaluated nothing (the context was full) measures nothing.
    p.probing = false;
    p.drafted(Duration::ZERO, None, 0);
    assert_eq!((p.catch_up.value, p.attempts), (Some(0.03), 2));
}

#[test]
fn a_new_request_keeps_averaging_the_catch_up() {
    // The warm-up rule is for a cost's second measurement only: after `restart` (which gives
    // a new request one more attempt) a slower catch-up still moves the average up.
    let mut p = measured(&[0, 88, 126, 158, 122], 4);
    for _ in 0..3 {
        p.drafted(MS(30), Some(MS(30)), 3);
    }
    p.restart();
    p.drafted(MS(80), Some(MS(30)), 3);
    assert!((p.catch_up.value.unwrap() - (0.03 + ALPHA * 0.05)).abs() < 1e-9);
}

#[test]
fn fixed_when_not_adaptive() {
    assert_eq!(Policy::new(6, 1, false).next(false), 6);
}
