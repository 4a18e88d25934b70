//! Runs test instances with llama-bench's method: per test a fresh context sized for it, one
//! warm-up run, then the repetitions, each starting from an empty KV cache (depth tokens are
//! evaluated first, untimed). A model is loaded once for consecutive tests that share it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::{ModelDesc, TestResult, TestSpec};
use crate::engine::workload::TokenSource;
use crate::engine::{self, ContextOptions, Inference, LoadedModel, ModelOptions};
use crate::error::{Exit, fail};
use crate::gguf;
use crate::modelinfo;
use crate::system;

pub struct Options {
    pub repetitions: u32,
    pub warmup: bool,
    /// Split and repacking for every load (the layers come from each test).
    pub model: ModelOptions,
}

/// Progress reports for a progress bar.
pub enum Progress<'a> {
    Test {
        index: usize,
        count: usize,
        spec: &'a TestSpec,
    },
    Repetition {
        rep: u32,
        reps: u32,
        tokens_per_s: f64,
    },
}

/// Measure every test in order. Runs on a blocking thread; `cancel` stops between steps.
pub fn run(
    specs: &[TestSpec],
    opts: &Options,
    cancel: &AtomicBool,
    mut progress: impl FnMut(Progress<'_>),
) -> anyhow::Result<Vec<TestResult>> {
    let mut results = Vec::with_capacity(specs.len());
    let mut loaded: Option<(LoadedModel, ModelDesc, (std::path::PathBuf, u32))> = None;
    for (index, spec) in specs.iter().enumerate() {
        let key = (spec.model.clone(), spec.gpu_layers);
        if loaded.as_ref().is_none_or(|(_, _, k)| *k != key) {
            drop(loaded.take());
            let model = engine::load_model(
                &spec.model,
                &ModelOptions {
                    gpu_layers: spec.gpu_layers,
                    ..opts.model.clone()
                },
                std::sync::Arc::new(AtomicBool::new(false)),
                |_| {},
            )?;
            let desc = describe(&model)?;
            loaded = Some((model, desc, key));
        }
        let (model, desc, _) = loaded.as_ref().expect("loaded above");
        progress(Progress::Test {
            index,
            count: specs.len(),
            spec,
        });
        results.push(measure(model, desc, spec, opts, cancel, &mut progress)?);
    }
    Ok(results)
}

fn check(cancel: &AtomicBool) -> anyhow::Result<()> {
    if cancel.load(Ordering::Relaxed) {
        return Err(fail(Exit::Interrupted, ""));
    }
    Ok(())
}

fn measure(
    model: &LoadedModel,
    desc: &ModelDesc,
    spec: &TestSpec,
    opts: &Options,
    cancel: &AtomicBool,
    progress: &mut impl FnMut(Progress<'_>),
) -> anyhow::Result<TestResult> {
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut inf = Inference::new(
        model,
        &ContextOptions {
            n_ctx: spec.context(),
            n_batch: spec.n_batch,
            n_ubatch: spec.n_ubatch,
            threads: spec.threads,
            flash_attn: spec.flash_attn,
            op_offload: spec.op_offload,
            n_seq: 1,
        },
    )?;
    let mut tokens = TokenSource::new(&inf, 1234);
    let (p, g, d) = (
        spec.n_prompt as usize,
        spec.n_gen as usize,
        spec.n_depth as usize,
    );
    if opts.warmup {
        if p > 0 {
            inf.bench_prompt(p, &mut tokens)?;
        }
        if g > 0 {
            inf.bench_gen(1, &mut tokens)?;
        }
    }
    let mut samples_ns = Vec::with_capacity(opts.repetitions as usize);
    let mut ttft_ns = Vec::new();
    for rep in 0..opts.repetitions {
        check(cancel)?;
        inf.clear();
        if d > 0 {
            inf.bench_prompt(d, &mut tokens)?;
        }
        let start = Instant::now();
        if p > 0 {
            inf.bench_prompt(p, &mut tokens)?;
            if g > 0 {
                // The prompt's logits are the first generated token.
                ttft_ns.push(start.elapsed().as_nanos() as u64);
            }
        }
        if g > 0 {
            inf.bench_gen(g, &mut tokens)?;
        }
        let ns = start.elapsed().as_nanos() as u64;
        samples_ns.push(ns);
        progress(Progress::Repetition {
            rep: rep + 1,
            reps: opts.repetitions,
            tokens_per_s: spec.tokens() as f64 * 1e9 / ns.max(1) as f64,
        });
    }
    Ok(TestResult {
        spec: spec.clone(),
        model: desc.clone(),
        samples_ns,
        ttft_ns,
        context_buffers: inf.buffers.clone(),
        peak_rss_bytes: system::peak_rss_bytes(),
        started_at,
    })
}

/// The table's model columns, from llama.cpp's counts and the file's metadata.
fn describe(model: &LoadedModel) -> anyhow::Result<ModelDesc> {
    let header = gguf::read(&model.path).map_err(|e| fail(Exit::ModelFile, e.to_string()))?;
    let backend = if model.offload.layers > 0 {
        model
            .buffers
            .iter()
            .map(|b| {
                b.device
                    .trim_end_matches(|c: char| c.is_ascii_digit())
                    .to_string()
            })
            .find(|d| !d.starts_with("CPU"))
            .unwrap_or_else(|| "CPU".to_string())
    } else {
        "CPU".to_string()
    };
    Ok(ModelDesc {
        filename: model.path.display().to_string(),
        desc: modelinfo::description(&header, model.model.n_params()),
        size_bytes: model.model.size(),
        n_params: model.model.n_params(),
        backend,
        layers_offloaded: model.offload.layers,
        n_layers: model.offload.total,
        model_buffers: model.buffers.clone(),
    })
}
