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
mod openai;
mod stream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::config::{SamplingSettings, ServerSettings};
use crate::engine::LoadedModel;
use crate::engine::batch::{BatchOptions, Scheduler};
use crate::engine::speculative::SpecSetup;
use crate::error::{Exit, fail};
use crate::output;
use crate::signals::Interrupts;
pub use error::ApiError;
use metrics::Metrics;

/// What `serve` needs to start.
pub struct ServeOptions {
    pub server: ServerSettings,
    pub sampling: SamplingSettings,
    pub batch: BatchOptions,
    pub model_path: PathBuf,
    /// What the file says about the model (for the dashboard).
    pub facts: crate::modelinfo::ModelFacts,
    /// Loads the model, and the draft model when speculating (on a blocking thread); the
    /// server listens meanwhile.
    pub load: Loader,
}

/// What the server loads in the background: the model and, when speculating, the draft.
pub type Loader = Box<dyn FnOnce() -> anyhow::Result<(Arc<LoadedModel>, Option<SpecSetup>)> + Send>;

/// Shared by every handler.
pub struct AppState {
    pub config: ServerSettings,
    pub sampling: SamplingSettings,
    /// The name clients use in `model` (the file's stem).
    pub model_id: String,
    pub model_path: PathBuf,
    pub facts: crate::modelinfo::ModelFacts,
    pub engine: OnceLock<Scheduler>,
    pub metrics: Metrics,
    pub started: Instant,
    /// Unix seconds when the server started (`created` of `/v1/models`).
    pub created: u64,
    pub shutting_down: AtomicBool,
}

impl AppState {
    /// The engine, or 503 while the model loads or the server shuts down.
    pub fn engine(&self) -> Result<&Scheduler, ApiError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(ApiError::unavailable("the server is shutting down", 5));
        }
        self.engine
            .get()
            .ok_or_else(|| ApiError::unavailable("the model is still loading", 2))
    }

    /// Whether `requested` (the request's `model`) names this server's model: its id, file
    /// name or path. Absent means this model.
    pub fn check_model(&self, requested: Option<&str>) -> Result<(), ApiError> {
        let Some(m) = requested else { return Ok(()) };
        let file = self.model_path.file_name().map(|f| f.to_string_lossy());
        if m == self.model_id
            || Some(m) == file.as_deref()
            || self.model_path == std::path::Path::new(m)
        {
            return Ok(());
        }
        Err(ApiError::not_found(
            "model",
            format!(
                "model '{m}' is not served here; known models: {}",
                self.model_id
            ),
        ))
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
    let model_id = opts
        .model_path
        .file_stem()
        .map_or_else(|| "model".to_string(), |s| s.to_string_lossy().into_owned());
    let state = Arc::new(AppState {
        config: opts.server.clone(),
        sampling: opts.sampling.clone(),
        model_id,
        model_path: opts.model_path.clone(),
        facts: opts.facts,
        engine: OnceLock::new(),
        metrics: Metrics::default(),
        started: Instant::now(),
        created: metrics::unix_ms() / 1000,
        shutting_down: AtomicBool::new(false),
    });
    let url = format!("http://{}", listener.local_addr()?);
    output::message(&format!(
        "listening on {url}; loading {}",
        opts.model_path.display()
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

    // Load the model and start the engine while already answering /health.
    let mut batch = opts.batch.clone();
    let load = opts.load;
    let started = tokio::select! {
        r = tokio::task::spawn_blocking(move || {
            let (model, spec) = load()?;
            batch.spec = spec;
            Scheduler::start(model, batch)
        }) => r?,
        () = interrupts.wait() => return Err(fail(interrupts.exit().unwrap_or(Exit::Interrupted), "")),
    };
    let scheduler = started?;
    output::message(&format!(
        "ready: {} on {url}/v1 ({} slots of {} tokens each)",
        state.model_id, opts.batch.slots, scheduler.slot_context
    ));
    let _ = state.engine.set(scheduler);
    server.await??;
    output::message("stopped");
    Ok(())
}

fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.body_limit as usize;
    let api = Router::new()
        .route("/v1/chat/completions", post(completions::chat))
        .route("/v1/completions", post(completions::completion))
        .route("/v1/models", get(models))
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

async fn health(State(s): State<Arc<AppState>>) -> Response {
    if s.engine.get().is_some() {
        Json(json!({"status": "ok"})).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "loading"})),
        )
            .into_response()
    }
}

fn model_object(s: &AppState) -> serde_json::Value {
    json!({
        "id": s.model_id,
        "object": "model",
        "created": s.created,
        "owned_by": "inferno",
        "path": s.model_path,
        "state": if s.engine.get().is_some() { "loaded" } else { "loading" },
    })
}

async fn models(State(s): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(json!({"object": "list", "data": [model_object(&s)]}))
}

async fn model(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    s.check_model(Some(&id))?;
    Ok(Json(model_object(&s)))
}

async fn prometheus(State(s): State<Arc<AppState>>) -> Response {
    let text = s.metrics.prometheus(
        s.engine.get().map(|e| e.stats.as_ref()),
        &crate::system::devices(),
    );
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    let mut e = ApiError::invalid("", format!("no such endpoint: {}", uri.path()));
    e.status = StatusCode::NOT_FOUND;
    e
}

/// Once a second, a sample of the engine's rates for `/metrics` and the dashboard.
async fn sampler(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Some(e) = state.engine.get() {
            let stats = Arc::clone(&e.stats);
            let devices = tokio::task::spawn_blocking(crate::system::devices)
                .await
                .unwrap_or_default();
            state.metrics.sample(&stats, &devices);
        }
    }
}

/// Resolves on Ctrl-C/SIGTERM, after which the server stops accepting: requests in flight get
/// the grace period, then the engine ends them (each stream gets its final chunk).
async fn shutdown_signal(state: Arc<AppState>, interrupts: Interrupts) {
    interrupts.wait().await;
    state.shutting_down.store(true, Ordering::SeqCst);
    output::message("shutting down: finishing the requests in flight");
    let grace = Duration::from_secs(state.config.shutdown_grace);
    tokio::spawn(async move {
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            let busy = state.engine.get().is_some_and(|e| {
                e.stats.active.load(Ordering::SeqCst) + e.stats.queued.load(Ordering::SeqCst) > 0
            });
            if !busy {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Some(e) = state.engine.get() {
            e.stop_all();
        }
    });
}
