//! What `inferno run` needs once the model is loaded, shared by a single run ([`super::run`])
//! and the interactive chat ([`super::chat`]): the settings, how prompts are built, and the
//! facts a report shows.

use std::sync::Arc;

use crate::config::Settings;
use crate::config::defaults::RANDOM_SEED_MARKER;
use crate::engine::template::{Message, Role};
use crate::engine::{GenerateRequest, LoadedModel, Prompt};
use crate::report::RunFacts;
use crate::signals::Interrupts;

pub struct Session {
    pub model: Arc<LoadedModel>,
    pub settings: Settings,
    pub use_chat: bool,
    pub system: Option<String>,
    pub stop: Vec<String>,
    pub max_tokens: Option<u32>,
    pub ignore_eos: bool,
    pub interrupts: Interrupts,
}

impl Session {
    /// The prompt for one user input, with the system message when chatting.
    pub fn prompt(&self, history: &[Message], user: &str) -> Prompt {
        if !self.use_chat {
            return Prompt::Raw(user.to_string());
        }
        let mut messages = Vec::with_capacity(history.len() + 2);
        if let Some(system) = &self.system {
            messages.push(Message::new(Role::System, system.clone()));
        }
        messages.extend_from_slice(history);
        messages.push(Message::new(Role::User, user));
        Prompt::Chat(messages)
    }

    pub fn request(&self, prompt: Prompt) -> GenerateRequest {
        GenerateRequest {
            prompt,
            max_tokens: self.max_tokens,
            sampling: self.settings.sampling.clone(),
            seed: self.settings.sampling.seed.unwrap_or_else(random_seed),
            stop: self.stop.clone(),
            ignore_eos: self.ignore_eos,
        }
    }

    pub fn facts(&self, seed: u32) -> RunFacts<'_> {
        RunFacts {
            model: self.model.path.to_str().unwrap_or("?"),
            chat: self.use_chat,
            template: self
                .model
                .chat
                .as_ref()
                .filter(|_| self.use_chat)
                .and_then(|f| f.name.as_deref()),
            seed,
            load_ms: self.model.load_ms,
            offload: self.model.offload,
            model_buffers: &self.model.buffers,
            threads: self.settings.backend.threads,
            batch_size: self.settings.backend.batch_size,
        }
    }
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
