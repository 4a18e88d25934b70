//! What `inferno run` needs once the model is loaded, shared by a single run ([`super::run`])
//! and the interactive chat ([`super::chat`]): the settings, how prompts are built, and the
//! facts a report shows.

use std::sync::Arc;

use crate::config::Settings;
use crate::engine::request::random_seed;
use crate::engine::speculative::SpecSetup;
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
    /// Speculative decoding (draft model, prompt lookup), when asked for.
    pub spec: Option<SpecSetup>,
    /// The `--gpu-layers auto` decision, for the report.
    pub placement: Option<crate::modelinfo::placement::Placement>,
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
            logit_bias: Vec::new(),
            grammar: None,
            trace: false,
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
            placement: self.placement.as_ref(),
        }
    }
}
