//! `inferno bench`: parse the lists, run the tests on a blocking thread with a progress bar on
//! a terminal, print the results in the chosen format on stdout.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Global, check_gguf, check_semantics, settings};
use crate::bench::plan::{self, Lists};
use crate::bench::runner;
use crate::bench::{BuildInfo, export};
use crate::cli::BenchArgs;
use crate::config::{FlashAttn, Layer, defaults};
use crate::error::{Exit, fail};
use crate::output;
use crate::system;

pub async fn bench(args: BenchArgs, global: &Global) -> anyhow::Result<()> {
    let flags = Layer {
        backend_config: Some(super::device_layer(&args.devices)),
        ..Layer::default()
    };
    let settings = settings(global, flags)?;
    let models: Vec<PathBuf> = if args.model.is_empty() {
        settings.model.clone().into_iter().collect()
    } else {
        args.model.clone()
    };
    if models.is_empty() {
        return Err(fail(
            Exit::Usage,
            "no model given: pass -m/--model PATH (or set default_model)",
        ));
    }
    for m in &models {
        let header = check_gguf(m)?;
        if !settings.skip_model_checks {
            check_semantics(m, &header)?;
        }
    }
    if args.repetitions == 0 {
        return Err(fail(
            Exit::Usage,
            "invalid -r/--repetitions 0: must be at least 1",
        ));
    }
    let b = &settings.backend;
    let auto =
        args.gpu_layers.iter().any(|v| is_auto(v)) || (args.gpu_layers.is_empty() && b.gpu_auto);
    let lists = Lists {
        models,
        n_prompt: list(
            &args.n_prompt,
            "-p/--n-prompt",
            vec![defaults::BENCH_PROMPT],
        )?,
        n_gen: list(&args.n_gen, "-n/--n-gen", vec![defaults::BENCH_GEN])?,
        pg: args
            .pg
            .iter()
            .map(|s| plan::parse_pair(s))
            .collect::<Result<_, _>>()
            .map_err(|e| fail(Exit::Usage, format!("invalid --pg: {e}")))?,
        depth: list(&args.depth, "-d/--depth", vec![0])?,
        threads: nonzero(
            list(&args.threads, "-t/--threads", vec![b.threads])?,
            "-t/--threads",
        )?,
        batch: nonzero(
            list(&args.batch_size, "-b/--batch-size", vec![b.batch_size])?,
            "-b/--batch-size",
        )?,
        ubatch: nonzero(
            list(&args.ubatch_size, "--ubatch-size", vec![b.ubatch_size])?,
            "--ubatch-size",
        )?,
        gpu_layers: {
            let fixed: Vec<String> = args
                .gpu_layers
                .iter()
                .filter(|v| !is_auto(v))
                .cloned()
                .collect();
            if fixed.is_empty() && auto {
                Vec::new()
            } else {
                list(&fixed, "--gpu-layers", vec![b.gpu_layers])?
            }
        },
        flash_attn: flash_list(&args.flash_attn, b.flash_attn)?,
        n_ctx: list(&args.context_size, "-c/--context-size", vec![0])?,
        op_offload: b.gpu_enabled,
    };
    let per_model = if auto {
        with_auto_layers(&lists, &settings)?
    } else {
        vec![lists]
    };
    if args.spec.draft_model.is_some() || args.spec.lookup {
        return super::bench_spec::run(&per_model[0], &args, global).await;
    }
    if !args.parallel.is_empty() {
        let parallel = nonzero(list(&args.parallel, "--parallel", vec![])?, "--parallel")?;
        return super::bench_parallel::run(&per_model[0], &parallel, &args, global).await;
    }
    let specs: Vec<_> = per_model.iter().flat_map(plan::instances).collect();
    if specs.is_empty() {
        return Err(fail(
            Exit::Usage,
            "nothing to run: every -p/-n value is 0 and no --pg was given",
        ));
    }

    super::warn_plugins()?;
    let interrupts = global.interrupts.clone();
    let progress = Arc::new(Progress::new(specs.len(), global.verbose > 0));
    let cancel = interrupts.flag();
    let opts = runner::Options {
        repetitions: args.repetitions,
        warmup: !args.no_warmup,
        model: crate::engine::ModelOptions {
            split: settings.backend.split.clone(),
            no_repack: settings.backend.no_repack,
            ..Default::default()
        },
    };
    let task_progress = Arc::clone(&progress);
    let results = tokio::task::spawn_blocking(move || {
        let mut current = String::new();
        runner::run(&specs, &opts, &cancel, |p| {
            task_progress.report(&mut current, p)
        })
    })
    .await?;
    progress.finish();
    let results = match (results, interrupts.exit()) {
        (_, Some(exit)) => return Err(fail(exit, "")),
        (r, None) => r?,
    };
    let (llama_cpp_version, ggml_version) = system::library_versions();
    let sys = system::system();
    let devices = system::devices();
    let build = BuildInfo {
        inferno_version: env!("CARGO_PKG_VERSION").to_string(),
        llama_cpp_2_version: env!("BUILD_LLAMA_CPP_2_VERSION").to_string(),
        llama_cpp_version,
        ggml_version,
        backends: system::backend_names(),
        cpu: format!(
            "{}, {} cores",
            sys.cpu.as_deref().unwrap_or("unknown CPU"),
            sys.physical_cores.unwrap_or(sys.logical_cores)
        ),
        gpus: devices
            .iter()
            .filter(|d| d.kind == "gpu" || d.kind == "igpu")
            .map(|d| d.description.clone())
            .collect(),
    };
    output::stdout(&export::render(args.output, &build, &results))?;
    Ok(())
}

fn is_auto(v: &str) -> bool {
    v.trim().eq_ignore_ascii_case("auto")
}

/// `--gpu-layers auto` (the default with a GPU backend): one list per model, with the layers
/// that fit it at the largest context the tests use (the decision is said on stderr).
fn with_auto_layers(
    lists: &Lists,
    settings: &crate::config::Settings,
) -> anyhow::Result<Vec<Lists>> {
    let max = |v: &[u32]| v.iter().copied().max().unwrap_or(0);
    let pg = lists.pg.iter().map(|(p, g)| p + g).max().unwrap_or(0);
    let tokens = (max(&lists.n_prompt) + max(&lists.n_gen)).max(pg) + max(&lists.depth);
    let mut s = settings.clone();
    s.backend.context_size = max(&lists.n_ctx).max(tokens).max(1);
    s.backend.ubatch_size = max(&lists.ubatch).max(1);
    s.backend.gpu_auto = true;
    lists
        .models
        .iter()
        .map(|m| {
            let header = check_gguf(m)?;
            let (placed, _) = super::place(m, &header, &s, 1, true)?;
            let mut l = lists.clone();
            l.models = vec![m.clone()];
            if !l.gpu_layers.contains(&placed.backend.gpu_layers) {
                l.gpu_layers.push(placed.backend.gpu_layers);
            }
            Ok(l)
        })
        .collect()
}

pub(super) fn list(values: &[String], flag: &str, default: Vec<u32>) -> anyhow::Result<Vec<u32>> {
    if values.is_empty() {
        return Ok(default);
    }
    let mut out = Vec::new();
    for v in values {
        out.extend(
            plan::parse_list(v).map_err(|e| fail(Exit::Usage, format!("invalid {flag}: {e}")))?,
        );
    }
    Ok(out)
}

pub(super) fn nonzero(v: Vec<u32>, flag: &str) -> anyhow::Result<Vec<u32>> {
    if v.contains(&0) {
        return Err(fail(
            Exit::Usage,
            format!("invalid {flag}: 0 is not allowed"),
        ));
    }
    Ok(v)
}

fn flash_list(values: &[String], default: FlashAttn) -> anyhow::Result<Vec<FlashAttn>> {
    if values.is_empty() {
        return Ok(vec![default]);
    }
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|e| fail(Exit::Usage, format!("invalid --flash-attn: {e}")))
        })
        .collect()
}

/// How progress is shown: a bar on a terminal; with `-v` and no terminal, one line per test
/// and per repetition on stderr; otherwise nothing.
enum Progress {
    Bar(indicatif::ProgressBar),
    Lines,
    Quiet,
}

impl Progress {
    fn new(count: usize, verbose: bool) -> Progress {
        if output::stderr_is_styled() {
            let bar = indicatif::ProgressBar::new(count as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("bench {pos}/{len} {msg}")
                    .expect("static template"),
            );
            Progress::Bar(bar)
        } else if verbose {
            Progress::Lines
        } else {
            Progress::Quiet
        }
    }

    /// `current` holds the running test's name for the repetition lines.
    fn report(&self, current: &mut String, p: runner::Progress<'_>) {
        match p {
            runner::Progress::Test { index, count, spec } => {
                *current = format!(
                    "{} {} t={}",
                    spec.model
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                    spec.name(),
                    spec.threads
                );
                match self {
                    Progress::Bar(bar) => {
                        bar.set_position(index as u64);
                        bar.set_message(current.clone());
                    }
                    Progress::Lines => {
                        output::message(&format!("bench {}/{count}: {current}", index + 1))
                    }
                    Progress::Quiet => {}
                }
            }
            runner::Progress::Repetition {
                rep,
                reps,
                tokens_per_s,
            } => {
                let msg = format!("{current}: repetition {rep}/{reps}, {tokens_per_s:.2} t/s");
                match self {
                    Progress::Bar(bar) => bar.set_message(msg),
                    Progress::Lines => output::message(&format!("  {msg}")),
                    Progress::Quiet => {}
                }
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
