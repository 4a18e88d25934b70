//! Subcommands: thin orchestration over config, engine and output.

mod batch;
pub mod bench;
mod bench_parallel;
mod bench_spec;
pub mod chat;
pub mod completions;
pub mod info;
mod placement;
mod prompt;
pub mod rpc_worker;
pub mod run;
pub mod serve;
pub use placement::{decide, place, preflight};
mod session;
mod speculative;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::cli::{DeviceArgs, ModelArgs, SamplingArgs};
use crate::config::{self, BackendLayer, Layer, SamplingLayer, Settings, Sources};
use crate::engine::{self, ContextOptions, LoadedModel, ModelOptions};
use crate::error::{Exit, fail};
use crate::gguf::{self, ErrorKind, GgufFile};
use crate::output;

/// What every command receives: the global flags and the signal handling.
#[derive(Clone)]
pub struct Global {
    pub config: Option<PathBuf>,
    pub verbose: u8,
    /// Installed first thing, so Ctrl-C during config parsing or model loading is handled.
    pub interrupts: crate::signals::Interrupts,
}

/// `-m` at most once: only `serve` offers several models.
pub fn one_model(m: &ModelArgs) -> anyhow::Result<()> {
    if m.model.len() > 1 {
        return Err(fail(
            Exit::Usage,
            format!(
                "-m/--model is given {} times; this command runs one model (inferno serve takes several)",
                m.model.len()
            ),
        ));
    }
    Ok(())
}

/// The flags layer for the model/context settings.
pub fn model_layer(m: &ModelArgs) -> Layer {
    Layer {
        default_model: m.model.first().cloned(),
        backend_config: Some(BackendLayer {
            gpu_enabled: m.no_gpu.then_some(false),
            gpu_layers: m.gpu_layers,
            context_size: m.context_size,
            batch_size: m.batch_size,
            ubatch_size: m.ubatch_size,
            threads: m.threads,
            flash_attn: m.flash_attn,
            ..device_layer(&m.devices)
        }),
        ..Layer::default()
    }
}

/// The flags layer for where layers may go (margin, splits, RPC workers).
pub fn device_layer(d: &DeviceArgs) -> BackendLayer {
    BackendLayer {
        gpu_margin: d.gpu_margin,
        split_mode: d.split_mode,
        tensor_split: d.tensor_split.clone().map(|t| t.0),
        main_gpu: d.main_gpu,
        no_repack: d.no_repack.then_some(true),
        rpc: (!d.rpc.is_empty()).then(|| d.rpc.clone()),
        ..BackendLayer::default()
    }
}

/// The flags layer for the sampling settings.
pub fn sampling_layer(a: &SamplingArgs) -> SamplingLayer {
    SamplingLayer {
        temp: a.temp,
        top_k: a.top_k,
        top_p: a.top_p,
        min_p: a.min_p,
        repeat_penalty: a.repeat_penalty,
        repeat_last_n: a.repeat_last_n,
        frequency_penalty: a.frequency_penalty,
        presence_penalty: a.presence_penalty,
        seed: a.seed,
    }
}

/// Settings from every source, with `flags` on top.
pub fn settings(global: &Global, flags: Layer) -> anyhow::Result<Settings> {
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let settings = config::resolve(&Sources::from_process(global.config.clone()), &env, flags)?;
    if !settings.backend.gpu_enabled {
        // Before anything initializes llama.cpp: no GPU backend is ever loaded.
        engine::cpu_only();
    }
    if !settings.backend.rpc.is_empty() {
        // The workers' devices join the local ones before anything lists or loads.
        engine::rpc::add_servers(&settings.backend.rpc)?;
    }
    Ok(settings)
}

/// The model path from the flag or config, checked to be a readable, valid GGUF file.
pub fn model_file(settings: &Settings) -> anyhow::Result<(PathBuf, GgufFile)> {
    let path = settings.model.clone().ok_or_else(|| {
        fail(
            Exit::Usage,
            "no model given: pass -m/--model PATH (or set default_model in .inferno.toml or INFERNO_MODEL)",
        )
    })?;
    let header = check_gguf(&path)?;
    if !settings.skip_model_checks {
        check_semantics(&path, &header)?;
    }
    Ok((path, header))
}

/// The semantic checks ([`gguf::checks`]) against what this build's CPU backend can run: the
/// first problem ends the command (exit 4) before llama.cpp sees the file.
pub fn check_semantics(path: &Path, header: &GgufFile) -> anyhow::Result<()> {
    let problems = gguf::checks::check(header, &engine::backend::type_support()?);
    let Some(first) = problems.first() else {
        return Ok(());
    };
    let more = match problems.len() {
        1 => String::new(),
        n => format!(" (and {} more; `inferno info -m` lists them)", n - 1),
    };
    Err(fail(
        Exit::ModelFile,
        format!(
            "model file {} cannot be run: {first}{more}; the file is damaged or was converted wrongly",
            path.display()
        ),
    ))
}

/// Validate `path` as a GGUF file before llama.cpp sees it, with a message for each problem.
pub fn check_gguf(path: &Path) -> anyhow::Result<GgufFile> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => fail(
            Exit::ModelFile,
            format!("model file {shown} does not exist; check -m/--model (or default_model)"),
        ),
        _ => fail(
            Exit::ModelFile,
            format!("cannot access model file {shown}: {e}"),
        ),
    })?;
    if meta.is_dir() {
        return Err(fail(
            Exit::ModelFile,
            format!("model path {shown} is a directory; pass the .gguf file itself"),
        ));
    }
    gguf::read(path).map_err(|e| {
        let hint = match e.kind {
            ErrorKind::Io => format!(
                "cannot read model file {shown}: {}; check its permissions",
                e.detail
            ),
            ErrorKind::Empty => format!("model file {shown} is empty (0 bytes); download it again"),
            ErrorKind::NotGguf => format!(
                "{shown} is {}; inferno needs a GGUF model (.gguf)",
                lower_first(&e.detail)
            ),
            ErrorKind::Version => format!("model file {shown}: {}", e.detail),
            ErrorKind::Truncated | ErrorKind::Malformed => {
                format!("model file {shown} is damaged: {e}; download or convert it again")
            }
        };
        fail(Exit::ModelFile, hint)
    })
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |f| f.to_lowercase().chain(c).collect())
}

pub fn context_options(s: &Settings) -> ContextOptions {
    ContextOptions {
        n_ctx: s.backend.context_size,
        n_batch: s.backend.batch_size,
        n_ubatch: s.backend.ubatch_size,
        threads: s.backend.threads,
        flash_attn: s.backend.flash_attn,
        // gpu_enabled = false means no GPU at all; gpu_layers = 0 alone keeps the weights on
        // the CPU but lets llama.cpp use the GPU for prompt batches, as llama.cpp's -ngl 0.
        op_offload: s.backend.gpu_enabled,
        n_seq: 1,
    }
}

/// Warn once about backend plugins that could not be loaded (they are skipped).
pub fn warn_plugins() -> anyhow::Result<()> {
    for (path, why) in &engine::backend()?.plugins.failed {
        output::message(&format!(
            "warning: backend plugin {} could not be loaded ({why}); skipped",
            path.display()
        ));
    }
    Ok(())
}

/// Load the model on a blocking thread, with a progress bar on a terminal.
pub async fn load(
    path: &Path,
    header: &GgufFile,
    settings: &Settings,
    cancel: Arc<AtomicBool>,
) -> anyhow::Result<Arc<LoadedModel>> {
    warn_plugins()?;
    let bar = progress_bar(path);
    let opts = model_options(header, settings);
    let path = path.to_path_buf();
    let progress = bar.clone();
    let loaded = tokio::task::spawn_blocking(move || {
        engine::load_model(&path, &opts, cancel, move |p| {
            progress.set_position((p * 100.0) as u64);
        })
    })
    .await?;
    bar.finish_and_clear();
    loaded_model(loaded?, settings)
}

/// Load on the calling (blocking) thread, without a progress bar: for the server, which
/// loads while it already answers `/health`.
pub fn load_blocking(
    path: &Path,
    header: &GgufFile,
    settings: &Settings,
    cancel: Arc<AtomicBool>,
) -> anyhow::Result<Arc<LoadedModel>> {
    let model = engine::load_model(path, &model_options(header, settings), cancel, |_| {})?;
    loaded_model(model, settings)
}

pub(crate) fn model_options(header: &GgufFile, settings: &Settings) -> ModelOptions {
    let suppress_tokens = header
        .get_array("tokenizer.ggml.suppress_tokens")
        .map(|a| {
            (0..a.len())
                .filter_map(|i| i32::try_from(a.get(i)?.as_i64()?).ok())
                .collect()
        })
        .unwrap_or_default();
    ModelOptions {
        gpu_layers: settings.backend.gpu_layers,
        split: settings.backend.split.clone(),
        no_repack: settings.backend.no_repack,
        suppress_tokens,
    }
}

fn loaded_model(model: LoadedModel, settings: &Settings) -> anyhow::Result<Arc<LoadedModel>> {
    if settings.backend.gpu_requested && model.offload.layers == 0 {
        output::message(
            "warning: GPU offload was requested but no GPU backend/device is available; running on the CPU",
        );
    }
    Ok(Arc::new(model))
}

fn progress_bar(path: &Path) -> indicatif::ProgressBar {
    if !output::stderr_is_styled() {
        return indicatif::ProgressBar::hidden();
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let bar = indicatif::ProgressBar::new(100);
    bar.set_style(
        indicatif::ProgressStyle::with_template("loading {msg} {wide_bar} {pos:>3}%")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(name);
    bar
}
