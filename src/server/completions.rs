//! `POST /v1/chat/completions` and `POST /v1/completions`: validate, submit to the batch
//! engine, and answer with one JSON object or an SSE stream. A stream that waits in the queue
//! gets keep-alive comments; a client that goes away ends its request (the engine frees the
//! slot within one step); a request past the timeout ends with what it has ("length").
//! Every answer is logged (one line on stderr) and recorded for `/metrics` and the dashboard.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::sse::{Event as Sse, KeepAlive};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::error::{ApiError, Body};
use super::metrics::{RequestRecord, unix_ms};
use super::openai::{self, ChatBody, CompletionBody, Delivery};
use super::stream::{Answer, Kind, finish_reason};
use super::{AppState, Lease};
use crate::engine::GenerateRequest;
use crate::engine::batch::{Completion, Event, Rejected, Ticket};
use crate::output;
use crate::report::{rate, round2};

const CHAT: &str = "/v1/chat/completions";
const TEXT: &str = "/v1/completions";

pub async fn chat(
    State(s): State<Arc<AppState>>,
    body: Result<Body<ChatBody>, ApiError>,
) -> Response {
    let started = Instant::now();
    let result = async {
        let Body(body) = body?;
        let lease = lease(&s, &body.common, started).await?;
        let has_template = lease.scheduler.model().chat.is_some();
        let (req, d) = openai::chat(body, &s.sampling, has_template)?;
        answer(&s, lease, Kind::Chat, req, d, started).await
    };
    finish(&s, CHAT, started, result.await)
}

pub async fn completion(
    State(s): State<Arc<AppState>>,
    body: Result<Body<CompletionBody>, ApiError>,
) -> Response {
    let started = Instant::now();
    let result = async {
        let Body(body) = body?;
        let lease = lease(&s, &body.common, started).await?;
        let (req, d) = openai::completion(body, &s.sampling)?;
        answer(&s, lease, Kind::Text, req, d, started).await
    };
    finish(&s, TEXT, started, result.await)
}

/// The model the request names, loaded if needed, held until the answer ends.
async fn lease(s: &AppState, common: &openai::Common, started: Instant) -> Result<Lease, ApiError> {
    let keep_alive = super::models::keep_alive(common.keep_alive.as_ref())?;
    s.lease(common.model.as_deref(), keep_alive, deadline(s, started))
        .await
}

fn deadline(s: &AppState, started: Instant) -> tokio::time::Instant {
    tokio::time::Instant::from_std(started) + Duration::from_secs(s.config.request_timeout)
}

/// Errors are answered and logged here; successes were logged where they ended.
fn finish(s: &AppState, path: &str, started: Instant, r: Result<Response, ApiError>) -> Response {
    match r {
        Ok(resp) => resp,
        Err(e) => {
            log(s, record(path, e.status.as_u16(), started, None));
            e.into_response()
        }
    }
}

async fn answer(
    s: &Arc<AppState>,
    lease: Lease,
    kind: Kind,
    req: GenerateRequest,
    d: Delivery,
    started: Instant,
) -> Result<Response, ApiError> {
    let ticket = lease.scheduler.submit(req).map_err(|r| rejected(r, kind))?;
    let a = Answer {
        kind,
        id: format!(
            "{}-{:016x}{:016x}",
            if kind == Kind::Chat {
                "chatcmpl"
            } else {
                "cmpl"
            },
            fastrand::u64(..),
            fastrand::u64(..)
        ),
        created: unix_ms() / 1000,
        model: lease.name().to_string(),
    };
    let path = if kind == Kind::Chat { CHAT } else { TEXT };
    let deadline = deadline(s, started);
    if !d.stream {
        let (text, c) = collect(ticket, deadline).await?;
        drop(lease);
        let mut r = record(path, 200, started, Some(&c));
        r.model = Some(a.model.clone());
        log(s, r);
        return Ok(axum::Json(a.whole(text, &c)).into_response());
    }
    let (tx, rx) = mpsc::channel::<Result<Sse, Infallible>>(64);
    let state = Arc::clone(s);
    tokio::spawn(async move {
        let c = stream(&a, ticket, d, deadline, &tx).await;
        drop(lease);
        let mut r = record(path, 200, started, c.as_ref());
        r.model = Some(a.model.clone());
        log(&state, r);
    });
    let body = tokio_stream::wrappers::ReceiverStream::new(rx);
    Ok(axum::response::Sse::new(body)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(2))
                .text("waiting"),
        )
        .into_response())
}

/// A whole answer: all the text, then the figures. Past the deadline the request is ended and
/// what it produced is the answer.
async fn collect(
    mut t: Ticket,
    deadline: tokio::time::Instant,
) -> Result<(String, Completion), ApiError> {
    let mut text = String::new();
    loop {
        let ev = match tokio::time::timeout_at(deadline, t.events.recv()).await {
            Ok(ev) => ev,
            Err(_) => {
                t.cancel();
                t.events.recv().await
            }
        };
        match ev {
            Some(Event::Text(piece)) => text.push_str(&piece),
            Some(Event::Done(c)) => return Ok((text, c)),
            Some(Event::Failed(e)) => return Err(ApiError::internal(e)),
            Some(Event::Started { .. }) => {}
            None => return Err(ApiError::internal("the engine stopped")),
        }
    }
}

/// The SSE stream of one answer; returns its figures when it ended normally. Ends early (and
/// with it the request) when the client goes away.
async fn stream(
    a: &Answer,
    mut t: Ticket,
    d: Delivery,
    deadline: tokio::time::Instant,
    tx: &mpsc::Sender<Result<Sse, Infallible>>,
) -> Option<Completion> {
    // A client that keeps the connection but stops reading must not hold the request (and
    // its model) forever: a send that cannot complete soon after the deadline counts as gone.
    let send_until = deadline + Duration::from_secs(10);
    let send = |v: serde_json::Value| async move {
        let item = Ok(Sse::default().data(v.to_string()));
        matches!(
            tokio::time::timeout_at(send_until, tx.send(item)).await,
            Ok(Ok(()))
        )
    };
    loop {
        let ev = tokio::select! {
            ev = tokio::time::timeout_at(deadline, t.events.recv()) => match ev {
                Ok(ev) => ev,
                Err(_) => {
                    t.cancel();
                    t.events.recv().await
                }
            },
            () = tx.closed() => return ended(&mut t).await,
        };
        let ok = match ev {
            Some(Event::Started { .. }) if a.kind == Kind::Chat => {
                send(a.chunk(None, true, None, d.include_usage)).await
            }
            Some(Event::Started { .. }) => true,
            Some(Event::Text(piece)) => {
                send(a.chunk(Some(&piece), false, None, d.include_usage)).await
            }
            Some(Event::Done(c)) => {
                let mut ok = send(a.chunk(
                    None,
                    false,
                    Some(finish_reason(c.stop_reason)),
                    d.include_usage,
                ))
                .await;
                if d.include_usage {
                    ok = ok && send(a.usage_chunk(&c)).await;
                }
                let _ = ok && tx.send(Ok(Sse::default().data("[DONE]"))).await.is_ok();
                return Some(c);
            }
            Some(Event::Failed(e)) => {
                let _ = send(ApiError::internal(e).body()).await;
                return None;
            }
            None => return None,
        };
        if !ok {
            return ended(&mut t).await;
        }
    }
}

/// The client went away: end the request (its slot is freed within a step) and return its
/// figures, so the log and the dashboard show what it did.
async fn ended(t: &mut Ticket) -> Option<Completion> {
    t.cancel();
    loop {
        match t.events.recv().await? {
            Event::Done(c) => return Some(c),
            Event::Failed(_) => return None,
            _ => {}
        }
    }
}

fn rejected(r: Rejected, kind: Kind) -> ApiError {
    let field = if kind == Kind::Chat {
        "messages"
    } else {
        "prompt"
    };
    match r {
        Rejected::QueueFull { max_queue } => ApiError::unavailable(
            format!("all slots are busy and {max_queue} requests already wait; retry shortly"),
            1,
        ),
        Rejected::TooLong {
            prompt_tokens,
            max_tokens,
            slot_context,
        } => ApiError::invalid(
            field,
            match max_tokens {
                Some(m) => format!(
                    "the prompt is {prompt_tokens} tokens and max_tokens is {m}: {} in all, but a slot's context holds {slot_context}; shorten the prompt or lower max_tokens (or start the server with a larger -c)",
                    prompt_tokens + m as usize
                ),
                None => format!(
                    "the prompt is {prompt_tokens} tokens, which leaves no room to answer in a slot's context of {slot_context}; shorten it (or start the server with a larger -c)"
                ),
            },
        ),
        Rejected::Stopped => ApiError::unavailable("the server is shutting down", 5),
        Rejected::Invalid(e) => ApiError::invalid(field, format!("{e:#}")),
    }
}

fn record(path: &str, status: u16, started: Instant, c: Option<&Completion>) -> RequestRecord {
    RequestRecord {
        model: None,
        time_ms: unix_ms(),
        method: "POST".into(),
        path: path.into(),
        status,
        prompt_tokens: c.map_or(0, |c| c.prompt_tokens),
        cached_tokens: c.map_or(0, |c| c.cached_tokens),
        gen_tokens: c.map_or(0, |c| c.gen_tokens),
        ttft_ms: c.and_then(|c| c.ttft_ms).map(round2),
        gen_tps: c.and_then(|c| rate(c.gen_tokens, c.gen_ms)).map(round2),
        duration_ms: round2(started.elapsed().as_secs_f64() * 1e3),
        finish_reason: c.map(|c| finish_reason(c.stop_reason).to_string()),
    }
}

/// One line per request on stderr, and the record for `/metrics` and the dashboard.
fn log(s: &AppState, r: RequestRecord) {
    let opt = |v: Option<f64>, unit: &str| {
        v.map_or_else(|| "-".to_string(), |v| format!("{v:.2} {unit}"))
    };
    output::message(&format!(
        "{} {} {} prompt {} (cached {}) gen {} ttft {} {} {} in {:.0} ms{}",
        r.method,
        r.path,
        r.status,
        r.prompt_tokens,
        r.cached_tokens,
        r.gen_tokens,
        opt(r.ttft_ms, "ms"),
        opt(r.gen_tps, "tok/s"),
        r.finish_reason.as_deref().unwrap_or("-"),
        r.duration_ms,
        r.model
            .as_deref()
            .map_or_else(String::new, |m| format!(" ({m})"))
    ));
    s.metrics.record(r);
}
