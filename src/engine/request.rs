//! What callers ask the engine for and what they get back: plain types, no llama.cpp.

use super::logs::Buffer;
use super::speculative::SpecStats;
use super::template::Message;
use crate::config::SamplingSettings;
use crate::config::defaults::RANDOM_SEED_MARKER;

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
    /// Added to the logits of these token ids before sampling (OpenAI's `logit_bias`).
    pub logit_bias: Vec<(i32, f32)>,
    /// A GBNF grammar the output must follow (llama.cpp's grammar sampler), e.g. from a JSON
    /// schema.
    pub grammar: Option<String>,
    /// Record, for every generated token, the two highest logits before sampling (to explain
    /// where two runs part: a near-tie or not). Costs a pass over the vocabulary per token.
    pub trace: bool,
}

/// The two best candidates at one generated position, and the token taken.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TopTwo {
    pub chosen: i32,
    pub first: (i32, f32),
    pub second: (i32, f32),
}

impl TopTwo {
    /// The best two of `logits`.
    pub fn of(logits: &[f32], chosen: i32) -> TopTwo {
        let mut first = (0i32, f32::NEG_INFINITY);
        let mut second = (0i32, f32::NEG_INFINITY);
        for (i, &l) in logits.iter().enumerate() {
            if l > first.1 {
                second = first;
                first = (i as i32, l);
            } else if l > second.1 {
                second = (i as i32, l);
            }
        }
        TopTwo {
            chosen,
            first,
            second,
        }
    }

    /// `"best" 15.358, "second" 15.229 (0.129)`, with `text` spelling a token id.
    pub fn describe(&self, text: impl Fn(i32) -> String) -> String {
        format!(
            "{:?} {:.3}, {:?} {:.3} ({:.3})",
            text(self.first.0),
            self.first.1,
            text(self.second.0),
            self.second.1,
            self.first.1 - self.second.1
        )
    }
}

impl GenerateRequest {
    /// A request with the given prompt and sampling, no limits or constraints.
    pub fn new(prompt: Prompt, sampling: SamplingSettings, seed: u32) -> Self {
        GenerateRequest {
            prompt,
            max_tokens: None,
            sampling,
            seed,
            stop: Vec::new(),
            ignore_eos: false,
            logit_bias: Vec::new(),
            grammar: None,
            trace: false,
        }
    }
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
    /// Drafting figures, when speculative decoding was used.
    pub speculative: Option<SpecStats>,
}

/// A seed from the OS's randomness (std's hasher keys are seeded from it), never llama.cpp's
/// "pick a random seed" marker: the seed reported must be the seed used, so the same seed
/// given back reproduces the text.
pub fn random_seed() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    not_the_marker(h.finish() as u32)
}

fn not_the_marker(seed: u32) -> u32 {
    if seed == RANDOM_SEED_MARKER {
        seed - 1
    } else {
        seed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_seeds_are_never_the_marker() {
        assert_eq!(not_the_marker(RANDOM_SEED_MARKER), RANDOM_SEED_MARKER - 1);
        assert_eq!(not_the_marker(0), 0);
        assert!((0..1000).all(|_| random_seed() != RANDOM_SEED_MARKER));
    }
}
