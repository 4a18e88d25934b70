//! The scheduler's thread: it owns the context, takes requests from the queue into free slots
//! (the slot whose cache shares the longest prefix with the prompt, else the one unused the
//! longest), and runs one `llama_decode` per step: first one token for each generating slot,
//! then prompt chunks, oldest request first, up to the batch size.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use llama_cpp_2::llama_batch::LlamaBatch;
use tokio::sync::mpsc;

use super::slot::{After, Logits, Slot};
use super::{BatchOptions, Command, Completion, Event, Pending, Stats};
use crate::engine::context::{ContextOptions, new_context, warm_up};
use crate::engine::model::LoadedModel;
use crate::engine::request::StopReason;
use crate::engine::sampler::Sampler;

type Ready = std::sync::mpsc::Sender<anyhow::Result<(usize, Vec<crate::engine::logs::Buffer>)>>;

pub(super) fn run(
    model: Arc<LoadedModel>,
    opts: BatchOptions,
    mut commands: mpsc::UnboundedReceiver<Command>,
    stats: Arc<Stats>,
    ready: Ready,
) {
    let slots_n = opts.slots.max(1);
    let ctx_opts = ContextOptions {
        n_ctx: opts.context.n_ctx.saturating_mul(slots_n),
        n_seq: slots_n,
        ..opts.context.clone()
    };
    let (mut ctx, buffers) = match new_context(&model, &ctx_opts) {
        Ok(x) => x,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    if let Err(e) = warm_up(&mut ctx, &model) {
        let _ = ready.send(Err(e));
        return;
    }
    let slot_context = ctx.n_ctx() as usize / slots_n as usize;
    let n_batch = ctx.n_batch() as usize;
    stats.slots.store(slots_n as usize, Ordering::Relaxed);
    stats
        .kv_cells_total
        .store(slot_context * slots_n as usize, Ordering::Relaxed);
    if ready.send(Ok((slot_context, buffers))).is_err() {
        return;
    }
    let mut slots: Vec<Slot> = (0..slots_n as i32).map(Slot::new).collect();
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let mut batch = LlamaBatch::new(n_batch.max(slots_n as usize), slots_n as i32);
    let mut open = true;
    loop {
        // Wait for work when there is none; otherwise take what has arrived and go on.
        let idle = queue.is_empty() && slots.iter().all(|s| s.active.is_none());
        if idle {
            if !open {
                return;
            }
            match commands.blocking_recv() {
                Some(cmd) => handle(cmd, &mut queue, &mut slots, &stats),
                None => return,
            }
        }
        loop {
            match commands.try_recv() {
                Ok(cmd) => handle(cmd, &mut queue, &mut slots, &stats),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let step_start = Instant::now();
        assign(
            &model,
            &mut ctx,
            &mut slots,
            &mut queue,
            &stats,
            slot_context,
        );
        // Prompts found whole in a slot, with their logits saved: sample at once.
        for s in slots.iter_mut() {
            let room = slot_context.saturating_sub(s.cached.len());
            let Some(a) = s.active.as_mut() else { continue };
            let Some(logits) = a.replay.take() else {
                continue;
            };
            let after = a.step(Logits::Saved(&logits), &model, room);
            stats
                .generated_tokens
                .fetch_add(a.generated as u64, Ordering::Relaxed);
            if let After::Finish(reason) = after {
                finished(s, reason, &stats);
            }
        }
        // Cancelled requests leave their slot now.
        for s in slots.iter_mut() {
            if s.active.as_ref().is_some_and(|a| a.cancelled()) {
                finished(s, StopReason::Interrupted, &stats);
            }
        }
        if !fill(&mut batch, &mut slots, n_batch, &stats) {
            continue;
        }
        let decode_start = Instant::now();
        let decoded = ctx.decode(&mut batch);
        stats
            .decode_ns
            .fetch_add(decode_start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        stats.decode_calls.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = decoded {
            fail_all(
                &mut ctx,
                &mut slots,
                &stats,
                &format!("llama.cpp failed to decode: {e}"),
            );
            continue;
        }
        for s in slots.iter_mut() {
            // Cells left for the token sampled now, which the next step decodes.
            let room = slot_context.saturating_sub(s.cached.len());
            let Some(a) = s.active.as_mut() else { continue };
            let Some(idx) = a.logits_at.take() else {
                continue;
            };
            if a.at_prompt_end() {
                s.prompt_logits = Some((a.prompt.len(), ctx.get_logits_ith(idx).to_vec()));
            }
            let before = a.generated;
            let after = a.step(Logits::Batch(&ctx, idx), &model, room);
            let new = (a.generated - before) as u64;
            stats.generated_tokens.fetch_add(new, Ordering::Relaxed);
            if let After::Finish(reason) = after {
                finished(s, reason, &stats);
            }
        }
        let used: usize = slots.iter().map(|s| s.cached.len()).sum();
        stats.kv_cells_used.store(used, Ordering::Relaxed);
        stats
            .step_ns
            .fetch_add(step_start.elapsed().as_nanos() as u64, Ordering::Relaxed);
    }
}

fn handle(cmd: Command, queue: &mut VecDeque<Pending>, slots: &mut [Slot], stats: &Stats) {
    match cmd {
        Command::Submit(p) => queue.push_back(*p),
        Command::StopAll => {
            for s in slots.iter_mut() {
                finished(s, StopReason::Interrupted, stats);
            }
            for p in queue.drain(..) {
                stats.queued.fetch_sub(1, Ordering::SeqCst);
                let _ = p.events.send(Event::Done(Completion::never_started(&p)));
            }
        }
    }
}

/// Move queued requests into free slots, reusing the longest cached prefix.
fn assign(
    model: &LoadedModel,
    ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
    slots: &mut [Slot],
    queue: &mut VecDeque<Pending>,
    stats: &Stats,
    slot_context: usize,
) {
    while let Some(p) = queue.front() {
        if p.cancelled() {
            let p = queue.pop_front().expect("front exists");
            stats.queued.fetch_sub(1, Ordering::SeqCst);
            let _ = p.events.send(Event::Done(Completion::never_started(&p)));
            continue;
        }
        let best = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.active.is_none())
            .max_by_key(|(_, s)| (s.common_prefix(&p.tokens), std::cmp::Reverse(s.last_used)));
        let Some((i, _)) = best else { break };
        let p = queue.pop_front().expect("front exists");
        stats.queued.fetch_sub(1, Ordering::SeqCst);
        borrow_prefix(ctx, slots, i, &p.tokens);
        let s = &mut slots[i];
        let common = s.common_prefix(&p.tokens);
        // The whole prompt is cached and its logits saved: nothing to evaluate. Otherwise at
        // least the last prompt token is evaluated again, so its logits are fresh.
        let replay = match &s.prompt_logits {
            Some((len, logits)) if *len == p.tokens.len() && common >= *len => Some(logits.clone()),
            _ => None,
        };
        let mut keep = if replay.is_some() {
            p.tokens.len()
        } else {
            common.min(p.tokens.len() - 1)
        };
        if s.prompt_logits.as_ref().is_some_and(|(len, _)| *len > keep) {
            s.prompt_logits = None;
        }
        if keep < s.cached.len() {
            let trimmed = ctx.kv_cache_seq_rm(s.id, Some(keep as u32), None).is_ok();
            if !trimmed {
                let _ = ctx.kv_cache_seq_rm(s.id, None, None);
                keep = 0;
            }
            s.cached.truncate(keep);
        }
        let mut sampler = match Sampler::new(model, &p.req, slot_context) {
            Ok(sampler) => sampler,
            Err(e) => {
                let _ = p.events.send(Event::Failed(format!("{e:#}")));
                continue;
            }
        };
        sampler.accept_prompt(&p.tokens);
        stats.requests_started.fetch_add(1, Ordering::Relaxed);
        stats
            .cached_tokens
            .fetch_add(keep as u64, Ordering::Relaxed);
        stats.active.fetch_add(1, Ordering::Relaxed);
        s.start(p, sampler, keep);
        if let Some(a) = s.active.as_mut() {
            a.replay = replay;
        }
    }
}

/// Prompts worth copying from another slot rather than evaluating again.
const MIN_BORROW: usize = 16;

/// When another slot (busy or not) holds a longer prefix of `tokens` than slot `to` does (a
/// shared system prompt, say), copy that slot's cache into `to`: llama.cpp copies whole
/// sequences between the per-slot caches, so the copy is trimmed to the shared prefix.
fn borrow_prefix(
    ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
    slots: &mut [Slot],
    to: usize,
    tokens: &[llama_cpp_2::token::LlamaToken],
) {
    let own = slots[to].common_prefix(tokens);
    let Some((from, shared)) = slots
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != to)
        .map(|(j, s)| (j, s.common_prefix(tokens)))
        .max_by_key(|&(_, n)| n)
    else {
        return;
    };
    if shared < own + MIN_BORROW {
        return;
    }
    let (src, dst) = (slots[from].id, slots[to].id);
    if ctx.kv_cache_seq_cp(src, dst, None, None).is_err()
        || ctx.kv_cache_seq_rm(dst, Some(shared as u32), None).is_err()
    {
        // Could not trim the copy (e.g. a sliding-window cache): start the slot empty.
        let _ = ctx.kv_cache_seq_rm(dst, None, None);
        slots[to].cached.clear();
        slots[to].prompt_logits = None;
        return;
    }
    slots[to].cached = slots[from].cached[..shared].to_vec();
    slots[to].prompt_logits = None;
}

/// Build the next batch: each generating slot's pending token, then prompt chunks (oldest
/// request first) while the batch has room. False when there is nothing to decode.
fn fill(batch: &mut LlamaBatch<'_>, slots: &mut [Slot], n_batch: usize, stats: &Stats) -> bool {
    batch.clear();
    let mut n = 0usize;
    for s in slots.iter_mut() {
        let Some(a) = s.active.as_mut() else { continue };
        if let Some(tok) = a.pending.take() {
            let pos = s.cached.len() as i32;
            if batch.add(tok, pos, &[s.id], true).is_ok() {
                a.logits_at = Some(n as i32);
                s.cached.push(tok);
                n += 1;
            }
        }
    }
    let mut waiting: Vec<&mut Slot> = slots
        .iter_mut()
        .filter(|s| {
            s.active
                .as_ref()
                .is_some_and(|a| a.prompt_done < a.prompt.len())
        })
        .collect();
    waiting.sort_by_key(|s| s.active.as_ref().map(|a| a.started()));
    for s in waiting {
        if n >= n_batch {
            break;
        }
        let a = s.active.as_mut().expect("filtered");
        let take = (a.prompt.len() - a.prompt_done).min(n_batch - n);
        for j in 0..take {
            let i = a.prompt_done + j;
            let last = i + 1 == a.prompt.len();
            let tok = a.prompt[i];
            if batch
                .add(tok, s.cached.len() as i32, &[s.id], last)
                .is_err()
            {
                break;
            }
            if last {
                a.logits_at = Some(n as i32);
            }
            s.cached.push(tok);
            n += 1;
        }
        a.prompt_done += take;
        stats
            .prompt_tokens
            .fetch_add(take as u64, Ordering::Relaxed);
    }
    n > 0
}

fn finished(s: &mut Slot, reason: StopReason, stats: &Stats) {
    if s.finish(reason).is_some() {
        stats.active.fetch_sub(1, Ordering::Relaxed);
        stats.requests_finished.fetch_add(1, Ordering::Relaxed);
    }
}

/// A failed decode leaves the cache in an unknown state: end every active request with the
/// error and start the slots empty.
fn fail_all(
    ctx: &mut llama_cpp_2::context::LlamaContext<'_>,
    slots: &mut [Slot],
    stats: &Stats,
    why: &str,
) {
    ctx.clear_kv_cache();
    for s in slots.iter_mut() {
        s.cached.clear();
        s.prompt_logits = None;
        if let Some(a) = s.active.take() {
            let _ = a.events.send(Event::Failed(why.to_string()));
            stats.active.fetch_sub(1, Ordering::Relaxed);
            stats.requests_finished.fetch_add(1, Ordering::Relaxed);
        }
    }
}
