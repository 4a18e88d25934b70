//! Summary statistics of benchmark samples (pure functions).
//!
//! As llama-bench: the rate of a test is the mean of the per-repetition rates
//! (tokens / seconds of that repetition), with the sample standard deviation (n − 1).

use serde::Serialize;

use super::TestResult;

pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Sample standard deviation; 0 for fewer than two samples.
pub fn stddev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub avg_ns: f64,
    pub stddev_ns: f64,
    /// Tokens per second of each repetition.
    pub samples_ts: Vec<f64>,
    pub avg_ts: f64,
    pub stddev_ts: f64,
    /// Time to first token (tests with prompt and generation), mean and deviation in ms.
    pub ttft_ms: Option<f64>,
    pub ttft_stddev_ms: Option<f64>,
    /// Over all repetitions: tokens processed, seconds, tokens per second, ms per token.
    pub total_tokens: u64,
    pub total_s: f64,
    pub throughput_ts: f64,
    pub ms_per_token: f64,
}

pub fn summarize(r: &TestResult) -> Summary {
    let tokens = r.spec.tokens();
    let ns: Vec<f64> = r.samples_ns.iter().map(|&n| n as f64).collect();
    let samples_ts: Vec<f64> = ns
        .iter()
        .map(|&n| {
            if n > 0.0 {
                tokens as f64 * 1e9 / n
            } else {
                0.0
            }
        })
        .collect();
    let ttft: Vec<f64> = r.ttft_ns.iter().map(|&n| n as f64 / 1e6).collect();
    let total_tokens = tokens * r.samples_ns.len() as u64;
    let total_s = ns.iter().sum::<f64>() / 1e9;
    Summary {
        avg_ns: mean(&ns),
        stddev_ns: stddev(&ns),
        avg_ts: mean(&samples_ts),
        stddev_ts: stddev(&samples_ts),
        samples_ts,
        ttft_ms: (!ttft.is_empty()).then(|| mean(&ttft)),
        ttft_stddev_ms: (!ttft.is_empty()).then(|| stddev(&ttft)),
        total_tokens,
        total_s,
        throughput_ts: if total_s > 0.0 {
            total_tokens as f64 / total_s
        } else {
            0.0
        },
        ms_per_token: if total_tokens > 0 {
            total_s * 1e3 / total_tokens as f64
        } else {
            0.0
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_stddev() {
        assert_eq!(stddev(&[1.0]), 0.0);
        assert!((stddev(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]) - 2.138_089_935).abs() < 1e-6);
        assert_eq!(mean(&[]), 0.0);
    }
}
