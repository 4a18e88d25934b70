//! Making room: unloading idle models least-recently-used first when a load would pass
//! `--max-loaded` or the memory budget, unloading after the keep-alive, and shutdown.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Entry, Live, Registry, State};
use crate::output;
use crate::units::bytes;

impl Registry {
    /// Unload idle models, least recently used first, until `entry` fits the limits. Models
    /// with requests are waited for (bounded); with nothing left to unload the load goes ahead
    /// and llama.cpp's own allocation decides.
    pub(super) async fn make_room(
        &self,
        entry: &Arc<Entry>,
        deadline: tokio::time::Instant,
    ) -> anyhow::Result<()> {
        loop {
            let loaded: Vec<(&Arc<Entry>, u64, Option<Instant>)> = self
                .entries
                .iter()
                .filter(|e| !Arc::ptr_eq(e, entry))
                .filter_map(|e| match &*e.lock() {
                    State::Loaded(l) => Some((e, l.memory, (l.leases == 0).then_some(l.last_used))),
                    _ => None,
                })
                .collect();
            let held: u64 = loaded.iter().map(|(_, m, _)| m).sum();
            let reason = if loaded.len() >= self.limits.max_loaded {
                Some(format!("--max-loaded {}", self.limits.max_loaded))
            } else {
                self.memory_short(entry.spec.estimate_bytes, held, entry.spec.uses_gpu)
            };
            let Some(reason) = reason else { return Ok(()) };
            if loaded.is_empty() {
                return Ok(());
            }
            let lru = loaded
                .iter()
                .filter_map(|(e, _, idle)| idle.map(|t| (e, t)))
                .min_by_key(|(_, t)| *t);
            match lru {
                Some((victim, _)) => {
                    let why = format!("to load {} ({reason})", entry.spec.name);
                    self.unload(victim, &why).await;
                }
                // Waiting longer than the request that asked for the load would be for nobody.
                None if tokio::time::Instant::now() >= deadline => {
                    anyhow::bail!(
                        "{reason} is reached and every loaded model is busy; try again later"
                    );
                }
                None => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Why `need` more bytes do not fit beside `held`, if they do not.
    fn memory_short(&self, need: u64, held: u64, uses_gpu: bool) -> Option<String> {
        match self.limits.max_memory {
            Some(max) if held.saturating_add(need) > max => Some(format!(
                "--max-memory {}: {} loaded + {} needed",
                bytes(max),
                bytes(held),
                bytes(need)
            )),
            Some(_) => None,
            None if uses_gpu => {
                // The new model should get the GPUs, as a model loaded alone would (auto
                // placement then puts all of it there instead of a part).
                let free: u64 = crate::system::devices()
                    .iter()
                    .filter(|d| d.kind == "gpu" || d.kind == "igpu")
                    .map(|d| d.memory_free_bytes)
                    .sum();
                (free > 0 && need > free)
                    .then(|| format!("GPU memory: {} needed, {} free", bytes(need), bytes(free)))
            }
            None => {
                let free = crate::system::system().memory_available_bytes;
                (free > 0 && need > free)
                    .then(|| format!("memory: {} needed, {} available", bytes(need), bytes(free)))
            }
        }
    }

    /// Unload `entry` if it is loaded and idle, and wait until llama.cpp has freed it.
    pub async fn unload(&self, entry: &Arc<Entry>, why: &str) -> bool {
        self.unload_if(entry, why, |_| true).await
    }

    /// [`Registry::unload`] when `still` holds for the loaded model, checked under its lock
    /// (a decision made before waiting for `load_lock` may be stale by then).
    async fn unload_if(
        &self,
        entry: &Arc<Entry>,
        why: &str,
        still: impl Fn(&Live) -> bool,
    ) -> bool {
        let live = {
            let mut st = entry.lock();
            match &*st {
                State::Loaded(l) if l.leases == 0 && still(l) => {}
                _ => return false,
            }
            match std::mem::replace(&mut *st, State::Unloaded { error: None }) {
                State::Loaded(l) => l,
                _ => unreachable!("checked above"),
            }
        };
        let model = Arc::downgrade(live.scheduler.model());
        drop(live);
        // The batch thread ends once its command channel closes; the model is freed with it.
        let started = Instant::now();
        while model.strong_count() > 0 && started.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for gauge in [
            &entry.stats.slots,
            &entry.stats.kv_cells_total,
            &entry.stats.kv_cells_used,
        ] {
            gauge.store(0, Ordering::Relaxed);
        }
        entry.unloads.fetch_add(1, Ordering::Relaxed);
        output::message(&format!("unloaded {} {why}", entry.spec.name));
        entry.changed.notify_waiters();
        true
    }

    /// Once a second: unload idle models whose keep-alive has passed.
    pub async fn reaper(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            // At least a second idle, even with keep-alive 0: a request woken by the load
            // that made the model ready must get to it first.
            let expired = |l: &Live| {
                l.keep_alive >= 0
                    && l.last_used.elapsed() >= Duration::from_secs(l.keep_alive.max(1) as u64)
            };
            for e in &self.entries {
                let due = matches!(&*e.lock(), State::Loaded(l) if l.leases == 0 && expired(l));
                if due {
                    // Not while a load decides what to unload; checked again after waiting.
                    let _g = self.load_lock.lock().await;
                    self.unload_if(e, "(keep-alive passed)", expired).await;
                }
            }
        }
    }

    /// End every request on every loaded model (shutdown).
    pub fn stop_all(&self) {
        for e in &self.entries {
            if let Some(s) = e.scheduler() {
                s.stop_all();
            }
        }
    }

    /// Requests running or queued on any model.
    pub fn busy(&self) -> bool {
        self.entries.iter().any(|e| {
            e.stats.active.load(Ordering::SeqCst) + e.stats.queued.load(Ordering::SeqCst) > 0
        })
    }
}
