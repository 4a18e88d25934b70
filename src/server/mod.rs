//! `inferno serve`: an OpenAI-compatible HTTP server over the batch engine. HTTP only: the
//! engine's small API ([`crate::engine::batch`]) is all it knows of inference.
//!
//! - [`openai`]: request shapes, validated into engine requests.
//! - [`completions`]: the two generation endpoints, whole answers and SSE streams.
//! - [`stream`]: OpenAI's response and chunk shapes.
//! - [`metrics`]: counters, the request log, `/metrics`.
//! - [`auth`]: the API key and CORS. [`error`]: errors in OpenAI's shape.
//! - [`dashboard`]: the live page at `/` and its data, `/api/status`.
//!
//! The server listens at once and loads the model in the background (`/health` says
//! `loading` with 503 until it is ready). Ctrl-C/SIGTERM: stop accepting, let requests in
//! flight finish for the grace period, end the rest with a final chunk, exit 0.

mod auth;
mod completions;
mod dashboard;
mod error;
mod metrics;
pub mod models;
mod openai;
mod stream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::config::{SamplingSettings, ServerSettings};
use crate::error::{Exit, fail};
use crate::output;
use crate::signals::Interrupts;
pub use error::ApiError;
use metrics::Metrics;
pub use models::{Lease, Limits, ModelSpec, Registry};

/// What `serve` needs to start.
pub struct ServeOptions {
    pub server: ServerSettings,
    pub sampling: SamplingSettings,
    /// The models offered; the first is loaded at start and answers requests without `model`.
    pub models: Vec<ModelSpec>,
    pub limits: Limits,
}

/// Shared by every handler.
pub struct AppState {
    pub config: ServerSettings,
    pub sampling: SamplingSettings,
    pub models: Arc<Registry>,
    pub metrics: Metrics,
    pub started: Instant,
    /// Unix seconds when the server started (`created` of `/v1/models`).
    pub created: u64,
    pub shutting_down: AtomicBool,
}

impl AppState {
    /// The model a request names, held for the request (loaded first if needed); 503 while
    /// the server shuts down or the load outlasts the request's deadline.
    pub async fn lease(
        &self,
        requested: Option<&str>,
        keep_alive: Option<i64>,
        deadline: tokio::time::Instant,
    ) -> Result<Lease, ApiError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(ApiError::unavailable("the server is shutting down", 5));
        }
        let entry = self.models.find(requested)?;
        self.models.acquire(entry, keep_alive, deadline).await
    }
}

pub async fn run(opts: ServeOptions, interrupts: Interrupts) -> anyhow::Result<()> {
    let addr: SocketAddr = format!("{}:{}", opts.server.host, opts.server.port)
        .parse()
        .or_else(|_| {
            // A host name: the first address it resolves to.
            std::net::ToSocketAddrs::to_socket_addrs(&(opts.server.host.as_str(), opts.server.port))
                .ok()
                .and_then(|mut a| a.next())
                .ok_or(())
        })
        .map_err(|()| {
            fail(
                Exit::Usage,
                format!(
                    "invalid --host {}: not an address or a host name that resolves",
                    opts.server.host
                ),
            )
        })?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        fail(
            Exit::Usage,
            format!("cannot listen on {addr}: {e} (choose another --port, or stop what uses it)"),
        )
    })?;
    let first = opts.models[0].name.clone();
    let first_path = opts.models[0].path.clone();
    let slots = opts.models[0].batch.slots;
    let n_models = opts.models.len();
    let state = Arc::new(AppState {
        config: opts.server.clone(),
        sampling: opts.sampling.clone(),
        models: Arc::new(Registry::new(opts.models, opts.limits)),
        metrics: Metrics::default(),
        started: Instant::now(),
        created: metrics::unix_ms() / 1000,
        shutting_down: AtomicBool::new(false),
    });
    let url = format!("http://{}", listener.local_addr()?);
    output::message(&format!(
        "listening on {url}; loading {}",
        first_path.display()
    ));

    let app = router(Arc::clone(&state));
    let shutdown = shutdown_signal(Arc::clone(&state), interrupts.clone());
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    });
    tokio::spawn(sampler(Arc::clone(&state)));

    // Load the first model while already answering /health; the others load on first use.
    let registry = Arc::clone(&state.models);
    let slot_context = tokio::select! {
        r = registry.load_first() => r?,
        () = interrupts.wait() => return Err(fail(interrupts.exit().unwrap_or(Exit::Interrupted), "")),
    };
    let others = if n_models > 1 {
        format!("; {} more models load on first use", n_models - 1)
    } else {
        String::new()
    };
    output::message(&format!(
        "ready: {first} on {url}/v1 ({slots} slots of {slot_context} tokens each){others}"
    ));
    tokio::spawn(Arc::clone(&state.models).reaper());
    server.await??;
    output::message("stopped");
    Ok(())
}

fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.body_limit as usize;
    let api = Router::new()
        .route("/v1/chat/completions", post(completions::chat))
        .route("/v1/completions", post(completions::completion))
        .route("/v1/models", get(list_models))
        .route("/v1/models/{id}", get(model))
        .route("/metrics", get(prometheus))
        .route("/api/status", get(dashboard::status))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require_key,
        ));
    Router::new()
        .route("/health", get(health))
        .route("/", get(dashboard::index))
        .route("/app.js", get(dashboard::app))
        .route("/style.css", get(dashboard::style))
        .merge(api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(auth::cors(&state.config))
        .with_state(state)
}

/// 503 until the first model has loaded, then 200 (other models load on demand).
async fn health(State(s): State<Arc<AppState>>) -> Response {
    if s.models.default_entry().ever_loaded.load(Ordering::SeqCst) {
        Json(json!({"status": "ok"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "loading"})),
        )
            .into_response()
    }
}

fn model_object(s: &AppState, e: &models::Entry) -> serde_json::Value {
    let v = e.view();
    json!({
        "id": v.name,
        "object": "model",
        "created": s.created,
        "owned_by": "inferno",
        "path": v.path,
        "state": v.state,
        "memory_bytes": v.memory_bytes,
        "estimate_bytes": v.estimate_bytes,
        "loads": v.loads,
        "unloads": v.unloads,
    })
}

async fn list_models(State(s): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let data: Vec<_> = s
        .models
        .entries()
        .iter()
        .map(|e| model_object(&s, e))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

async fn model(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let e = s.models.find(Some(&id))?;
    Ok(Json(model_object(&s, e)))
}

async fn prometheus(State(s): State<Arc<AppState>>) -> Response {
    let text = s
        .metrics
        .prometheus(s.models.entries(), &crate::system::devices());
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    let mut e = ApiError::invalid("", format!("no such endpoint: {}", uri.path()));
    e.status = StatusCode::NOT_FOUND;
    e
}

/// Once a second, a sample of the engines' rates for `/metrics` and the dashboard.
async fn sampler(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let devices = tokio::task::spawn_blocking(crate::system::devices)
            .await
            .unwrap_or_default();
        let stats: Vec<&crate::engine::batch::Stats> = state
            .models
            .entries()
            .iter()
            .map(|e| e.stats.as_ref())
            .collect();
        state.metrics.sample(&stats, &devices);
    }
}

/// Resolves on Ctrl-C/SIGTERM, after which the server stops accepting: requests in flight get
/// the grace period, then the engines end them (each stream gets its final chunk).
async fn shutdown_signal(state: Arc<AppState>, interrupts: Interrupts) {
    interrupts.wait().await;
    state.shutting_down.store(true, Ordering::SeqCst);
    output::message("shutting down: finishing the requests in flight");
    let grace = Duration::from_secs(state.config.shutdown_grace);
    tokio::spawn(async move {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !state.models.busy() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        state.models.stop_all();
    });
}
