//! What callers ask the engine for and what they get back: plain types, no llama.cpp.

use super::logs::Buffer;
use super::template::Message;
use crate::config::SamplingSettings;

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model produced an end-of-generation token.
    Eog,
    MaxTokens,
    StopSequence,
    /// The context has no room for another token.
    ContextFull,
    /// Ctrl-C, or the reader of the output went away.
    Interrupted,
}

/// What to generate from.
#[derive(Debug, Clone)]
pub enum Prompt {
    /// Raw completion: the text continues as is (BOS added when the model wants one).
    Raw(String),
    /// Messages rendered through the model's chat template; the reply is generated.
    Chat(Vec<Message>),
}

/// One generation request.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub prompt: Prompt,
    pub max_tokens: Option<u32>,
    pub sampling: SamplingSettings,
    /// The seed actually used (a random one when the settings have none).
    pub seed: u32,
    pub stop: Vec<String>,
    /// End-of-generation tokens get a logit bias of -inf, as llama.cpp's `--ignore-eos`.
    pub ignore_eos: bool,
}

/// Measured figures of one generation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GenerationStats {
    pub prompt_tokens: usize,
    pub prompt_ms: f64,
    pub ttft_ms: Option<f64>,
    pub gen_tokens: usize,
    pub gen_ms: f64,
    pub stop_reason: StopReason,
    pub n_ctx: u32,
    /// KV cache and compute buffers of this context.
    pub context_buffers: Vec<Buffer>,
}
