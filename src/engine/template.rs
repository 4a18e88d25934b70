//! Chat templates: turning messages into the prompt text an instruct model was trained on.
//!
//! The template comes from the model (`tokenizer.chat_template`) and is applied by llama.cpp's
//! built-in template matcher (not a Jinja engine). The matcher recognizes the template by its
//! content; to report which one it used we render a probe conversation with the model's
//! template and with each of llama.cpp's named built-in templates and keep the first that
//! renders identically.

use std::ffi::{CStr, CString, c_char};

use llama_cpp_2::model::LlamaModel;

use crate::error::{Exit, fail};

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
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
    /// The template text from the model (`tokenizer.chat_template`).
    template: String,
    /// The llama.cpp built-in template it renders like (e.g. `chatml`), if any.
    pub name: Option<String>,
    /// The template's first line, for display.
    pub first_line: String,
}

impl ChatFormat {
    /// The model's template, or `None` when it has none (base models) or llama.cpp cannot
    /// apply it (then it must not fail later either).
    pub fn from_model(model: &LlamaModel) -> Option<ChatFormat> {
        let template = model.chat_template(None).ok()?.to_string().ok()?;
        apply(&template, &probe(), true)?;
        Some(ChatFormat {
            name: template_name(&template),
            first_line: template
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("")
                .to_string(),
            template,
        })
    }

    /// Render `messages`, ending with the assistant's turn header when `add_assistant`.
    pub fn render(&self, messages: &[Message], add_assistant: bool) -> anyhow::Result<String> {
        apply(&self.template, messages, add_assistant).ok_or_else(|| {
            fail(
                Exit::Prompt,
                "llama.cpp could not apply the model's chat template to this prompt (a NUL byte?); use --raw",
            )
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

/// The llama.cpp built-in template that renders a probe conversation exactly as `template`
/// does (llama.cpp recognizes templates by content; this names what it recognized).
pub fn template_name(template: &str) -> Option<String> {
    let probe = probe();
    let ours = apply(template, &probe, true)?;
    builtin_template_names()
        .into_iter()
        .find(|name| apply(name, &probe, true).is_some_and(|theirs| theirs == ours))
}

/// Render `messages` with a template (a template text or a built-in name) through
/// `llama_chat_apply_template`, which needs no model. `None` if llama.cpp cannot apply it.
fn apply(template: &str, messages: &[Message], add_assistant: bool) -> Option<String> {
    let tmpl = CString::new(template).ok()?;
    let owned: Vec<(CString, CString)> = messages
        .iter()
        .map(|m| {
            Some((
                CString::new(m.role.as_str()).ok()?,
                CString::new(m.content.as_str()).ok()?,
            ))
        })
        .collect::<Option<_>>()?;
    let chat: Vec<llama_cpp_sys_2::llama_chat_message> = owned
        .iter()
        .map(|(role, content)| llama_cpp_sys_2::llama_chat_message {
            role: role.as_ptr(),
            content: content.as_ptr(),
        })
        .collect();
    let mut buf = vec![0u8; 256 + messages.iter().map(|m| m.content.len() * 2).sum::<usize>()];
    for _ in 0..2 {
        // SAFETY: all pointers are valid NUL-terminated strings for the call; llama.cpp writes
        // at most `buf.len()` bytes and returns the length it needs.
        let n = unsafe {
            llama_cpp_sys_2::llama_chat_apply_template(
                tmpl.as_ptr(),
                chat.as_ptr(),
                chat.len(),
                add_assistant,
                buf.as_mut_ptr().cast(),
                i32::try_from(buf.len()).ok()?,
            )
        };
        let n = usize::try_from(n).ok()?;
        if n <= buf.len() {
            buf.truncate(n);
            return String::from_utf8(buf).ok();
        }
        buf.resize(n, 0);
    }
    None
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
