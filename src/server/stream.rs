//! OpenAI's response shapes: a whole answer, and the chunks of a streamed one (SSE `data:`
//! lines: a first chunk with the role, content deltas, a final chunk with `finish_reason`, the
//! usage chunk when asked, then `[DONE]`).

use serde_json::{Value, json};

use crate::engine::StopReason;
use crate::engine::batch::Completion;

/// Which endpoint's shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Chat,
    Text,
}

/// What every object of one answer shares.
pub struct Answer {
    pub kind: Kind,
    pub id: String,
    pub created: u64,
    pub model: String,
}

/// OpenAI's finish reasons: the model ended or a stop sequence was met ("stop"), or the
/// output was cut (max tokens, a full context, a timeout or a shutdown: "length").
pub fn finish_reason(r: StopReason) -> &'static str {
    match r {
        StopReason::Eog | StopReason::StopSequence => "stop",
        StopReason::MaxTokens | StopReason::ContextFull | StopReason::Interrupted => "length",
    }
}

pub fn usage(c: &Completion) -> Value {
    json!({
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.gen_tokens,
        "total_tokens": c.prompt_tokens + c.gen_tokens,
        "prompt_tokens_details": {"cached_tokens": c.cached_tokens},
    })
}

/// inferno's measured figures of the answer (an extension, as llama-server's `timings`).
pub fn timings(c: &Completion) -> Value {
    let mut t = json!({
        "queued_ms": crate::report::round2(c.queued_ms),
        "prompt_ms": crate::report::round2(c.prompt_ms),
        "ttft_ms": c.ttft_ms.map(crate::report::round2),
        "gen_ms": crate::report::round2(c.gen_ms),
        "gen_tps": crate::report::rate(c.gen_tokens, c.gen_ms).map(crate::report::round2),
    });
    if let Some(s) = &c.speculative {
        t["speculative"] = json!(crate::report::SpecReport::of(s));
    }
    t
}

impl Answer {
    fn object(&self, streamed: bool) -> &'static str {
        match (self.kind, streamed) {
            (Kind::Chat, false) => "chat.completion",
            (Kind::Chat, true) => "chat.completion.chunk",
            (Kind::Text, _) => "text_completion",
        }
    }

    fn envelope(&self, streamed: bool, choices: Value) -> Value {
        json!({
            "id": self.id,
            "object": self.object(streamed),
            "created": self.created,
            "model": self.model,
            "system_fingerprint": concat!("inferno-", env!("CARGO_PKG_VERSION")),
            "choices": choices,
        })
    }

    /// The whole answer of a request that was not streamed.
    pub fn whole(&self, text: String, c: &Completion) -> Value {
        let choice = match self.kind {
            Kind::Chat => json!({
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": null,
                "finish_reason": finish_reason(c.stop_reason),
            }),
            Kind::Text => json!({
                "index": 0,
                "text": text,
                "logprobs": null,
                "finish_reason": finish_reason(c.stop_reason),
            }),
        };
        let mut v = self.envelope(false, json!([choice]));
        v["usage"] = usage(c);
        v["timings"] = timings(c);
        v
    }

    /// A chunk: `delta` text (or the role, for the first chat chunk) and, on the last one, the
    /// finish reason. `usage_null`: with `include_usage`, every chunk carries `usage: null`.
    pub fn chunk(
        &self,
        text: Option<&str>,
        role: bool,
        finish: Option<&str>,
        usage_null: bool,
    ) -> Value {
        let choice = match self.kind {
            Kind::Chat => {
                let mut delta = serde_json::Map::new();
                if role {
                    delta.insert("role".into(), json!("assistant"));
                    delta.insert("content".into(), json!(""));
                }
                if let Some(t) = text {
                    delta.insert("content".into(), json!(t));
                }
                json!({"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish})
            }
            Kind::Text => json!({
                "index": 0,
                "text": text.unwrap_or(""),
                "logprobs": null,
                "finish_reason": finish,
            }),
        };
        let mut v = self.envelope(true, json!([choice]));
        if usage_null {
            v["usage"] = Value::Null;
        }
        v
    }

    /// The usage chunk that ends a stream with `include_usage`: no choices.
    pub fn usage_chunk(&self, c: &Completion) -> Value {
        let mut v = self.envelope(true, json!([]));
        v["usage"] = usage(c);
        v["timings"] = timings(c);
        v
    }
}
