//! What `inferno run` reports about a generation: the `--json` object and the `--verbose`
//! statistics block. Pure functions from measured figures to output; no I/O here.

use serde::Serialize;

use crate::engine::logs::Buffer;
use crate::engine::speculative::SpecStats;
use crate::engine::{GenerationStats, Offload, StopReason};
use crate::modelinfo::placement::Placement;

/// The `--json` object (schema documented in README.md; field names are stable).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunReport {
    pub text: String,
    pub model: String,
    /// "chat" (the model's template was applied) or "raw".
    pub mode: &'static str,
    /// The llama.cpp built-in template the model's template matched, if any.
    pub template: Option<String>,
    pub stop_reason: StopReason,
    pub seed: u32,
    pub load_ms: f64,
    pub prompt_tokens: usize,
    pub prompt_ms: f64,
    pub prompt_tps: Option<f64>,
    pub ttft_ms: Option<f64>,
    pub gen_tokens: usize,
    pub gen_ms: f64,
    pub gen_tps: Option<f64>,
    pub gpu_layers_offloaded: u32,
    pub n_layers: u32,
    pub threads: u32,
    pub context_size: u32,
    pub batch_size: u32,
    /// Buffers llama.cpp allocated: weights, KV cache, compute; per device.
    pub memory: Vec<Buffer>,
    /// Present when speculative decoding ran (--draft-model, --lookup).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speculative: Option<SpecReport>,
    /// Present with `--gpu-layers auto`: the decision, and what llama.cpp then allocated on
    /// the GPUs (weights, KV cache and compute buffers not in host memory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<PlacementReport>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlacementReport {
    #[serde(flatten)]
    pub decision: Placement,
    pub allocated_gpu_bytes: u64,
}

/// Whether a buffer is in host memory (`CPU`, `CPU_Mapped`, `CPU_REPACK`, `CUDA_Host` ...).
pub fn host_buffer(device: &str) -> bool {
    device.starts_with("CPU") || device.ends_with("_Host")
}

/// Speculative decoding's counts; `gen_tps` above is the effective rate.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SpecReport {
    pub drafted: usize,
    pub accepted: usize,
    /// accepted / drafted.
    pub acceptance: f64,
    /// Target evaluations that generated the text (the plain loop needs one per token).
    pub steps: usize,
    /// Of those, evaluations that verified proposals.
    pub verify_steps: usize,
    /// Accepted proposals per verification.
    pub accepted_per_verify: f64,
    pub lookup_drafted: usize,
    pub lookup_accepted: usize,
    /// Time the draft model ran.
    pub draft_ms: f64,
}

impl SpecReport {
    pub fn of(s: &SpecStats) -> SpecReport {
        SpecReport {
            drafted: s.drafted,
            accepted: s.accepted,
            acceptance: round4(s.acceptance()),
            steps: s.steps,
            verify_steps: s.verify_steps,
            accepted_per_verify: round2(s.accepted_per_verify()),
            lookup_drafted: s.lookup_drafted,
            lookup_accepted: s.lookup_accepted,
            draft_ms: round2(s.draft_ms),
        }
    }
}

/// What the caller knows besides the generation's own statistics.
pub struct RunFacts<'a> {
    pub model: &'a str,
    pub chat: bool,
    pub template: Option<&'a str>,
    pub seed: u32,
    pub load_ms: f64,
    pub offload: Offload,
    pub model_buffers: &'a [Buffer],
    pub threads: u32,
    pub batch_size: u32,
    pub placement: Option<&'a Placement>,
}

/// Tokens per second, absent when nothing was timed.
pub fn rate(tokens: usize, ms: f64) -> Option<f64> {
    (tokens > 0 && ms > 0.0).then(|| tokens as f64 / ms * 1e3)
}

pub fn run_report(text: String, facts: &RunFacts<'_>, s: &GenerationStats) -> RunReport {
    RunReport {
        text,
        model: facts.model.to_string(),
        mode: if facts.chat { "chat" } else { "raw" },
        template: facts.template.map(str::to_string),
        stop_reason: s.stop_reason,
        seed: facts.seed,
        load_ms: round2(facts.load_ms),
        prompt_tokens: s.prompt_tokens,
        prompt_ms: round2(s.prompt_ms),
        prompt_tps: rate(s.prompt_tokens, s.prompt_ms).map(round2),
        ttft_ms: s.ttft_ms.map(round2),
        gen_tokens: s.gen_tokens,
        gen_ms: round2(s.gen_ms),
        gen_tps: rate(s.gen_tokens, s.gen_ms).map(round2),
        gpu_layers_offloaded: facts.offload.layers,
        n_layers: facts.offload.total,
        threads: facts.threads,
        context_size: s.n_ctx,
        batch_size: facts.batch_size,
        memory: facts
            .model_buffers
            .iter()
            .chain(&s.context_buffers)
            .cloned()
            .collect(),
        speculative: s.speculative.as_ref().map(SpecReport::of),
        placement: facts.placement.map(|p| PlacementReport {
            decision: p.clone(),
            allocated_gpu_bytes: facts
                .model_buffers
                .iter()
                .chain(&s.context_buffers)
                .filter(|b| !host_buffer(&b.device))
                .map(|b| b.bytes)
                .sum(),
        }),
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The `--verbose` block, in the spirit of `ollama run --verbose`.
pub fn verbose_block(r: &RunReport) -> String {
    let opt = |v: Option<f64>, unit: &str| {
        v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2} {unit}"))
    };
    let mut lines = vec![
        format!("model:                {}", r.model),
        format!(
            "mode:                 {}{}",
            r.mode,
            r.template
                .as_ref()
                .map_or(String::new(), |t| format!(" (template {t})"))
        ),
        format!("load duration:        {:.2} ms", r.load_ms),
        format!("prompt eval count:    {} token(s)", r.prompt_tokens),
        format!("prompt eval duration: {:.2} ms", r.prompt_ms),
        format!("prompt eval rate:     {}", opt(r.prompt_tps, "tokens/s")),
        format!("time to first token:  {}", opt(r.ttft_ms, "ms")),
        format!("eval count:           {} token(s)", r.gen_tokens),
        format!("eval duration:        {:.2} ms", r.gen_ms),
        format!("eval rate:            {}", opt(r.gen_tps, "tokens/s")),
        format!(
            "layers offloaded:     {}/{}",
            r.gpu_layers_offloaded, r.n_layers
        ),
        format!("threads:              {}", r.threads),
        format!("context size:         {}", r.context_size),
        format!("seed:                 {}", r.seed),
        format!("stop reason:          {}", stop_reason_name(r.stop_reason)),
    ];
    if let Some(s) = &r.speculative {
        lines.push(format!(
            "drafted / accepted:   {} / {} ({:.1} %; {} from prompt lookup, {} kept)",
            s.drafted,
            s.accepted,
            s.acceptance * 100.0,
            s.lookup_drafted,
            s.lookup_accepted
        ));
        lines.push(format!(
            "target steps:         {} for {} token(s); {} verified proposals, {:.2} accepted each",
            s.steps, r.gen_tokens, s.verify_steps, s.accepted_per_verify
        ));
        lines.push(format!("draft duration:       {:.2} ms", s.draft_ms));
    }
    for b in &r.memory {
        lines.push(format!(
            "memory:               {:<8} {:<12} {}",
            format!("{:?}", b.kind).to_lowercase(),
            b.device,
            crate::units::bytes(b.bytes)
        ));
    }
    lines.join("\n") + "\n"
}

pub fn stop_reason_name(r: StopReason) -> &'static str {
    match r {
        StopReason::Eog => "eog",
        StopReason::MaxTokens => "max_tokens",
        StopReason::StopSequence => "stop_sequence",
        StopReason::ContextFull => "context_full",
        StopReason::Interrupted => "interrupted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::logs::BufferKind;

    fn stats() -> GenerationStats {
        GenerationStats {
            prompt_tokens: 6,
            prompt_ms: 30.0,
            ttft_ms: Some(41.234),
            gen_tokens: 10,
            gen_ms: 200.0,
            stop_reason: StopReason::MaxTokens,
            n_ctx: 2048,
            context_buffers: vec![Buffer {
                device: "CPU".into(),
                kind: BufferKind::Kv,
                bytes: 1 << 20,
            }],
            speculative: None,
        }
    }

    #[test]
    fn report_rates_and_memory() {
        let model_buffers = [Buffer {
            device: "CPU_Mapped".into(),
            kind: BufferKind::Model,
            bytes: 5 << 20,
        }];
        let facts = RunFacts {
            model: "m.gguf",
            chat: true,
            template: Some("chatml"),
            seed: 7,
            load_ms: 123.456,
            offload: Offload {
                layers: 0,
                total: 25,
            },
            model_buffers: &model_buffers,
            threads: 2,
            batch_size: 512,
            placement: None,
        };
        let r = run_report("hi".into(), &facts, &stats());
        assert_eq!(r.prompt_tps, Some(200.0));
        assert_eq!(r.gen_tps, Some(50.0));
        assert_eq!(r.ttft_ms, Some(41.23));
        assert_eq!(r.load_ms, 123.46);
        assert_eq!(r.memory.len(), 2);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["stop_reason"], "max_tokens");
        assert_eq!(json["mode"], "chat");
        let block = verbose_block(&r);
        assert!(
            block.contains("eval rate:            50.00 tokens/s"),
            "{block}"
        );
        assert!(block.contains("layers offloaded:     0/25"));
    }

    #[test]
    fn no_tokens_no_rate() {
        assert_eq!(rate(0, 10.0), None);
        assert_eq!(rate(5, 0.0), None);
    }
}
