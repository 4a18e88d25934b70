//! The live dashboard at `/`: HTML, CSS and JavaScript compiled into the binary (no build step,
//! nothing fetched from elsewhere), and `/api/status`, one JSON snapshot of what the server
//! measured (the same counters as `/metrics`), which the page polls. The page computes
//! nothing itself.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use super::AppState;
use crate::system;

const INDEX: &str = include_str!("../../web/index.html");
const APP: &str = include_str!("../../web/app.js");
const STYLE: &str = include_str!("../../web/style.css");

fn asset(kind: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The page; with an API key it is told so up front (not the key), so it asks for the key
/// before its first call instead of meeting a 401 (which browsers log as an error).
pub async fn index(State(s): State<Arc<AppState>>) -> Response {
    if s.config.api_key.is_none() {
        return asset("text/html; charset=utf-8", INDEX);
    }
    let page = INDEX.replacen(
        "<html lang=\"en\">",
        "<html lang=\"en\" data-key-required>",
        1,
    );
    asset("text/html; charset=utf-8", page)
}

pub async fn app() -> Response {
    asset("text/javascript; charset=utf-8", APP)
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// Everything the page shows, measured by the server: system and devices now, the model and
/// where its buffers are, the last five minutes of samples, the last requests.
pub async fn status(State(s): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let (sys, devices, backends) = tokio::task::spawn_blocking(|| {
        (system::system(), system::devices(), system::backend_names())
    })
    .await
    .unwrap_or_else(|_| (system::system(), Vec::new(), Vec::new()));
    // The panel shows the first loaded model (the first configured one while none is); the
    // models table lists all.
    let entries = s.models.entries();
    let shown = entries
        .iter()
        .find(|e| e.scheduler().is_some())
        .unwrap_or(s.models.default_entry());
    let engine = shown.scheduler();
    let model = engine.as_ref().map(|e| e.model());
    let stats = shown.stats.as_ref();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let view = shown.view();
    Json(json!({
        "server": {
            "version": env!("CARGO_PKG_VERSION"),
            "uptime_s": s.started.elapsed().as_secs_f64(),
            "slots": shown.spec.batch.slots,
            "slot_context": engine.as_ref().map(|e| e.slot_context),
            "kv_cells": engine.as_ref().map(|_| stats.kv_cells_total.load(Ordering::Relaxed)),
            "max_queue": s.config.max_queue,
            "api_key_required": s.config.api_key.is_some(),
        },
        "system": sys,
        "devices": devices,
        "backends": backends,
        "model": {
            "id": view.name,
            "path": view.path,
            "state": view.state,
            "facts": shown.spec.facts,
            "offload": model.map(|m| m.offload),
            "buffers": engine.as_ref()
                .map(|e| e.model().buffers.iter().chain(&e.buffers).cloned().collect::<Vec<_>>())
                .unwrap_or_default(),
            "load_ms": model.map(|m| m.load_ms),
        },
        "models": entries.iter().map(|e| e.view()).collect::<Vec<_>>(),
        "live": { "samples": s.metrics.history() },
        "totals": {
            "requests_finished": entries.iter().map(|e| load(&e.stats.requests_finished)).sum::<u64>(),
            "prompt_tokens": entries.iter().map(|e| load(&e.stats.prompt_tokens)).sum::<u64>(),
            "cached_tokens": entries.iter().map(|e| load(&e.stats.cached_tokens)).sum::<u64>(),
            "generated_tokens": entries.iter().map(|e| load(&e.stats.generated_tokens)).sum::<u64>(),
            "decode_calls": entries.iter().map(|e| load(&e.stats.decode_calls)).sum::<u64>(),
        },
        "requests": s.metrics.recent(),
    }))
}
