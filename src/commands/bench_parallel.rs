//! `inferno bench --parallel LIST`: batched decoding with llama-batched-bench's method
//! ([`crate::bench::parallel`]), every combination of -p (prompt per sequence), -n (tokens
//! generated per sequence) and --parallel (sequences), on one model with one setting each.

use std::sync::Arc;

use crate::bench::export::Format;
use crate::bench::parallel;
use crate::bench::plan::Lists;
use crate::cli::BenchArgs;
use crate::engine::workload::Batched;
use crate::engine::{self, ContextOptions, ModelOptions};
use crate::error::{Exit, fail};
use crate::output;

use super::Global;

pub async fn run(
    l: &Lists,
    parallel: &[u32],
    args: &BenchArgs,
    global: &Global,
) -> anyhow::Result<()> {
    let one = |v: &[u32], flag: &str| match v {
        [x] => Ok(*x),
        _ => Err(fail(
            Exit::Usage,
            format!("with --parallel, {flag} takes one value"),
        )),
    };
    if l.models.len() != 1 || l.flash_attn.len() != 1 || !l.pg.is_empty() || l.depth != [0] {
        return Err(fail(
            Exit::Usage,
            "with --parallel: one model, one --flash-attn, no --pg and no -d/--depth",
        ));
    }
    let opts = ContextOptions {
        n_ctx: one(&l.n_ctx, "-c/--context-size")?,
        n_batch: one(&l.batch, "-b/--batch-size")?,
        n_ubatch: one(&l.ubatch, "--ubatch-size")?,
        threads: one(&l.threads, "-t/--threads")?,
        flash_attn: l.flash_attn[0],
        op_offload: l.op_offload,
        n_seq: 1,
    };
    let gpu_layers = one(&l.gpu_layers, "--gpu-layers")?;
    let mut tests = Vec::new();
    for &pp in &l.n_prompt {
        for &tg in &l.n_gen {
            for &pl in parallel {
                tests.push(Batched { pp, tg, pl });
            }
        }
    }
    if tests.iter().any(|t| t.pp == 0) {
        return Err(fail(
            Exit::Usage,
            "with --parallel, -p/--n-prompt must be at least 1",
        ));
    }
    super::warn_plugins()?;
    let path = l.models[0].clone();
    let cancel = global.interrupts.flag();
    let verbose = global.verbose > 0;
    let reps = args.repetitions;
    let task_opts = opts.clone();
    let results = tokio::task::spawn_blocking(move || {
        let model = engine::load_model(
            &path,
            &ModelOptions {
                gpu_layers,
                ..ModelOptions::default()
            },
            Arc::clone(&cancel),
            |_| {},
        )?;
        parallel::run(&model, &task_opts, &tests, reps, &cancel, |t, rep| {
            if verbose {
                output::message(&format!(
                    "bench: pp {} tg {} B {}: run {rep}/{reps}",
                    t.pp, t.tg, t.pl
                ));
            }
        })
    })
    .await?;
    let results = match (results, global.interrupts.exit()) {
        (_, Some(exit)) => return Err(fail(exit, "")),
        (r, None) => r?,
    };
    let context = serde_json::json!({
        "model": l.models[0],
        "n_batch": opts.n_batch,
        "n_ubatch": opts.n_ubatch,
        "n_threads": opts.threads,
        "flash_attn": opts.flash_attn.to_string(),
        "n_gpu_layers": gpu_layers,
        "repetitions": reps,
    });
    let text = match args.output {
        Format::Markdown => parallel::markdown(&results),
        Format::Jsonl => parallel::jsonl(&results, &context),
        Format::Json => {
            serde_json::to_string_pretty(
                &serde_json::json!({"context": context, "results": results.iter().map(|r| serde_json::json!({"result": r, "summary": parallel::summarize(r)})).collect::<Vec<_>>()}),
            )? + "\n"
        }
        Format::Csv => {
            return Err(fail(
                Exit::Usage,
                "with --parallel, -o takes md, json or jsonl",
            ));
        }
    };
    output::stdout(&text)?;
    Ok(())
}
