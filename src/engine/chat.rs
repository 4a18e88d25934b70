//! Chat templates: turning messages into the prompt text an instruct model was trained on.
//!
//! The template comes from the model (`tokenizer.chat_template`) and is applied by llama.cpp's
//! built-in template matcher (not a Jinja engine). The matcher recognizes the template by its
//! content; to report which one it used we render a probe conversation with the model's
//! template and with each of llama.cpp's named built-in templates and keep the first that
//! renders identically.

use std::ffi::{CStr, c_char};

use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};

use crate::error::{Exit, fail};

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Message {
            role,
            content: content.into(),
        }
    }
}

/// A model's chat template.
pub struct ChatFormat {
    template: LlamaChatTemplate,
    /// The llama.cpp built-in template it renders like (e.g. `chatml`), if any.
    pub name: Option<String>,
    /// The template's first line, for display.
    pub first_line: String,
}

impl ChatFormat {
    /// The model's template, or `None` when it has none (base models).
    pub fn from_model(model: &LlamaModel) -> Option<ChatFormat> {
        let template = model.chat_template(None).ok()?;
        let text = template.to_string().unwrap_or_default();
        let first_line = text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        let mut format = ChatFormat {
            template,
            name: None,
            first_line,
        };
        format.name = format.detect_name(model);
        // A template llama.cpp cannot apply is as good as none, and must not fail later.
        format.render(model, &probe(), true).ok()?;
        Some(format)
    }

    /// Render `messages`, ending with the assistant's turn header when `add_assistant`.
    pub fn render(
        &self,
        model: &LlamaModel,
        messages: &[Message],
        add_assistant: bool,
    ) -> anyhow::Result<String> {
        let msgs = messages
            .iter()
            .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                fail(
                    Exit::Prompt,
                    format!("the prompt cannot be used in a chat message: {e}"),
                )
            })?;
        model
            .apply_chat_template(&self.template, &msgs, add_assistant)
            .map_err(|e| {
                fail(
                    Exit::Prompt,
                    format!("llama.cpp could not apply the model's chat template: {e}; use --raw"),
                )
            })
    }

    fn detect_name(&self, model: &LlamaModel) -> Option<String> {
        let probe = probe();
        let ours = self.render(model, &probe, true).ok()?;
        builtin_template_names().into_iter().find(|name| {
            LlamaChatTemplate::new(name)
                .ok()
                .and_then(|t| {
                    let msgs: Vec<_> = probe
                        .iter()
                        .filter_map(|m| {
                            LlamaChatMessage::new(m.role.as_str().into(), m.content.clone()).ok()
                        })
                        .collect();
                    model.apply_chat_template(&t, &msgs, true).ok()
                })
                .is_some_and(|theirs| theirs == ours)
        })
    }
}

fn probe() -> Vec<Message> {
    vec![
        Message::new(Role::System, "S"),
        Message::new(Role::User, "U1"),
        Message::new(Role::Assistant, "A1"),
        Message::new(Role::User, "U2"),
    ]
}

/// llama.cpp's named built-in templates.
pub fn builtin_template_names() -> Vec<String> {
    // SAFETY: with len 0 llama.cpp only returns the count; then it fills at most `n` pointers
    // to static strings.
    unsafe {
        let n = llama_cpp_sys_2::llama_chat_builtin_templates(std::ptr::null_mut(), 0);
        let Ok(len) = usize::try_from(n) else {
            return Vec::new();
        };
        let mut ptrs: Vec<*const c_char> = vec![std::ptr::null(); len];
        llama_cpp_sys_2::llama_chat_builtin_templates(ptrs.as_mut_ptr(), len);
        ptrs.into_iter()
            .filter(|p| !p.is_null())
            .map(|p| CStr::from_ptr(p).to_string_lossy().into_owned())
            .collect()
    }
}
