//! Range checks and cross-field rules, run once on the merged settings. Messages name the
//! flag and the config key, since either may have set the value.

use super::defaults::RANDOM_SEED_MARKER;
use super::settings::Settings;
use crate::error::{Exit, fail};

/// Range checks. Messages name the flag and the config key, since either may have set it.
pub(super) fn validate(s: &Settings) -> anyhow::Result<()> {
    let b = &s.backend;
    let p = &s.sampling;
    let bad = |flag: &str, key: &str, why: String| {
        Err(fail(
            Exit::Usage,
            format!("invalid {flag} (config key {key}): {why}"),
        ))
    };
    if b.batch_size == 0 {
        return bad(
            "-b/--batch-size",
            "backend_config.batch_size",
            "must be at least 1".into(),
        );
    }
    if b.ubatch_size == 0 || b.ubatch_size > b.batch_size {
        return bad(
            "--ubatch-size",
            "backend_config.ubatch_size",
            format!(
                "{} must be between 1 and the batch size ({})",
                b.ubatch_size, b.batch_size
            ),
        );
    }
    if b.threads == 0 || b.threads > 1024 {
        return bad(
            "-t/--threads",
            "backend_config.threads",
            format!("{} must be between 1 and 1024", b.threads),
        );
    }
    if !p.temp.is_finite() || p.temp < 0.0 {
        return bad(
            "--temp",
            "sampling.temp",
            format!("{} must be 0 (greedy) or more", p.temp),
        );
    }
    if !(0.0..=1.0).contains(&p.top_p) {
        return bad(
            "--top-p",
            "sampling.top_p",
            format!("{} must be between 0 and 1", p.top_p),
        );
    }
    if !(0.0..=1.0).contains(&p.min_p) {
        return bad(
            "--min-p",
            "sampling.min_p",
            format!("{} must be between 0 and 1", p.min_p),
        );
    }
    if p.top_k < 0 {
        return bad(
            "--top-k",
            "sampling.top_k",
            format!("{} must be 0 (off) or more", p.top_k),
        );
    }
    if !p.repeat_penalty.is_finite() || p.repeat_penalty <= 0.0 {
        return bad(
            "--repeat-penalty",
            "sampling.repeat_penalty",
            format!("{} must be above 0 (1 = off)", p.repeat_penalty),
        );
    }
    if p.repeat_last_n < -1 {
        return bad(
            "--repeat-last-n",
            "sampling.repeat_last_n",
            format!(
                "{} must be -1 (whole context), 0 (off) or more",
                p.repeat_last_n
            ),
        );
    }
    for (flag, key, v) in [
        (
            "--frequency-penalty",
            "sampling.frequency_penalty",
            p.frequency_penalty,
        ),
        (
            "--presence-penalty",
            "sampling.presence_penalty",
            p.presence_penalty,
        ),
    ] {
        if !(-2.0..=2.0).contains(&v) {
            return bad(flag, key, format!("{v} must be between -2 and 2 (0 = off)"));
        }
    }
    let ts = &b.split.tensor_split;
    if !ts.is_empty()
        && (ts.iter().any(|x| !x.is_finite() || *x < 0.0) || ts.iter().all(|x| *x == 0.0))
    {
        return bad(
            "--tensor-split",
            "backend_config.tensor_split",
            format!("{ts:?}: shares must be 0 or more, and not all 0"),
        );
    }
    let sv = &s.server;
    if sv.parallel == 0 || sv.parallel > 512 {
        return bad(
            "--parallel",
            "server.parallel",
            format!("{} must be between 1 and 512", sv.parallel),
        );
    }
    if sv.host.trim().is_empty() {
        return bad("--host", "server.host", "must not be empty".into());
    }
    if sv.body_limit < 1024 {
        return bad(
            "--body-limit",
            "server.body_limit",
            format!(
                "{} bytes is too small for any request (at least 1024)",
                sv.body_limit
            ),
        );
    }
    if sv.request_timeout == 0 {
        return bad(
            "--request-timeout",
            "server.request_timeout",
            "must be at least 1 second".into(),
        );
    }
    if sv.max_loaded == 0 {
        return bad(
            "--max-loaded",
            "server.max_loaded",
            "must be at least 1".into(),
        );
    }
    if sv.max_memory == Some(0) {
        return bad(
            "--max-memory",
            "server.max_memory",
            "must be more than 0 bytes".into(),
        );
    }
    let mut names = std::collections::HashSet::new();
    for (i, m) in s.models.iter().enumerate() {
        let key = format!("models[{i}]");
        let name = m.name();
        if name.is_empty() || name.contains('/') {
            return bad(
                "[[models]]",
                &key,
                format!("name '{name}' must be non-empty, without '/'"),
            );
        }
        if !names.insert(name.clone()) {
            return bad(
                "[[models]]",
                &key,
                format!(
                    "name '{name}' is given twice; names pick the model, so each must be unique"
                ),
            );
        }
        if m.parallel.is_some_and(|p| p == 0 || p > 512) {
            return bad(
                "[[models]]",
                &key,
                "parallel must be between 1 and 512".into(),
            );
        }
        if m.context_size == Some(0) {
            return bad("[[models]]", &key, "context_size must be at least 1".into());
        }
    }
    let sp = &s.speculative;
    if sp.draft_max == 0 || sp.draft_max > 64 {
        return bad(
            "--draft-max",
            "speculative.draft_max",
            format!("{} must be between 1 and 64", sp.draft_max),
        );
    }
    if sp.draft_min > sp.draft_max {
        return bad(
            "--draft-min",
            "speculative.draft_min",
            format!(
                "{} must not exceed --draft-max ({})",
                sp.draft_min, sp.draft_max
            ),
        );
    }
    if !(0.0..=1.0).contains(&sp.draft_p_min) {
        return bad(
            "--draft-p-min",
            "speculative.draft_p_min",
            format!("{} must be between 0 and 1", sp.draft_p_min),
        );
    }
    if sp.lookup_ngram == 0 || sp.lookup_ngram > 8 {
        return bad(
            "--lookup-ngram",
            "speculative.lookup_ngram",
            format!("{} must be between 1 and 8", sp.lookup_ngram),
        );
    }
    if p.seed == Some(RANDOM_SEED_MARKER) {
        return bad(
            "-s/--seed",
            "sampling.seed",
            format!(
                "{RANDOM_SEED_MARKER} is llama.cpp's \"pick a random seed\" marker, not a seed; use 0 to {}, or leave the seed unset for a random one",
                RANDOM_SEED_MARKER - 1
            ),
        );
    }
    Ok(())
}
