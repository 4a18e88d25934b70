//! What the server measures, in one place: answered requests by endpoint and status, the last
//! requests with their figures, and a once-a-second history of rates and gauges derived from
//! the batch engine's counters. `/metrics` (Prometheus text), `/api/status` (the dashboard) and
//! the log read these; none of them computes figures of its own.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::models::Entry;
use crate::engine::batch::Stats;
use crate::report::round2;
use crate::system::Device;

/// Requests kept for the dashboard's table, and seconds of history for its charts.
const RECENT: usize = 100;
const HISTORY: usize = 300;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    recent: Mutex<VecDeque<RequestRecord>>,
    history: Mutex<History>,
}

/// One answered request, as the log line and the dashboard show it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    /// Unix time in milliseconds when the answer ended.
    pub time_ms: u64,
    pub method: String,
    pub path: String,
    pub status: u16,
    pub prompt_tokens: usize,
    pub cached_tokens: usize,
    pub gen_tokens: usize,
    pub ttft_ms: Option<f64>,
    pub gen_tps: Option<f64>,
    pub duration_ms: f64,
    pub finish_reason: Option<String>,
    /// The model that answered (none when the request failed before one was chosen).
    pub model: Option<String>,
}

/// One second of the engine's activity.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub time_ms: u64,
    pub gen_tps: f64,
    pub prompt_tps: f64,
    pub active: usize,
    pub queued: usize,
    pub kv_cells_used: usize,
    /// Memory in use per device (total - free), as the devices report it.
    pub device_used_bytes: Vec<u64>,
}

#[derive(Default)]
struct History {
    samples: VecDeque<Sample>,
    last: Option<(Instant, u64, u64)>,
}

pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Metrics {
    pub fn record(&self, r: RequestRecord) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((r.path.clone(), r.status))
            .or_default() += 1;
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(r);
    }

    pub fn recent(&self) -> Vec<RequestRecord> {
        self.recent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    pub fn history(&self) -> Vec<Sample> {
        let h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        h.samples.iter().cloned().collect()
    }

    /// Take a sample: the token rates since the last one, from the engines' counters
    /// (every model's, summed; they count on across unloads).
    pub fn sample(&self, stats: &[&Stats], devices: &[Device]) {
        let now = Instant::now();
        let sum = |f: fn(&Stats) -> u64| stats.iter().map(|s| f(s)).sum::<u64>();
        let count = |f: fn(&Stats) -> usize| stats.iter().map(|s| f(s)).sum::<usize>();
        let generated = sum(|s| s.generated_tokens.load(Ordering::Relaxed));
        let prompt = sum(|s| s.prompt_tokens.load(Ordering::Relaxed));
        let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let (gen_tps, prompt_tps) = match h.last {
            Some((t, g, p)) => {
                let s = now.duration_since(t).as_secs_f64().max(1e-3);
                ((generated - g) as f64 / s, (prompt - p) as f64 / s)
            }
            None => (0.0, 0.0),
        };
        h.last = Some((now, generated, prompt));
        if h.samples.len() == HISTORY {
            h.samples.pop_front();
        }
        h.samples.push_back(Sample {
            time_ms: unix_ms(),
            gen_tps: round2(gen_tps),
            prompt_tps: round2(prompt_tps),
            active: count(|s| s.active.load(Ordering::Relaxed)),
            queued: count(|s| s.queued.load(Ordering::Relaxed)),
            kv_cells_used: count(|s| s.kv_cells_used.load(Ordering::Relaxed)),
            device_used_bytes: devices
                .iter()
                .map(|d| d.memory_total_bytes.saturating_sub(d.memory_free_bytes))
                .collect(),
        });
    }

    /// The Prometheus text exposition of everything measured.
    pub fn prometheus(&self, models: &[Arc<Entry>], devices: &[Device]) -> String {
        let mut o = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, values: &[(String, f64)]| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in values {
                let _ = writeln!(o, "{name}{labels} {v}");
            }
        };
        let requests: Vec<(String, f64)> = self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|((path, status), n)| {
                (
                    format!("{{path=\"{path}\",status=\"{status}\"}}"),
                    *n as f64,
                )
            })
            .collect();
        metric(
            "inferno_requests_total",
            "counter",
            "Requests answered, by path and HTTP status.",
            &requests,
        );
        // One series per model (label `model`); a model's counters go on across unloads.
        let per_model = |f: &dyn Fn(&Entry) -> f64| -> Vec<(String, f64)> {
            models
                .iter()
                .map(|e| (format!("{{model=\"{}\"}}", label(&e.spec.name)), f(e)))
                .collect()
        };
        let c = |f: fn(&Stats) -> &AtomicU64| {
            per_model(&|e| f(&e.stats).load(Ordering::Relaxed) as f64)
        };
        let g = |f: fn(&Stats) -> &AtomicUsize| {
            per_model(&|e| f(&e.stats).load(Ordering::Relaxed) as f64)
        };
        let secs = |f: fn(&Stats) -> &AtomicU64| {
            per_model(&|e| f(&e.stats).load(Ordering::Relaxed) as f64 / 1e9)
        };
        metric(
            "inferno_prompt_tokens_total",
            "counter",
            "Prompt tokens evaluated (cache hits not included).",
            &c(|s| &s.prompt_tokens),
        );
        metric(
            "inferno_prompt_cached_tokens_total",
            "counter",
            "Prompt tokens found in a slot's cache.",
            &c(|s| &s.cached_tokens),
        );
        metric(
            "inferno_generated_tokens_total",
            "counter",
            "Tokens generated.",
            &c(|s| &s.generated_tokens),
        );
        metric(
            "inferno_decode_calls_total",
            "counter",
            "llama_decode calls (batch steps).",
            &c(|s| &s.decode_calls),
        );
        metric(
            "inferno_decode_seconds_total",
            "counter",
            "Time inside llama_decode.",
            &secs(|s| &s.decode_ns),
        );
        metric(
            "inferno_step_seconds_total",
            "counter",
            "Time of whole batch steps (decode, sampling, bookkeeping).",
            &secs(|s| &s.step_ns),
        );
        metric(
            "inferno_slots",
            "gauge",
            "Slots (requests served at once) of loaded models.",
            &g(|s| &s.slots),
        );
        metric(
            "inferno_slots_active",
            "gauge",
            "Slots serving a request.",
            &g(|s| &s.active),
        );
        metric(
            "inferno_queue_length",
            "gauge",
            "Requests waiting for a slot.",
            &g(|s| &s.queued),
        );
        metric(
            "inferno_kv_cache_cells_used",
            "gauge",
            "KV cache cells holding tokens.",
            &g(|s| &s.kv_cells_used),
        );
        metric(
            "inferno_kv_cache_cells",
            "gauge",
            "KV cache cells in all slots.",
            &g(|s| &s.kv_cells_total),
        );
        let views: Vec<_> = models.iter().map(|e| e.view()).collect();
        let per_view = |f: &dyn Fn(&super::models::ModelView) -> f64| -> Vec<(String, f64)> {
            views
                .iter()
                .map(|v| (format!("{{model=\"{}\"}}", label(&v.name)), f(v)))
                .collect()
        };
        metric(
            "inferno_model_loaded",
            "gauge",
            "1 while the model is loaded, else 0.",
            &per_view(&|v| f64::from(u8::from(v.state == "loaded"))),
        );
        metric(
            "inferno_model_memory_bytes",
            "gauge",
            "Bytes in the loaded model's buffers (weights, KV cache, compute), as llama.cpp reported them.",
            &per_view(&|v| v.memory_bytes as f64),
        );
        metric(
            "inferno_model_loads_total",
            "counter",
            "Times the model was loaded.",
            &per_view(&|v| v.loads as f64),
        );
        metric(
            "inferno_model_unloads_total",
            "counter",
            "Times the model was unloaded (keep-alive passed, or room made for another).",
            &per_view(&|v| v.unloads as f64),
        );
        let last = self.history().last().cloned();
        let rate = |f: fn(&Sample) -> f64| vec![(String::new(), last.as_ref().map_or(0.0, f))];
        metric(
            "inferno_generation_tokens_per_second",
            "gauge",
            "Tokens generated per second over the last second.",
            &rate(|s| s.gen_tps),
        );
        metric(
            "inferno_prompt_tokens_per_second",
            "gauge",
            "Prompt tokens evaluated per second over the last second.",
            &rate(|s| s.prompt_tps),
        );
        let per_device = |f: fn(&Device) -> u64| -> Vec<(String, f64)> {
            devices
                .iter()
                .map(|d| (format!("{{device=\"{}\"}}", d.name), f(d) as f64))
                .collect()
        };
        metric(
            "inferno_device_memory_total_bytes",
            "gauge",
            "Memory of each compute device.",
            &per_device(|d| d.memory_total_bytes),
        );
        metric(
            "inferno_device_memory_free_bytes",
            "gauge",
            "Free memory of each compute device.",
            &per_device(|d| d.memory_free_bytes),
        );
        o
    }
}

/// A Prometheus label value: backslash, double quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
