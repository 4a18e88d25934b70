//! Greedy text with and without speculative decoding, compared token by token over a file of
//! prompts (JSON lines with "raw" or "chat", and a "kind"). Where the two part, the target's
//! two best logits at that position, computed as the plain loop does (one token at a time) and
//! as verification does (one batch), show whether batched arithmetic flipped a near-tie or
//! something is wrong.
//!
//! ```text
//! cargo run --release --example spec_parity -- TARGET.gguf (DRAFT.gguf|lookup) [TOKENS] [PROMPTS.jsonl] [THREADS]
//! ```

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use inferno::engine::request::TopTwo;
use inferno::engine::sampler::Sampler;
use inferno::engine::speculative::{self, SpecOptions, SpecSetup};
use inferno::engine::{ContextOptions, GenerateRequest, Inference, LoadedModel, ModelOptions};
use llama_cpp_2::token::LlamaToken;

mod common;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: spec_parity TARGET (DRAFT|lookup) [TOKENS] [PROMPTS] [THREADS]";
    let load = |p: &str| {
        inferno::engine::load_model(
            std::path::Path::new(p),
            &ModelOptions::default(),
            Arc::new(AtomicBool::new(false)),
            |_| {},
        )
        .map(Arc::new)
    };
    let target = load(args.get(1).expect(usage))?;
    let how = args.get(2).expect(usage);
    let tokens: u32 = args.get(3).map_or(64, |t| t.parse().expect("tokens"));
    let prompts = args
        .get(4)
        .map_or("benches/prompts/parity.jsonl", String::as_str);
    let threads: u32 = args.get(5).map_or(2, |t| t.parse().expect("threads"));
    let lookup = how == "lookup";
    let setup = SpecSetup {
        opts: SpecOptions {
            draft_max: 16,
            draft_min: 0,
            p_min: 0.75,
            lookup_ngram: lookup.then_some(4),
            adaptive: true,
        },
        draft: if lookup { None } else { Some(load(how)?) },
    };
    let ctx = common::cpu_context(threads);
    let mut inf = Inference::new(&target, &ctx)?;
    let cancel = AtomicBool::new(false);
    let vocab = target.model.vocab();
    let text = |t: i32| {
        String::from_utf8_lossy(&vocab.token_to_piece(LlamaToken(t), false, None)).into_owned()
    };
    let (mut same, mut n, mut t_plain, mut t_spec) = (0, 0, 0.0, 0.0);
    println!(
        "| # | kind | identical | tokens | first difference | one at a time: best, second (gap) | batched: best, second (gap) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for v in common::prompt_items(prompts)? {
        let req = common::greedy_request(&v, tokens)?;
        let prompt_tokens = inf.tokenize(&req.prompt)?;
        let started = Instant::now();
        let plain = generate(&mut inf, &target, &req, &prompt_tokens, None, &ctx, &cancel)?;
        t_plain += started.elapsed().as_secs_f64();
        let started = Instant::now();
        let fast = generate(
            &mut inf,
            &target,
            &req,
            &prompt_tokens,
            Some(&setup),
            &ctx,
            &cancel,
        )?;
        t_spec += started.elapsed().as_secs_f64();
        n += 1;
        let kind = v["kind"].as_str().unwrap_or("");
        let at = plain
            .iter()
            .zip(&fast)
            .position(|(a, b)| a != b)
            .or((plain.len() != fast.len()).then_some(plain.len().min(fast.len())));
        let Some(at) = at else {
            same += 1;
            println!("| {n} | {kind} | yes | {} | | | |", plain.len());
            continue;
        };
        let show = |t: &TopTwo| t.describe(text);
        let mut history = prompt_tokens.clone();
        history.extend_from_slice(&plain[..at]);
        let one = top_two(&mut inf, &history, false, &cancel)?;
        let batched = top_two(&mut inf, &history, true, &cancel)?;
        println!(
            "| {n} | {kind} | no | {} | token {at} | {} | {} |",
            plain.len(),
            show(&one),
            show(&batched)
        );
    }
    println!(
        "\n{same} of {n} identical; wall time plain {t_plain:.1} s, speculative {t_spec:.1} s ({:.2}x)",
        t_plain / t_spec
    );
    Ok(())
}

/// Greedy tokens for `req`, from an empty cache.
fn generate(
    inf: &mut Inference<'_>,
    model: &LoadedModel,
    req: &GenerateRequest,
    prompt: &[LlamaToken],
    spec: Option<&SpecSetup>,
    ctx: &ContextOptions,
    cancel: &AtomicBool,
) -> anyhow::Result<Vec<LlamaToken>> {
    inf.clear();
    inf.prefill(prompt, cancel)?;
    let mut sampler = Sampler::new(model, req, inf.n_ctx())?;
    sampler.accept_prompt(prompt);
    let out = match spec {
        None => inf.stream(req, &mut sampler, cancel, Instant::now(), |_| true)?,
        Some(setup) => {
            let mut s = setup.speculator(ctx)?;
            s.reset(req);
            if let Some(d) = s.draft.as_mut() {
                d.inf.prefill(prompt, cancel)?;
            }
            speculative::stream(
                inf,
                &mut s,
                req,
                &mut sampler,
                cancel,
                Instant::now(),
                |_| true,
            )?
        }
    };
    Ok(out.tokens)
}

/// The target's two best logits after `history`: its last token decoded alone (as the plain
/// loop does) or the whole text in one batch (as verification sees a row).
fn top_two(
    inf: &mut Inference<'_>,
    history: &[LlamaToken],
    batched: bool,
    cancel: &AtomicBool,
) -> anyhow::Result<TopTwo> {
    inf.clear();
    if batched {
        inf.prefill(history, cancel)?;
    } else {
        let (last, head) = history.split_last().expect("a prompt");
        inf.prefill(head, cancel)?;
        inf.push(*last)?;
    }
    let logits = inf.ctx.get_logits_ith(inf.logits_index());
    Ok(TopTwo::of(logits, -1))
}
