//! `inferno run --batch FILE`: many prompts through the continuous-batching engine, `--parallel`
//! at a time, results as JSON lines on stdout in input order (each printed as soon as it and
//! every line before it are done).
//!
//! A line is a prompt as text, or a JSON object: `{"prompt": "..."}` or `{"messages":
//! [{"role": "user", "content": "..."}]}`, with optional `max_tokens`, `temperature`, `top_p`,
//! `top_k`, `min_p`, `seed`, `stop`. Empty lines are skipped. A line that is invalid, or
//! whose prompt does not fit a slot, gets an `error` result; the others still run.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::prompt;
use super::session::Session;
use crate::engine::batch::{BatchOptions, Event, Rejected, Scheduler};
use crate::engine::request::random_seed;
use crate::engine::template::{Message, Role};
use crate::engine::{GenerateRequest, Prompt, StopReason};
use crate::error::{Exit, fail};
use crate::output::{self, Written};
use crate::report::{rate, round2};

/// One JSON input line (unknown keys are an error, as in the config).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    prompt: Option<String>,
    messages: Option<Vec<LineMessage>>,
    max_tokens: Option<u32>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    top_k: Option<i32>,
    min_p: Option<f32>,
    seed: Option<u32>,
    #[serde(default)]
    stop: Stop,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineMessage {
    role: Role,
    content: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(untagged)]
enum Stop {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

/// One output line.
#[derive(Debug, Serialize)]
struct Outcome {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_reason: Option<StopReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    prompt_tokens: usize,
    cached_tokens: usize,
    gen_tokens: usize,
    queued_ms: f64,
    prompt_ms: f64,
    ttft_ms: Option<f64>,
    gen_ms: f64,
    gen_tps: Option<f64>,
    seed: u32,
}

pub async fn run(s: &Session, file: &Path, parallel: u32) -> anyhow::Result<()> {
    let source = if file == Path::new("-") {
        prompt::Source::Stdin
    } else {
        prompt::Source::File(file.to_path_buf())
    };
    let input = prompt::read(source, &s.interrupts).await?;
    let requests: Vec<(usize, anyhow::Result<GenerateRequest>)> = input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, request(s, l)))
        .collect();
    let scheduler = {
        let model = std::sync::Arc::clone(&s.model);
        let opts = BatchOptions {
            spec: None,
            context: super::context_options(&s.settings),
            slots: parallel,
            max_queue: usize::MAX,
        };
        tokio::task::spawn_blocking(move || Scheduler::start(model, opts)).await??
    };
    // Submit everything (the queue holds what the slots cannot take yet), then collect.
    let mut tasks = Vec::new();
    for (index, req) in requests {
        let submitted = req.and_then(|req| {
            let seed = req.seed;
            scheduler
                .submit(req)
                .map(|t| (t.events, seed))
                .map_err(|r| rejected(r, index))
        });
        tasks.push(tokio::spawn(collect(index, submitted)));
    }
    // Awaited in input order, so lines come out in input order, each as soon as it and the
    // ones before it are done.
    let cancel = s.interrupts.clone();
    for task in tasks {
        let r = tokio::select! {
            r = task => r?,
            () = cancel.wait() => {
                scheduler.stop_all();
                return Err(fail(cancel.exit().unwrap_or(Exit::Interrupted), ""));
            }
        };
        let line = serde_json::to_string(&r)? + "\n";
        if output::stdout(&line)? == Written::Closed {
            scheduler.stop_all();
            return Ok(());
        }
    }
    Ok(())
}

/// The request for one input line: text is a prompt as with `-p`; JSON sets its own prompt and
/// sampling on top of the run's settings.
fn request(s: &Session, line: &str) -> anyhow::Result<GenerateRequest> {
    if !line.trim_start().starts_with('{') {
        return Ok(s.request(s.prompt(&[], line)));
    }
    let l: Line = serde_json::from_str(line)
        .map_err(|e| fail(Exit::Prompt, format!("not a valid batch line: {e}")))?;
    let prompt = match (l.prompt, l.messages) {
        (Some(p), None) => s.prompt(&[], &p),
        (None, Some(m)) => Prompt::Chat(
            m.into_iter()
                .map(|m| Message::new(m.role, m.content))
                .collect(),
        ),
        _ => {
            return Err(fail(
                Exit::Prompt,
                "a batch line needs exactly one of \"prompt\" and \"messages\"",
            ));
        }
    };
    let mut req = s.request(prompt);
    let sm = &mut req.sampling;
    sm.temp = l.temperature.unwrap_or(sm.temp);
    sm.top_p = l.top_p.unwrap_or(sm.top_p);
    sm.top_k = l.top_k.unwrap_or(sm.top_k);
    sm.min_p = l.min_p.unwrap_or(sm.min_p);
    req.seed = l
        .seed
        .or(s.settings.sampling.seed)
        .unwrap_or_else(random_seed);
    req.max_tokens = l.max_tokens.or(req.max_tokens);
    match l.stop {
        Stop::None => {}
        Stop::One(x) => req.stop = vec![x],
        Stop::Many(v) => req.stop = v,
    }
    Ok(req)
}

fn rejected(r: Rejected, index: usize) -> anyhow::Error {
    match r {
        Rejected::TooLong {
            prompt_tokens,
            max_tokens,
            slot_context,
        } => fail(
            Exit::Prompt,
            format!(
                "line {index}: the prompt is {prompt_tokens} tokens{} but a slot holds {slot_context}; raise -c/--context-size (per slot)",
                max_tokens.map_or(String::new(), |m| format!(" plus max_tokens {m}"))
            ),
        ),
        Rejected::Invalid(e) => e,
        Rejected::QueueFull { .. } | Rejected::Stopped => {
            fail(Exit::Internal, "the batch engine stopped")
        }
    }
}

async fn collect(
    index: usize,
    submitted: anyhow::Result<(tokio::sync::mpsc::UnboundedReceiver<Event>, u32)>,
) -> Outcome {
    let mut out = Outcome {
        index,
        text: None,
        stop_reason: None,
        error: None,
        prompt_tokens: 0,
        cached_tokens: 0,
        gen_tokens: 0,
        queued_ms: 0.0,
        prompt_ms: 0.0,
        ttft_ms: None,
        gen_ms: 0.0,
        gen_tps: None,
        seed: 0,
    };
    let (mut rx, seed) = match submitted {
        Ok(x) => x,
        Err(e) => {
            out.error = Some(format!("{e:#}"));
            return out;
        }
    };
    out.seed = seed;
    let mut text = String::new();
    while let Some(ev) = rx.recv().await {
        match ev {
            Event::Started { .. } => {}
            Event::Text(t) => text.push_str(&t),
            Event::Failed(e) => out.error = Some(e),
            Event::Done(c) => {
                out.stop_reason = Some(c.stop_reason);
                out.prompt_tokens = c.prompt_tokens;
                out.cached_tokens = c.cached_tokens;
                out.gen_tokens = c.gen_tokens;
                out.queued_ms = round2(c.queued_ms);
                out.prompt_ms = round2(c.prompt_ms);
                out.ttft_ms = c.ttft_ms.map(round2);
                out.gen_ms = round2(c.gen_ms);
                out.gen_tps = rate(c.gen_tokens, c.gen_ms).map(round2);
            }
        }
    }
    out.text = Some(text);
    out
}
