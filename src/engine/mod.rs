//! The GGUF engine: llama.cpp behind a small, clap-free API.
//!
//! - One process-wide llama.cpp backend ([`backend`]); `LlamaBackend::init` fails if called
//!   twice, so everything (tests included) shares this one.
//! - [`load_model`] loads a file into an [`Arc`]-shareable [`LoadedModel`], with progress and
//!   cancellation, and records what llama.cpp did (layers offloaded, buffers per device).
//! - [`Inference`] is one context: prompt evaluation in `batch_size` chunks, then sampling.
//!   Commands create one per inference inside `tokio::task::spawn_blocking` and receive the
//!   generated text over a channel ([`generate`]).
//!
//! Nothing here knows about the command line; callers pass plain option structs.

pub mod bench;
pub mod chat;
pub mod logs;
pub mod text;

mod generate;
mod plugins;

pub use generate::{
    ChatCommand, Event, GenerateRequest, GenerationStats, Inference, Prompt, StopReason,
    chat_worker, generate,
};
pub use plugins::PluginReport;

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use anyhow::Context as _;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;

use crate::config::FlashAttn;
use crate::error::{Exit, fail};
use logs::{Buffer, Capture};

static BACKEND: OnceLock<Result<Backend, String>> = OnceLock::new();

/// The initialized llama.cpp backend and what was found while initializing it.
pub struct Backend {
    pub llama: LlamaBackend,
    pub plugins: PluginReport,
}

/// The process-wide backend, initialized on first use (logging hooked first, plugins loaded
/// from the allowed directories only).
pub fn backend() -> anyhow::Result<&'static Backend> {
    BACKEND
        .get_or_init(|| {
            logs::install();
            let plugins = plugins::load();
            // SAFETY: a plain count of registered backends.
            if unsafe { llama_cpp_sys_2::ggml_backend_reg_count() } == 0 {
                // llama.cpp would now search ggml's default places, the working directory
                // among them; refuse instead.
                let dirs: Vec<String> = plugins.dirs.iter().map(|d| d.display().to_string()).collect();
                return Err(format!(
                    "no ggml backend plugin (libggml-cpu-*.so) found in {}; keep the bundle's files together or set INFERNO_BACKENDS_DIR",
                    dirs.join(", ")
                ));
            }
            LlamaBackend::init()
                .map(|llama| Backend { llama, plugins })
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| fail(Exit::ModelLoad, format!("cannot initialize llama.cpp: {e}")))
}

/// How to load a model.
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// Layers to offload to the GPU (llama.cpp clamps to what the model has).
    pub gpu_layers: u32,
}

/// Where a model's layers went, as llama.cpp reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Offload {
    /// Layers on a GPU (0 without a GPU backend).
    pub layers: u32,
    /// Layers llama.cpp counts: the repeating blocks plus the output layer.
    pub total: u32,
}

/// A loaded model, shared between inferences with `Arc`.
pub struct LoadedModel {
    pub model: LlamaModel,
    pub path: PathBuf,
    /// Wall time of `llama_model_load_from_file`.
    pub load_ms: f64,
    pub offload: Offload,
    /// Weight buffers per device.
    pub buffers: Vec<Buffer>,
    /// The model's chat template, if it has one llama.cpp can apply.
    pub chat: Option<chat::ChatFormat>,
}

/// Load `path` (already validated by [`crate::gguf::read`]). `progress` receives 0.0..=1.0;
/// when `cancel` becomes true the load is aborted and the error has exit kind `Interrupted`.
pub fn load_model(
    path: &Path,
    opts: &ModelOptions,
    cancel: Arc<AtomicBool>,
    mut progress: impl FnMut(f32) + 'static,
) -> anyhow::Result<LoadedModel> {
    let backend = backend()?;
    let abort = cancel.clone();
    let params = LlamaModelParams::default()
        .with_n_gpu_layers(opts.gpu_layers)
        .with_progress_callback(move |p| {
            progress(p);
            !abort.load(Ordering::Relaxed)
        });
    let capture = Capture::start();
    let start = Instant::now();
    let loaded = LlamaModel::load_from_file(&backend.llama, path, &params);
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    let lines = capture.finish();
    let model = match loaded {
        Ok(m) => m,
        Err(_) if cancel.load(Ordering::Relaxed) => {
            return Err(fail(
                Exit::Interrupted,
                "interrupted while loading the model",
            ));
        }
        Err(e) => {
            // llama.cpp only says "null result"; its log says why: the first error line is the
            // specific one ("error loading model: ..."), later ones are generic.
            let why = lines
                .iter()
                .find(|l| l.contains("error"))
                .or_else(|| lines.iter().rfind(|l| l.contains("failed")))
                .map(|l| {
                    let l = l.trim();
                    let detail = l
                        .rfind("error loading model: ")
                        .map_or(l, |i| &l[i + "error loading model: ".len()..]);
                    format!(": {detail}")
                })
                .unwrap_or_else(|| format!(": {e}"));
            return Err(fail(
                Exit::ModelLoad,
                format!(
                    "llama.cpp could not load {}{why} (run with -v for its full log)",
                    path.display()
                ),
            ));
        }
    };
    let total = model.n_layer() + 1;
    let offload = match logs::parse_offloaded(&lines) {
        Some((layers, total)) => Offload { layers, total },
        None => Offload { layers: 0, total },
    };
    Ok(LoadedModel {
        chat: chat::ChatFormat::from_model(&model),
        model,
        path: path.to_path_buf(),
        load_ms,
        offload,
        buffers: logs::parse_buffers(&lines),
    })
}

/// How to create an inference context.
#[derive(Debug, Clone)]
pub struct ContextOptions {
    pub n_ctx: u32,
    pub n_batch: u32,
    pub n_ubatch: u32,
    pub threads: u32,
    pub flash_attn: FlashAttn,
    /// Let llama.cpp run large batched operations on a GPU even for weights kept on the CPU
    /// (its default). Off means the GPU is not used at all.
    pub op_offload: bool,
}

/// llama.cpp documents concurrent context creation on one model as unsound; serialize it.
static CONTEXT_CREATION: Mutex<()> = Mutex::new(());

/// Create a context and report the KV and compute buffers it allocated.
pub fn new_context<'m>(
    model: &'m LoadedModel,
    opts: &ContextOptions,
) -> anyhow::Result<(LlamaContext<'m>, Vec<Buffer>)> {
    let backend = backend()?;
    let flash = match opts.flash_attn {
        FlashAttn::Auto => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_AUTO,
        FlashAttn::On => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_ENABLED,
        FlashAttn::Off => llama_cpp_sys_2::LLAMA_FLASH_ATTN_TYPE_DISABLED,
    };
    let threads = i32::try_from(opts.threads).context("thread count")?;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(opts.n_ctx))
        .with_n_batch(opts.n_batch)
        .with_n_ubatch(opts.n_ubatch)
        .with_n_threads(threads)
        .with_n_threads_batch(threads)
        .with_flash_attention_policy(flash)
        .with_op_offload(opts.op_offload)
        // Timings are measured by us; llama.cpp's perf counters stay off as by default.
        .with_no_perf(true);
    let _guard = CONTEXT_CREATION.lock().unwrap_or_else(|e| e.into_inner());
    let capture = Capture::start();
    let ctx = model.model.new_context(&backend.llama, params);
    let lines = capture.finish();
    match ctx {
        Ok(ctx) => Ok((ctx, logs::parse_buffers(&lines))),
        Err(e) => {
            let why = lines
                .iter()
                .rfind(|l| l.contains("failed") || l.contains("error"))
                .map_or_else(|| e.to_string(), |l| l.trim().to_string());
            Err(fail(
                Exit::Inference,
                format!(
                    "could not create a context of {} tokens: {why}; try a smaller -c/--context-size",
                    opts.n_ctx
                ),
            ))
        }
    }
}
