//! `inferno bench --draft-model/--lookup`: plain and speculative greedy generation side by
//! side, on a fixed set of real prompts (acceptance depends on the text: random tokens would
//! make it meaningless). Code completion, edits that repeat their input, JSON, prose: where
//! drafting should pay and where it should turn itself off. Each prompt runs `-r` times per
//! mode, the two modes alternating so drift on a noisy machine hits both; every run starts from
//! an empty cache and a fresh speculator (nothing learnt carries over), with a fixed length
//! (`ignore_eos`) so both modes generate the same number of tokens.

use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::stats::{mean, stddev};
use crate::config::SamplingSettings;
use crate::engine::speculative::SpecSetup;
use crate::engine::template::{Message, Role};
use crate::engine::{ContextOptions, GenerateRequest, Inference, LoadedModel, Prompt};

/// One prompt of the fixed set.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BenchPrompt {
    pub name: String,
    /// code, edit or prose.
    pub kind: String,
    #[serde(default)]
    pub raw: Option<String>,
    #[serde(default)]
    pub chat: Option<String>,
}

/// The built-in prompts.
pub fn prompts() -> Vec<BenchPrompt> {
    serde_json::from_str(include_str!("spec_prompts.json")).expect("built-in prompts parse")
}

impl BenchPrompt {
    fn prompt(&self, chat_ok: bool) -> Prompt {
        match (&self.raw, &self.chat) {
            (Some(raw), _) => Prompt::Raw(raw.clone()),
            (None, Some(chat)) if chat_ok => Prompt::Chat(vec![Message::new(Role::User, chat)]),
            (None, Some(chat)) => Prompt::Raw(chat.clone()),
            (None, None) => Prompt::Raw(self.name.clone()),
        }
    }
}

/// One timed generation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecRun {
    pub gen_tokens: usize,
    pub gen_ms: f64,
    pub tps: f64,
    pub drafted: usize,
    pub accepted: usize,
    pub steps: usize,
}

/// Both modes on one prompt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecResult {
    pub prompt: String,
    pub kind: String,
    pub plain: Vec<SpecRun>,
    pub speculative: Vec<SpecRun>,
    /// Whether the speculative text equalled the plain text in every run.
    pub identical: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpecSummary {
    pub plain_tps: f64,
    pub plain_tps_stddev: f64,
    pub spec_tps: f64,
    pub spec_tps_stddev: f64,
    pub speedup: f64,
    pub acceptance: f64,
    /// Tokens per target evaluation (the plain loop: 1).
    pub tokens_per_step: f64,
}

pub fn summarize(r: &SpecResult) -> SpecSummary {
    let tps = |runs: &[SpecRun]| runs.iter().map(|x| x.tps).collect::<Vec<_>>();
    let (p, s) = (tps(&r.plain), tps(&r.speculative));
    let drafted: usize = r.speculative.iter().map(|x| x.drafted).sum();
    let accepted: usize = r.speculative.iter().map(|x| x.accepted).sum();
    let tokens: usize = r.speculative.iter().map(|x| x.gen_tokens).sum();
    let steps: usize = r.speculative.iter().map(|x| x.steps).sum();
    SpecSummary {
        plain_tps: mean(&p),
        plain_tps_stddev: stddev(&p),
        spec_tps: mean(&s),
        spec_tps_stddev: stddev(&s),
        speedup: mean(&s) / mean(&p),
        acceptance: if drafted == 0 {
            0.0
        } else {
            accepted as f64 / drafted as f64
        },
        tokens_per_step: if steps == 0 {
            0.0
        } else {
            tokens as f64 / steps as f64
        },
    }
}

/// Run every prompt: one untimed warm-up per mode, then `reps` timed runs per mode.
#[allow(clippy::too_many_arguments)]
pub fn run(
    model: &LoadedModel,
    ctx: &ContextOptions,
    spec: &SpecSetup,
    prompts: &[BenchPrompt],
    n_gen: u32,
    reps: u32,
    cancel: &AtomicBool,
    mut progress: impl FnMut(&str, u32),
) -> anyhow::Result<Vec<SpecResult>> {
    let mut inf = Inference::new(model, ctx)?;
    let chat_ok = model.chat.is_some();
    let mut results = Vec::new();
    for p in prompts {
        let mut req = GenerateRequest::new(
            p.prompt(chat_ok),
            SamplingSettings {
                temp: 0.0,
                ..SamplingSettings::default()
            },
            0,
        );
        req.max_tokens = Some(n_gen);
        req.ignore_eos = true;
        let mut result = SpecResult {
            prompt: p.name.clone(),
            kind: p.kind.clone(),
            plain: Vec::new(),
            speculative: Vec::new(),
            identical: true,
        };
        for rep in 0..=reps {
            progress(&p.name, rep);
            let (plain, plain_text) = once(&mut inf, ctx, None, &req, cancel)?;
            let (fast, fast_text) = once(&mut inf, ctx, Some(spec), &req, cancel)?;
            result.identical &= plain_text == fast_text;
            if rep > 0 {
                result.plain.push(plain);
                result.speculative.push(fast);
            }
        }
        results.push(result);
    }
    Ok(results)
}

fn once(
    inf: &mut Inference<'_>,
    ctx: &ContextOptions,
    spec: Option<&SpecSetup>,
    req: &GenerateRequest,
    cancel: &AtomicBool,
) -> anyhow::Result<(SpecRun, String)> {
    inf.clear();
    let mut speculator = spec.map(|s| s.speculator(ctx)).transpose()?;
    let mut text = String::new();
    let stats = inf.complete(req, cancel, speculator.as_mut(), |t| {
        text.push_str(&t);
        true
    })?;
    let s = stats.speculative.unwrap_or_default();
    Ok((
        SpecRun {
            gen_tokens: stats.gen_tokens,
            gen_ms: stats.gen_ms,
            tps: stats.gen_tokens as f64 / stats.gen_ms * 1e3,
            drafted: s.drafted,
            accepted: s.accepted,
            steps: if spec.is_some() {
                s.steps
            } else {
                stats.gen_tokens
            },
        },
        text,
    ))
}

/// The side-by-side table.
pub fn markdown(results: &[SpecResult]) -> String {
    let mut out = String::from(
        "| prompt | kind | plain t/s | speculative t/s | speed-up | acceptance | tokens/step | same text |\n| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for r in results {
        let s = summarize(r);
        out.push_str(&format!(
            "| {} | {} | {:.2} ± {:.2} | {:.2} ± {:.2} | {:.2}x | {:.1} % | {:.2} | {} |\n",
            r.prompt,
            r.kind,
            s.plain_tps,
            s.plain_tps_stddev,
            s.spec_tps,
            s.spec_tps_stddev,
            s.speedup,
            s.acceptance * 100.0,
            s.tokens_per_step,
            if r.identical { "yes" } else { "no" }
        ));
    }
    out
}
