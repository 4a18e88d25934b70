//! The models a server offers: name → model, loaded on first use, kept for the keep-alive
//! time after its last request, unloaded least-recently-used first when loading another would
//! pass `--max-loaded` or the memory budget.
//!
//! A request holds a [`Lease`] from before it is submitted until its answer ends; a model with
//! leases is never unloaded. Loads run one at a time (each decides what to unload from the
//! memory loaded models measurably hold, so two loads must not decide at once); requests for
//! a model that is loading wait for it, bounded by their own timeout.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

mod evict;
mod keep_alive;

pub use keep_alive::keep_alive;

use super::ApiError;
use crate::engine::LoadedModel;
use crate::engine::batch::{BatchOptions, Scheduler, Stats};
use crate::engine::speculative::SpecSetup;
use crate::output;
use crate::units::bytes;

/// A model whose load failed is not tried again for this long (each try may unload others).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// Loads one model (and its draft, when speculating) on the calling blocking thread.
pub type LoadFn =
    Arc<dyn Fn() -> anyhow::Result<(Arc<LoadedModel>, Option<SpecSetup>)> + Send + Sync>;

/// One model the server offers, as configured.
pub struct ModelSpec {
    /// What requests put in `model`.
    pub name: String,
    pub path: PathBuf,
    pub facts: crate::modelinfo::ModelFacts,
    /// Slots and context of this model.
    pub batch: BatchOptions,
    /// Estimated from the file before loading: weights, KV cache of every slot, compute.
    pub estimate_bytes: u64,
    /// Whether its layers go to GPUs (then GPU free memory decides what to unload).
    pub uses_gpu: bool,
    pub load: LoadFn,
}

/// How many models may be loaded, and for how long.
pub struct Limits {
    pub max_loaded: usize,
    /// Bytes all loaded models may hold; `None`: only the machine's free memory counts.
    pub max_memory: Option<u64>,
    /// Seconds an idle model stays loaded (negative: forever).
    pub keep_alive: i64,
}

pub struct Registry {
    entries: Vec<Arc<Entry>>,
    limits: Limits,
    load_lock: tokio::sync::Mutex<()>,
}

pub struct Entry {
    pub spec: ModelSpec,
    /// Counters that outlive each load (the model's totals since the server started).
    pub stats: Arc<Stats>,
    state: Mutex<State>,
    changed: Notify,
    pub loads: AtomicU64,
    pub unloads: AtomicU64,
    /// Whether the model has ever finished loading (`/health` waits for the first one).
    pub ever_loaded: AtomicBool,
}

enum State {
    /// `error`: why the last load failed, and when (a new request retries after a pause).
    Unloaded {
        error: Option<(String, Instant)>,
    },
    Loading,
    Loaded(Live),
}

struct Live {
    scheduler: Scheduler,
    leases: usize,
    last_used: Instant,
    keep_alive: i64,
    /// Bytes llama.cpp reported for this model's buffers (weights, KV cache, compute).
    memory: u64,
}

/// A model held for one request: it is not unloaded while the lease lives.
pub struct Lease {
    entry: Arc<Entry>,
    pub scheduler: Scheduler,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let State::Loaded(live) = &mut *self.entry.lock() {
            live.leases -= 1;
            live.last_used = Instant::now();
        }
    }
}

impl Lease {
    pub fn name(&self) -> &str {
        &self.entry.spec.name
    }
}

/// What `/v1/models`, `/metrics` and the dashboard show of one model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelView {
    pub name: String,
    pub path: PathBuf,
    pub state: &'static str,
    /// Measured buffers while loaded; the estimate otherwise.
    pub memory_bytes: u64,
    pub estimate_bytes: u64,
    pub active_requests: usize,
    pub loads: u64,
    pub unloads: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Entry {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn view(&self) -> ModelView {
        let st = self.lock();
        let (state, memory, active, error) = match &*st {
            State::Unloaded { error } => ("unloaded", 0, 0, error.as_ref().map(|e| e.0.clone())),
            State::Loading => ("loading", 0, 0, None),
            State::Loaded(l) => ("loaded", l.memory, l.leases, None),
        };
        ModelView {
            name: self.spec.name.clone(),
            path: self.spec.path.clone(),
            state,
            memory_bytes: memory,
            estimate_bytes: self.spec.estimate_bytes,
            active_requests: active,
            loads: self.loads.load(Ordering::Relaxed),
            unloads: self.unloads.load(Ordering::Relaxed),
            error,
        }
    }

    /// The running scheduler, when loaded (no lease: for reading figures only).
    pub fn scheduler(&self) -> Option<Scheduler> {
        match &*self.lock() {
            State::Loaded(l) => Some(l.scheduler.clone()),
            _ => None,
        }
    }
}

impl Registry {
    pub fn new(specs: Vec<ModelSpec>, limits: Limits) -> Registry {
        let entries = specs
            .into_iter()
            .map(|spec| {
                Arc::new(Entry {
                    spec,
                    stats: Arc::new(Stats::default()),
                    state: Mutex::new(State::Unloaded { error: None }),
                    changed: Notify::new(),
                    loads: AtomicU64::new(0),
                    unloads: AtomicU64::new(0),
                    ever_loaded: AtomicBool::new(false),
                })
            })
            .collect();
        Registry {
            entries,
            limits,
            load_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn entries(&self) -> &[Arc<Entry>] {
        &self.entries
    }

    /// The first model: what a request without `model` gets.
    pub fn default_entry(&self) -> &Arc<Entry> {
        &self.entries[0]
    }

    /// The model a request names: its name, file name or path; absent: the first model.
    pub fn find(&self, requested: Option<&str>) -> Result<&Arc<Entry>, ApiError> {
        let Some(m) = requested else {
            return Ok(self.default_entry());
        };
        self.entries
            .iter()
            .find(|e| {
                let file = e.spec.path.file_name().map(|f| f.to_string_lossy());
                m == e.spec.name
                    || Some(m) == file.as_deref()
                    || e.spec.path == std::path::Path::new(m)
            })
            .ok_or_else(|| {
                let known: Vec<&str> = self.entries.iter().map(|e| e.spec.name.as_str()).collect();
                ApiError::not_found(
                    "model",
                    format!(
                        "model '{m}' is not served here; known models: {}",
                        known.join(", ")
                    ),
                )
            })
    }

    /// Hold `entry` for a request, loading it first if needed (waiting until `deadline`).
    /// `keep_alive` (seconds) replaces the model's keep-alive from this request on.
    pub async fn acquire(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        keep_alive: Option<i64>,
        deadline: tokio::time::Instant,
    ) -> Result<Lease, ApiError> {
        let mut waited = false;
        loop {
            let notified = entry.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = entry.lock();
                match &mut *st {
                    State::Loaded(live) => {
                        live.leases += 1;
                        live.last_used = Instant::now();
                        if let Some(k) = keep_alive {
                            live.keep_alive = k;
                        }
                        return Ok(Lease {
                            entry: Arc::clone(entry),
                            scheduler: live.scheduler.clone(),
                        });
                    }
                    State::Loading => waited = true,
                    State::Unloaded {
                        error: Some((e, at)),
                    } if waited || at.elapsed() < RETRY_AFTER_FAILURE => {
                        return Err(ApiError::unavailable(
                            format!("model '{}' could not be loaded: {e}", entry.spec.name),
                            RETRY_AFTER_FAILURE.as_secs(),
                        ));
                    }
                    State::Unloaded { .. } => {
                        *st = State::Loading;
                        waited = true;
                        self.spawn_load(entry, deadline);
                    }
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(ApiError::unavailable(
                    format!(
                        "model '{}' is still loading (the request timed out waiting)",
                        entry.spec.name
                    ),
                    5,
                ));
            }
        }
    }

    /// Load the first model before the server reports ready; its failure ends the server
    /// (with the load's own error and exit code), as a single-model server should.
    pub async fn load_first(self: &Arc<Self>) -> anyhow::Result<usize> {
        let entry = Arc::clone(self.default_entry());
        *entry.lock() = State::Loading;
        let _one_at_a_time = self.load_lock.lock().await;
        match Self::start(&entry).await {
            Ok(scheduler) => {
                let slot_context = scheduler.slot_context;
                self.finish(&entry, Ok(scheduler));
                Ok(slot_context)
            }
            Err(e) => {
                *entry.lock() = State::Unloaded {
                    error: Some((format!("{e:#}"), Instant::now())),
                };
                entry.changed.notify_waiters();
                Err(e)
            }
        }
    }

    /// Load `entry` in a task of its own; if that task dies (a panic), the model is marked
    /// failed and its waiters woken instead of waiting on `Loading` forever.
    fn spawn_load(self: &Arc<Self>, entry: &Arc<Entry>, deadline: tokio::time::Instant) {
        let (reg, e) = (Arc::clone(self), Arc::clone(entry));
        let task = tokio::spawn(async move { reg.load(e, deadline).await });
        let e = Arc::clone(entry);
        tokio::spawn(async move {
            if task.await.is_err() {
                *e.lock() = State::Unloaded {
                    error: Some(("the load stopped unexpectedly".into(), Instant::now())),
                };
                e.changed.notify_waiters();
            }
        });
    }

    async fn load(self: Arc<Self>, entry: Arc<Entry>, deadline: tokio::time::Instant) {
        let _one_at_a_time = self.load_lock.lock().await;
        let result = match self.make_room(&entry, deadline).await {
            Ok(()) => Self::start(&entry).await,
            Err(e) => Err(e),
        };
        self.finish(&entry, result);
    }

    /// Load the model and start its scheduler, on a blocking thread.
    async fn start(entry: &Arc<Entry>) -> anyhow::Result<Scheduler> {
        let (load, batch, stats) = (
            Arc::clone(&entry.spec.load),
            entry.spec.batch.clone(),
            Arc::clone(&entry.stats),
        );
        tokio::task::spawn_blocking(move || {
            let (model, spec) = load()?;
            let mut batch = batch;
            batch.spec = spec;
            Scheduler::start_with_stats(model, batch, stats)
        })
        .await
        .map_err(anyhow::Error::from)
        .and_then(|r| r)
    }

    /// Record how a load ended and wake the requests waiting for it.
    fn finish(&self, entry: &Arc<Entry>, result: anyhow::Result<Scheduler>) {
        let mut st = entry.lock();
        match result {
            Ok(scheduler) => {
                let memory = scheduler
                    .model()
                    .buffers
                    .iter()
                    .chain(&scheduler.buffers)
                    .map(|b| b.bytes)
                    .sum();
                output::message(&format!(
                    "loaded {} ({} in buffers, {} slots of {} tokens)",
                    entry.spec.name,
                    bytes(memory),
                    entry.spec.batch.slots,
                    scheduler.slot_context
                ));
                *st = State::Loaded(Live {
                    scheduler,
                    leases: 0,
                    last_used: Instant::now(),
                    keep_alive: self.limits.keep_alive,
                    memory,
                });
                entry.loads.fetch_add(1, Ordering::Relaxed);
                entry.ever_loaded.store(true, Ordering::SeqCst);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                output::message(&format!("error: loading {}: {msg}", entry.spec.name));
                *st = State::Unloaded {
                    error: Some((msg, Instant::now())),
                };
            }
        }
        drop(st);
        entry.changed.notify_waiters();
    }
}
