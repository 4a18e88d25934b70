//! One slot with speculative decoding: requests one at a time on one sequence, each step
//! verifying proposals from a draft model or prompt lookup ([`crate::engine::speculative`]).
//! Speculation turns spare compute at batch size 1 into speed; when several requests already
//! share each step that compute is taken, so the server drafts only with `--parallel 1` (see
//! the README's measurements). Same commands, events and statistics as the batched
//! scheduler, so the server cannot tell them apart.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::mpsc;

use super::{BatchOptions, Command, Completion, Event, Pending, Stats};
use crate::engine::inference::Inference;
use crate::engine::model::LoadedModel;
use crate::engine::request::StopReason;
use crate::engine::speculative::SpecSetup;

type Ready = std::sync::mpsc::Sender<anyhow::Result<(usize, Vec<crate::engine::logs::Buffer>)>>;

pub(super) fn run(
    model: Arc<LoadedModel>,
    spec: SpecSetup,
    opts: BatchOptions,
    mut commands: mpsc::UnboundedReceiver<Command>,
    stats: Arc<Stats>,
    ready: Ready,
) {
    let ctx_opts = opts.context.clone();
    let setup =
        Inference::new(&model, &ctx_opts).and_then(|inf| Ok((inf, spec.speculator(&ctx_opts)?)));
    let (mut inf, mut speculator) = match setup {
        Ok(x) => x,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let n_ctx = inf.n_ctx();
    stats.slots.store(1, Ordering::Relaxed);
    stats.kv_cells_total.store(n_ctx, Ordering::Relaxed);
    if ready.send(Ok((n_ctx, inf.buffers.clone()))).is_err() {
        return;
    }
    let mut queue: VecDeque<Pending> = VecDeque::new();
    let stop_all = AtomicBool::new(false);
    loop {
        if queue.is_empty() {
            match commands.blocking_recv() {
                Some(cmd) => take(cmd, &mut queue, &stop_all),
                None => return,
            }
        }
        drain(&mut commands, &mut queue, &stop_all);
        if stop_all.swap(false, Ordering::SeqCst) {
            end_queued(&mut queue, &stats);
            continue;
        }
        let Some(p) = queue.pop_front() else { continue };
        stats.queued.fetch_sub(1, Ordering::SeqCst);
        if p.cancelled() {
            let _ = p.events.send(Event::Done(Completion::never_started(&p)));
            continue;
        }
        stats.active.fetch_add(1, Ordering::Relaxed);
        stats.requests_started.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let cached = inf
            .cached()
            .iter()
            .zip(&p.tokens)
            .take_while(|(a, b)| a == b)
            .count()
            .min(p.tokens.len() - 1);
        let _ = p.events.send(Event::Started {
            prompt_tokens: p.tokens.len(),
            cached_tokens: cached,
        });
        // The request's own cancel flag also ends it when Ctrl-C stops everything; commands
        // that arrive meanwhile are taken between pieces of text.
        let mut first_text = None;
        let result = inf.complete(&p.req, &p.cancel, Some(&mut speculator), |text| {
            first_text.get_or_insert_with(Instant::now);
            drain(&mut commands, &mut queue, &stop_all);
            !stop_all.load(Ordering::SeqCst) && p.events.send(Event::Text(text)).is_ok()
        });
        stats.active.fetch_sub(1, Ordering::Relaxed);
        stats.requests_finished.fetch_add(1, Ordering::Relaxed);
        stats.kv_cells_used.store(inf.n_past(), Ordering::Relaxed);
        match result {
            Ok(g) => {
                let steps = g.speculative.as_ref().map_or(g.gen_tokens, |s| s.steps);
                stats
                    .prompt_tokens
                    .fetch_add(g.prompt_tokens as u64, Ordering::Relaxed);
                stats
                    .cached_tokens
                    .fetch_add(cached as u64, Ordering::Relaxed);
                stats
                    .generated_tokens
                    .fetch_add(g.gen_tokens as u64, Ordering::Relaxed);
                stats
                    .decode_calls
                    .fetch_add(steps as u64, Ordering::Relaxed);
                let ms = |from: Instant, to: Instant| to.duration_since(from).as_secs_f64() * 1e3;
                let done = Completion {
                    prompt_tokens: p.tokens.len(),
                    cached_tokens: cached,
                    gen_tokens: g.gen_tokens,
                    stop_reason: g.stop_reason,
                    queued_ms: ms(p.submitted, started),
                    prompt_ms: g.prompt_ms,
                    ttft_ms: first_text.map(|t| ms(p.submitted, t)),
                    gen_ms: g.gen_ms,
                    trace: Vec::new(),
                    speculative: g.speculative,
                };
                let _ = p.events.send(Event::Done(done));
            }
            Err(e) if crate::error::exit_of(&e) == crate::error::Exit::Interrupted => {
                let mut done = Completion::never_started(&p);
                done.stop_reason = StopReason::Interrupted;
                let _ = p.events.send(Event::Done(done));
            }
            Err(e) => {
                // The cache may hold anything now: start the next request from empty.
                inf.clear();
                let _ = p.events.send(Event::Failed(format!("{e:#}")));
            }
        }
    }
}

fn take(cmd: Command, queue: &mut VecDeque<Pending>, stop_all: &AtomicBool) {
    match cmd {
        Command::Submit(p) => queue.push_back(*p),
        Command::StopAll => stop_all.store(true, Ordering::SeqCst),
    }
}

fn drain(
    commands: &mut mpsc::UnboundedReceiver<Command>,
    queue: &mut VecDeque<Pending>,
    stop_all: &AtomicBool,
) {
    while let Ok(cmd) = commands.try_recv() {
        take(cmd, queue, stop_all);
    }
}

fn end_queued(queue: &mut VecDeque<Pending>, stats: &Stats) {
    for p in queue.drain(..) {
        stats.queued.fetch_sub(1, Ordering::SeqCst);
        let _ = p.events.send(Event::Done(Completion::never_started(&p)));
    }
}
