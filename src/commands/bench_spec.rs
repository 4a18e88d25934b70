//! `inferno bench --draft-model PATH` / `--lookup`: plain against speculative greedy
//! generation on the built-in prompts ([`crate::bench::speculative`]), one model, one setting.

use crate::bench::export::Format;
use crate::bench::plan::Lists;
use crate::bench::speculative as spec_bench;
use crate::cli::BenchArgs;
use crate::engine::ContextOptions;
use crate::error::{Exit, fail};
use crate::output;

use super::{Global, load_blocking, model_file, speculative};

pub async fn run(l: &Lists, args: &BenchArgs, global: &Global) -> anyhow::Result<()> {
    let single = l.models.len() == 1
        && l.n_gen.len() == 1
        && [&l.threads, &l.batch, &l.ubatch, &l.gpu_layers]
            .iter()
            .all(|v| v.len() == 1)
        && l.flash_attn.len() == 1
        && l.n_ctx.len() == 1;
    if !single || !args.parallel.is_empty() {
        return Err(fail(
            Exit::Usage,
            "with --draft-model/--lookup: one model and one value per setting (-n is the length generated per prompt); no --parallel",
        ));
    }
    let mut flags = super::model_layer(&Default::default());
    flags.default_model = Some(l.models[0].clone());
    flags.speculative = speculative::spec_layer(&args.spec);
    let settings = super::settings(global, flags)?;
    let (path, header) = model_file(&settings)?;
    let draft = speculative::check_draft(&header, &settings)?;
    super::warn_plugins()?;
    let n_gen = l.n_gen[0];
    let n_ctx = match l.n_ctx[0] {
        0 => 4096,
        n => n,
    };
    let opts = ContextOptions {
        n_ctx,
        n_batch: l.batch[0],
        n_ubatch: l.ubatch[0],
        threads: l.threads[0],
        flash_attn: l.flash_attn[0],
        op_offload: l.op_offload,
        n_seq: 1,
    };
    let reps = args.repetitions;
    let verbose = global.verbose > 0;
    let cancel = global.interrupts.flag();
    let mut settings = settings;
    settings.backend.gpu_layers = l.gpu_layers[0];
    let task_opts = opts.clone();
    let task_settings = settings.clone();
    let results = tokio::task::spawn_blocking(move || {
        let model = load_blocking(&path, &header, &task_settings, cancel.clone())?;
        let draft = task_settings
            .speculative
            .draft_model
            .as_deref()
            .zip(draft.as_ref());
        let setup = speculative::setup_blocking(draft, &task_settings, cancel.clone())?
            .expect("speculation is on");
        spec_bench::run(
            &model,
            &task_opts,
            &setup,
            &spec_bench::prompts(),
            n_gen,
            reps,
            &cancel,
            |name, rep| {
                if verbose {
                    output::message(&format!("bench: {name}: run {rep}/{reps}"));
                }
            },
        )
    })
    .await?;
    let results = match (results, global.interrupts.exit()) {
        (_, Some(exit)) => return Err(fail(exit, "")),
        (r, None) => r?,
    };
    let context = serde_json::json!({
        "model": l.models[0],
        "draft_model": settings.speculative.draft_model,
        "lookup": settings.speculative.lookup,
        "speculative": speculative::options(&settings),
        "n_gen": n_gen,
        "n_threads": opts.threads,
        "n_gpu_layers": l.gpu_layers[0],
        "repetitions": reps,
    });
    let text = match args.output {
        Format::Markdown => spec_bench::markdown(&results),
        Format::Json | Format::Jsonl => {
            let rows: Vec<_> = results
                .iter()
                .map(|r| serde_json::json!({"result": r, "summary": spec_bench::summarize(r)}))
                .collect();
            serde_json::to_string_pretty(&serde_json::json!({"context": context, "results": rows}))?
                + "\n"
        }
        Format::Csv => {
            return Err(fail(
                Exit::Usage,
                "with --draft-model/--lookup, -o takes md or json",
            ));
        }
    };
    output::stdout(&text)?;
    Ok(())
}
