//! `inferno bench --parallel`: batched decoding measured with llama-batched-bench's method
//! (the engine's [`crate::engine::workload`] runs it), so the numbers can be held against
//! `llama-batched-bench`: for every prompt length PP, generation length TG and batch B, B
//! sequences of PP prompt tokens and TG generated tokens each; prompt and generation speed in
//! aggregate tokens/s. Each combination runs `-r` times; the speeds are means with the sample
//! standard deviation. The runner is on a blocking thread; the renderers are pure.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use super::stats::{mean, stddev};
use crate::engine::workload::{Batched, BatchedTimes, TokenSource, batched_context};
use crate::engine::{ContextOptions, LoadedModel};
use crate::error::{Exit, fail};

/// The measurements of one combination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchedResult {
    pub test: Batched,
    /// Cache cells the combination uses: B × (PP + TG).
    pub n_kv: u32,
    pub runs: Vec<BatchedTimes>,
}

/// Speeds of one result, as llama-batched-bench computes them, averaged over the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchedSummary {
    pub t_pp: f64,
    pub speed_pp: f64,
    pub speed_pp_stddev: f64,
    pub t_tg: f64,
    pub speed_tg: f64,
    pub speed_tg_stddev: f64,
    pub t: f64,
    pub speed: f64,
}

pub fn summarize(r: &BatchedResult) -> BatchedSummary {
    let t = r.test;
    let (pp, tg) = (
        f64::from(t.pl) * f64::from(t.pp),
        f64::from(t.pl) * f64::from(t.tg),
    );
    let s_pp: Vec<f64> = r.runs.iter().map(|x| pp / x.t_pp.max(1e-9)).collect();
    let s_tg: Vec<f64> = r.runs.iter().map(|x| tg / x.t_tg.max(1e-9)).collect();
    let s: Vec<f64> = r
        .runs
        .iter()
        .map(|x| (pp + tg) / (x.t_pp + x.t_tg).max(1e-9))
        .collect();
    let t_pp = mean(&r.runs.iter().map(|x| x.t_pp).collect::<Vec<_>>());
    let t_tg = mean(&r.runs.iter().map(|x| x.t_tg).collect::<Vec<_>>());
    BatchedSummary {
        t_pp,
        speed_pp: mean(&s_pp),
        speed_pp_stddev: stddev(&s_pp),
        t_tg,
        speed_tg: if tg > 0.0 { mean(&s_tg) } else { 0.0 },
        speed_tg_stddev: if tg > 0.0 { stddev(&s_tg) } else { 0.0 },
        t: t_pp + t_tg,
        speed: mean(&s),
    }
}

/// Run every combination `reps` times on one context sized for the largest (after one
/// warm-up, as the reference does).
pub fn run(
    model: &LoadedModel,
    opts: &ContextOptions,
    tests: &[Batched],
    reps: u32,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&Batched, u32),
) -> anyhow::Result<Vec<BatchedResult>> {
    let mut inf = batched_context(model, opts, tests)?;
    let mut tokens = TokenSource::new(&inf, 1234);
    inf.batched_warmup(&mut tokens)?;
    let mut results = Vec::with_capacity(tests.len());
    for t in tests {
        let mut runs = Vec::with_capacity(reps as usize);
        for rep in 0..reps {
            if cancel.load(Ordering::Relaxed) {
                return Err(fail(Exit::Interrupted, ""));
            }
            progress(t, rep + 1);
            runs.push(inf.batched_run(*t, &mut tokens)?);
        }
        results.push(BatchedResult {
            test: *t,
            n_kv: t.pl * (t.pp + t.tg),
            runs,
        });
    }
    Ok(results)
}

/// llama-batched-bench's table, speeds with ± over the runs.
pub fn markdown(results: &[BatchedResult]) -> String {
    let mut out = String::from(
        "|    PP |     TG |    B |   N_KV |   T_PP s |          S_PP t/s |   T_TG s |          S_TG t/s |      T s |      S t/s |\n\
         |-------|--------|------|--------|----------|-------------------|----------|-------------------|----------|------------|\n",
    );
    for r in results {
        let s = summarize(r);
        out.push_str(&format!(
            "| {:5} | {:6} | {:4} | {:6} | {:8.3} | {:8.2} ± {:6.2} | {:8.3} | {:8.2} ± {:6.2} | {:8.3} | {:10.2} |\n",
            r.test.pp, r.test.tg, r.test.pl, r.n_kv, s.t_pp, s.speed_pp, s.speed_pp_stddev, s.t_tg,
            s.speed_tg, s.speed_tg_stddev, s.t, s.speed
        ));
    }
    out
}

/// One JSON object per combination with llama-batched-bench's field names (`pp`, `tg`, `pl`,
/// `n_kv`, `t_pp`, `speed_pp`, ...) plus the deviations and the runs.
pub fn jsonl(results: &[BatchedResult], context: &serde_json::Value) -> String {
    results
        .iter()
        .map(|r| {
            let s = summarize(r);
            let mut v = serde_json::json!({
                "pp": r.test.pp, "tg": r.test.tg, "pl": r.test.pl, "n_kv": r.n_kv,
                "t_pp": s.t_pp, "speed_pp": s.speed_pp, "speed_pp_stddev": s.speed_pp_stddev,
                "t_tg": s.t_tg, "speed_tg": s.speed_tg, "speed_tg_stddev": s.speed_tg_stddev,
                "t": s.t, "speed": s.speed, "runs": r.runs,
            });
            if let (Some(v), Some(c)) = (v.as_object_mut(), context.as_object()) {
                v.extend(c.clone());
            }
            v.to_string() + "\n"
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_follow_llama_batched_bench() {
        let r = BatchedResult {
            test: Batched {
                pp: 128,
                tg: 32,
                pl: 4,
            },
            n_kv: 640,
            runs: vec![
                BatchedTimes {
                    t_pp: 2.0,
                    t_tg: 4.0,
                },
                BatchedTimes {
                    t_pp: 1.0,
                    t_tg: 2.0,
                },
            ],
        };
        let s = summarize(&r);
        // 4 x 128 prompt tokens in 2 s and 1 s: 256 and 512 t/s.
        assert_eq!(s.speed_pp, 384.0);
        // 4 x 32 generated tokens in 4 s and 2 s: 32 and 64 t/s.
        assert_eq!(s.speed_tg, 48.0);
        // 640 tokens in 6 s and 3 s.
        assert!((s.speed - (640.0 / 6.0 + 640.0 / 3.0) / 2.0).abs() < 1e-9);
        assert!(markdown(std::slice::from_ref(&r)).contains("|   128 |     32 |    4 |    640 |"));
        let line = jsonl(&[r], &serde_json::json!({"n_batch": 512}));
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["speed_tg"], 48.0);
        assert_eq!(v["n_batch"], 512);
    }
}
