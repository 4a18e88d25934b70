//! What the speculative-decoding examples share: their prompt files (JSON lines, or a JSON
//! array such as src/bench/spec_prompts.json, of objects with "raw" or "chat"), the greedy
//! request each prompt becomes, and the CPU context they run in.

use inferno::config::{FlashAttn, SamplingSettings};
use inferno::engine::template::{Message, Role};
use inferno::engine::{ContextOptions, GenerateRequest, Prompt};

/// The prompt objects of `path`.
pub fn prompt_items(path: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let text = std::fs::read_to_string(path)?;
    if text.trim_start().starts_with('[') {
        return Ok(serde_json::from_str(&text)?);
    }
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?)
}

/// A greedy request for up to `tokens` tokens of the prompt object `v`.
pub fn greedy_request(v: &serde_json::Value, tokens: u32) -> anyhow::Result<GenerateRequest> {
    let prompt = match (v["raw"].as_str(), v["chat"].as_str()) {
        (Some(raw), _) => Prompt::Raw(raw.into()),
        (None, Some(chat)) => Prompt::Chat(vec![Message::new(Role::User, chat)]),
        _ => anyhow::bail!("each prompt needs \"raw\" or \"chat\""),
    };
    let mut req = GenerateRequest::new(
        prompt,
        SamplingSettings {
            temp: 0.0,
            ..SamplingSettings::default()
        },
        0,
    );
    req.max_tokens = Some(tokens);
    Ok(req)
}

/// One sequence of 4,096 tokens on the CPU.
pub fn cpu_context(threads: u32) -> ContextOptions {
    ContextOptions {
        n_ctx: 4096,
        n_batch: 512,
        n_ubatch: 512,
        threads,
        flash_attn: FlashAttn::Auto,
        op_offload: false,
        n_seq: 1,
    }
}
