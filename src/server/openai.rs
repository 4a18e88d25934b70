//! OpenAI's request shapes for `/v1/chat/completions` and `/v1/completions`, checked and
//! turned into engine requests. Every field is either used, harmless to ignore (`user`,
//! `metadata`, ...), or refused with a 400 that names it: a field that would change the
//! meaning of the answer (`n` > 1, `tools`, `logprobs`, ...) is never silently ignored.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::config::SamplingSettings;
use crate::engine::request::random_seed;
use crate::engine::template::{Message, Role};
use crate::engine::{GenerateRequest, Prompt, grammar};

/// Fields accepted and ignored: they do not change what is generated.
const HARMLESS: &[&str] = &[
    "user",
    "store",
    "metadata",
    "service_tier",
    "prompt_cache_key",
    "safety_identifier",
    "parallel_tool_calls",
];

/// Fields that would change the answer and that inferno does not implement.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("tools", "tool calling is not implemented"),
    ("tool_choice", "tool calling is not implemented"),
    ("functions", "function calling is not implemented"),
    ("function_call", "function calling is not implemented"),
    ("logprobs", "log probabilities are not returned"),
    ("top_logprobs", "log probabilities are not returned"),
    ("audio", "audio output is not supported"),
    ("modalities", "only text output is supported"),
    ("prediction", "predicted outputs are not supported"),
    ("reasoning_effort", "reasoning models are not supported"),
    ("web_search_options", "web search is not supported"),
    ("echo", "echoing the prompt is not supported"),
    ("suffix", "insertion (suffix) is not supported"),
    ("best_of", "best_of is not supported"),
];

/// What both endpoints share.
#[derive(Debug, Deserialize)]
pub struct Common {
    pub model: Option<String>,
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    pub max_tokens: Option<u32>,
    pub max_completion_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub top_k: Option<i32>,
    pub min_p: Option<f32>,
    pub seed: Option<i64>,
    pub stop: Option<Stop>,
    pub presence_penalty: Option<f32>,
    pub frequency_penalty: Option<f32>,
    pub repeat_penalty: Option<f32>,
    pub logit_bias: Option<Map<String, Value>>,
    pub response_format: Option<ResponseFormat>,
    pub n: Option<u32>,
    /// llama-server's extension: never stop at end-of-generation (fixed-length answers).
    #[serde(default)]
    pub ignore_eos: bool,
    /// ollama's extension: how long the model stays loaded after this request.
    pub keep_alive: Option<Value>,
    /// Every other field, checked against [`HARMLESS`] and [`UNSUPPORTED`].
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema { json_schema: JsonSchema },
}

#[derive(Debug, Deserialize)]
pub struct JsonSchema {
    #[allow(dead_code)] // part of OpenAI's shape; the schema is what constrains the output
    pub name: Option<String>,
    pub schema: Option<Value>,
    #[allow(dead_code)]
    pub strict: Option<bool>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ChatBody {
    pub messages: Vec<ChatMessage>,
    #[serde(flatten)]
    pub common: Common,
}

#[derive(Debug, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: Option<Content>,
    #[allow(dead_code)] // accepted as OpenAI allows it; templates have no place for it
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Debug, Deserialize)]
pub struct Part {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct CompletionBody {
    pub prompt: PromptIn,
    #[serde(flatten)]
    pub common: Common,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PromptIn {
    One(String),
    Many(Vec<String>),
}

/// How the answer is delivered.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    pub stream: bool,
    pub include_usage: bool,
}

/// A chat request: messages through the model's template.
pub fn chat(
    body: ChatBody,
    defaults: &SamplingSettings,
    has_template: bool,
) -> Result<(GenerateRequest, Delivery), ApiError> {
    if !has_template {
        return Err(ApiError::invalid(
            "messages",
            "this model has no chat template; use /v1/completions with a raw prompt",
        ));
    }
    if body.messages.is_empty() {
        return Err(ApiError::invalid(
            "messages",
            "at least one message is needed",
        ));
    }
    let mut messages = Vec::with_capacity(body.messages.len());
    for (i, m) in body.messages.into_iter().enumerate() {
        let role = match m.role.as_str() {
            "system" | "developer" => Role::System,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(ApiError::invalid(
                    format!("messages[{i}].role"),
                    format!("role '{other}' is not supported (system, developer, user, assistant)"),
                ));
            }
        };
        messages.push(Message::new(role, text(m.content, i)?));
    }
    request(Prompt::Chat(messages), body.common, defaults)
}

/// A raw completion: the prompt continues as is.
pub fn completion(
    body: CompletionBody,
    defaults: &SamplingSettings,
) -> Result<(GenerateRequest, Delivery), ApiError> {
    let prompt = match body.prompt {
        PromptIn::One(p) => p,
        PromptIn::Many(mut v) if v.len() == 1 => v.remove(0),
        PromptIn::Many(v) => {
            return Err(ApiError::unsupported(
                "prompt",
                &format!("{} prompts in one request (send one request each)", v.len()),
            ));
        }
    };
    if prompt.is_empty() {
        return Err(ApiError::invalid("prompt", "the prompt is empty"));
    }
    request(Prompt::Raw(prompt), body.common, defaults)
}

fn text(content: Option<Content>, i: usize) -> Result<String, ApiError> {
    match content {
        None => Ok(String::new()),
        Some(Content::Text(t)) => Ok(t),
        Some(Content::Parts(parts)) => {
            let mut out = String::new();
            for (j, p) in parts.into_iter().enumerate() {
                match (p.kind.as_str(), p.text) {
                    ("text", Some(t)) => out.push_str(&t),
                    (kind, _) => {
                        return Err(ApiError::invalid(
                            format!("messages[{i}].content[{j}]"),
                            format!("content parts of type '{kind}' are not supported (text only)"),
                        ));
                    }
                }
            }
            Ok(out)
        }
    }
}

fn request(
    prompt: Prompt,
    c: Common,
    defaults: &SamplingSettings,
) -> Result<(GenerateRequest, Delivery), ApiError> {
    for key in c.rest.keys() {
        if let Some((_, why)) = UNSUPPORTED.iter().find(|(k, _)| k == key) {
            // `logprobs: false`, `tools: []`, `echo: false`... ask for nothing: harmless.
            if !asks_for_nothing(&c.rest[key]) {
                return Err(ApiError::unsupported(key, why));
            }
        } else if !HARMLESS.contains(&key.as_str()) {
            return Err(ApiError::invalid(key, format!("unknown field '{key}'")));
        }
    }
    if c.n.is_some_and(|n| n != 1) {
        return Err(ApiError::unsupported("n", "one choice per request (n = 1)"));
    }
    let mut s = defaults.clone();
    let range = |name: &str, v: Option<f32>, lo: f32, hi: f32, into: &mut f32| {
        if let Some(v) = v {
            if !(lo..=hi).contains(&v) {
                return Err(ApiError::invalid(
                    name,
                    format!("{name} must be between {lo} and {hi}, not {v}"),
                ));
            }
            *into = v;
        }
        Ok(())
    };
    range("temperature", c.temperature, 0.0, 2.0, &mut s.temp)?;
    range("top_p", c.top_p, 0.0, 1.0, &mut s.top_p)?;
    range("min_p", c.min_p, 0.0, 1.0, &mut s.min_p)?;
    range(
        "presence_penalty",
        c.presence_penalty,
        -2.0,
        2.0,
        &mut s.presence_penalty,
    )?;
    range(
        "frequency_penalty",
        c.frequency_penalty,
        -2.0,
        2.0,
        &mut s.frequency_penalty,
    )?;
    range(
        "repeat_penalty",
        c.repeat_penalty,
        0.01,
        10.0,
        &mut s.repeat_penalty,
    )?;
    if let Some(k) = c.top_k {
        if k < 0 {
            return Err(ApiError::invalid(
                "top_k",
                format!("top_k must be 0 (off) or more, not {k}"),
            ));
        }
        s.top_k = k;
    }
    let seed = match c.seed {
        None => None,
        Some(v) if (0..i64::from(u32::MAX)).contains(&v) => Some(v as u32),
        Some(v) => {
            return Err(ApiError::invalid(
                "seed",
                format!("seed must be between 0 and 4294967294, not {v}"),
            ));
        }
    };
    let max_tokens = match (c.max_tokens, c.max_completion_tokens) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::invalid(
                "max_completion_tokens",
                "max_tokens and max_completion_tokens disagree; send one",
            ));
        }
        (Some(0), _) | (_, Some(0)) => {
            return Err(ApiError::invalid(
                "max_tokens",
                "max_tokens must be at least 1",
            ));
        }
        (a, b) => a.or(b),
    };
    let stop = match c.stop {
        None => Vec::new(),
        Some(Stop::One(s)) => vec![s],
        Some(Stop::Many(v)) => v,
    };
    if stop.len() > 16 || stop.iter().any(String::is_empty) {
        return Err(ApiError::invalid(
            "stop",
            "at most 16 stop sequences, none empty",
        ));
    }
    let logit_bias = logit_bias(c.logit_bias)?;
    let grammar = match c.response_format {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => Some(grammar::json_object()),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let schema = json_schema.schema.ok_or_else(|| {
                ApiError::invalid(
                    "response_format.json_schema.schema",
                    "a JSON schema is needed",
                )
            })?;
            let _ = json_schema.description;
            Some(grammar::from_json_schema(&schema.to_string()))
        }
    }
    .transpose()
    .map_err(|e| ApiError::invalid("response_format", format!("{e:#}")))?;
    let mut req = GenerateRequest::new(prompt, s, seed.unwrap_or_else(random_seed));
    req.max_tokens = max_tokens;
    req.stop = stop;
    req.logit_bias = logit_bias;
    req.grammar = grammar;
    req.ignore_eos = c.ignore_eos;
    let delivery = Delivery {
        stream: c.stream,
        include_usage: c.stream_options.is_some_and(|o| o.include_usage),
    };
    Ok((req, delivery))
}

/// `false`, `null`, `0`, an empty list: the field is present but asks for nothing.
fn asks_for_nothing(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s == "none" || s.is_empty(),
        _ => false,
    }
}

/// OpenAI's `{"token id": bias}` with biases from -100 to 100 (-100 bans the token).
fn logit_bias(m: Option<Map<String, Value>>) -> Result<Vec<(i32, f32)>, ApiError> {
    let Some(m) = m else { return Ok(Vec::new()) };
    m.into_iter()
        .map(|(k, v)| {
            let param = format!("logit_bias.{k}");
            let id: i32 = k
                .parse()
                .map_err(|_| ApiError::invalid(&param, format!("'{k}' is not a token id")))?;
            let b = v
                .as_f64()
                .filter(|b| (-100.0..=100.0).contains(b))
                .ok_or_else(|| ApiError::invalid(&param, "a bias is a number from -100 to 100"))?;
            // -100 bans the token outright, as OpenAI documents.
            let b = if b <= -100.0 {
                f32::NEG_INFINITY
            } else {
                b as f32
            };
            Ok((id, b))
        })
        .collect()
}
