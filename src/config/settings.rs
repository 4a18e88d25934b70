//! The settings types: one [`Layer`] of optional values per source, merged by precedence into
//! the immutable, validated [`Settings`].

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::defaults;
use super::gpu::GpuLayers;
pub use super::models::ModelEntry;
use super::validate::validate;

/// Whether this build can offload to a GPU without run-time plugins.
pub const BUILD_HAS_GPU: bool = cfg!(any(
    feature = "cuda",
    feature = "vulkan",
    feature = "metal",
    target_os = "macos"
));

/// One source of settings; `None` means "not set here".
#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub default_model: Option<PathBuf>,
    pub backend_config: Option<BackendLayer>,
    pub sampling: Option<SamplingLayer>,
    pub server: Option<ServerLayer>,
    pub speculative: Option<SpeculativeLayer>,
    /// `[[models]]`: the models `serve` offers (see [`super::models`]).
    pub models: Option<Vec<ModelEntry>>,
    /// `INFERNO_SKIP_MODEL_CHECKS`: hand models to llama.cpp without the semantic checks, so
    /// tests can show that what slips past them still ends cleanly. Not a file key.
    #[serde(skip)]
    pub skip_model_checks: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackendLayer {
    pub gpu_enabled: Option<bool>,
    pub gpu_layers: Option<GpuLayers>,
    /// MiB `auto` leaves free on each GPU.
    pub gpu_margin: Option<u64>,
    pub split_mode: Option<crate::engine::SplitMode>,
    pub tensor_split: Option<Vec<f32>>,
    pub main_gpu: Option<u32>,
    pub no_repack: Option<bool>,
    /// RPC workers (`HOST:PORT`) whose devices join the local ones.
    pub rpc: Option<Vec<String>>,
    pub context_size: Option<u32>,
    pub batch_size: Option<u32>,
    pub ubatch_size: Option<u32>,
    pub threads: Option<u32>,
    pub flash_attn: Option<FlashAttn>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SamplingLayer {
    pub temp: Option<f32>,
    pub top_k: Option<i32>,
    pub top_p: Option<f32>,
    pub min_p: Option<f32>,
    pub repeat_penalty: Option<f32>,
    pub repeat_last_n: Option<i32>,
    pub frequency_penalty: Option<f32>,
    pub presence_penalty: Option<f32>,
    pub seed: Option<u32>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServerLayer {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub parallel: Option<u32>,
    pub api_key: Option<String>,
    pub cors_origins: Option<Vec<String>>,
    pub max_queue: Option<u32>,
    pub body_limit: Option<u64>,
    pub request_timeout: Option<u64>,
    pub shutdown_grace: Option<u64>,
    /// Seconds an idle model stays loaded (negative: forever; 0: unload when idle).
    pub keep_alive: Option<i64>,
    /// Most models loaded at once.
    pub max_loaded: Option<u32>,
    /// Bytes the loaded models may take together (weights, KV cache, compute buffers).
    pub max_memory: Option<u64>,
    /// Every `.gguf` file here is a model, named by its file stem.
    pub models_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpeculativeLayer {
    pub draft_model: Option<PathBuf>,
    pub draft_max: Option<u32>,
    pub draft_min: Option<u32>,
    pub draft_p_min: Option<f32>,
    pub draft_gpu_layers: Option<u32>,
    pub lookup: Option<bool>,
    pub lookup_ngram: Option<u32>,
    pub adaptive: Option<bool>,
}

/// llama.cpp's flash-attention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FlashAttn {
    Auto,
    On,
    Off,
}

impl std::str::FromStr for FlashAttn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" | "-1" => Ok(FlashAttn::Auto),
            "on" | "1" | "true" => Ok(FlashAttn::On),
            "off" | "0" | "false" => Ok(FlashAttn::Off),
            _ => Err(format!("'{s}' is not one of auto, on, off")),
        }
    }
}

impl FlashAttn {
    pub const fn name(self) -> &'static str {
        match self {
            FlashAttn::Auto => "auto",
            FlashAttn::On => "on",
            FlashAttn::Off => "off",
        }
    }
}

impl fmt::Display for FlashAttn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The resolved, validated settings every command works from.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub model: Option<PathBuf>,
    pub backend: BackendSettings,
    pub sampling: SamplingSettings,
    /// Configuration files that were read, lowest precedence first.
    pub sources: Vec<PathBuf>,
    /// See [`Layer::skip_model_checks`].
    pub skip_model_checks: bool,
    pub server: ServerSettings,
    pub speculative: SpeculativeSettings,
    /// `[[models]]` from config files (the highest file that has any wins).
    pub models: Vec<ModelEntry>,
}

/// Speculative decoding: a draft model and/or prompt lookup (off unless one is set).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SpeculativeSettings {
    pub draft_model: Option<PathBuf>,
    /// Most tokens proposed per step.
    pub draft_max: u32,
    /// Fewest drafted tokens worth verifying.
    pub draft_min: u32,
    /// The draft stops when its best token's probability falls below this.
    pub draft_p_min: f32,
    /// Layers of the draft on the GPU (`None`: as the target's).
    pub draft_gpu_layers: Option<u32>,
    pub lookup: bool,
    /// Longest n-gram prompt lookup matches.
    pub lookup_ngram: u32,
    /// Choose the draft length from measured costs, and stop drafting when it does not pay.
    pub adaptive: bool,
}

impl SpeculativeSettings {
    pub fn enabled(&self) -> bool {
        self.draft_model.is_some() || self.lookup
    }
}

/// `inferno serve`'s settings.
#[derive(Debug, Clone, Serialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Requests served at once (slots); each has the full context size.
    pub parallel: u32,
    /// Required as `Authorization: Bearer KEY` when set (never shown by `info`).
    #[serde(skip)]
    pub api_key: Option<String>,
    /// Origins allowed to call the API from a browser; empty: CORS off.
    pub cors_origins: Vec<String>,
    /// Requests that may wait for a slot; more get 503 with Retry-After.
    pub max_queue: u32,
    /// Largest request body in bytes (413 above).
    pub body_limit: u64,
    /// Seconds a request may take, queueing included; then it ends (finish_reason "length").
    pub request_timeout: u64,
    /// Seconds in-flight requests get to finish after Ctrl-C/SIGTERM.
    pub shutdown_grace: u64,
    /// Seconds an idle model stays loaded; negative: forever, 0: unloaded when idle.
    pub keep_alive: i64,
    /// Most models loaded at once (the least recently used idle one is unloaded first).
    pub max_loaded: u32,
    /// Bytes the loaded models may take together; `None`: what the machine has free.
    pub max_memory: Option<u64>,
    pub models_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendSettings {
    pub gpu_enabled: bool,
    /// Whether a GPU was asked for explicitly (config, variable or flag) rather than by default:
    /// then the lack of a usable GPU is reported instead of passing silently.
    pub gpu_requested: bool,
    /// Layers to offload: 0 when the GPU is disabled; with `gpu_auto` an upper bound that
    /// placement replaces with what fits before loading.
    pub gpu_layers: u32,
    /// `gpu_layers = auto`: decide from the GPUs' free memory ([`crate::modelinfo::placement`]).
    pub gpu_auto: bool,
    /// MiB `auto` leaves free on each GPU.
    pub gpu_margin_mib: u64,
    /// Several GPUs (and RPC devices): split mode, main GPU, shares.
    #[serde(skip)]
    pub split: crate::engine::Split,
    pub no_repack: bool,
    pub rpc: Vec<String>,
    pub context_size: u32,
    pub batch_size: u32,
    pub ubatch_size: u32,
    pub threads: u32,
    pub flash_attn: FlashAttn,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SamplingSettings {
    pub temp: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    pub repeat_penalty: f32,
    pub repeat_last_n: i32,
    /// Subtracted per earlier occurrence of a token (OpenAI's `frequency_penalty`).
    pub frequency_penalty: f32,
    /// Subtracted once from any token already present (OpenAI's `presence_penalty`).
    pub presence_penalty: f32,
    /// `None`: a fresh random seed per run (reported in `--json`).
    pub seed: Option<u32>,
}

impl Default for SamplingSettings {
    fn default() -> Self {
        SamplingSettings {
            temp: defaults::TEMP,
            top_k: defaults::TOP_K,
            top_p: defaults::TOP_P,
            min_p: defaults::MIN_P,
            repeat_penalty: defaults::REPEAT_PENALTY,
            repeat_last_n: defaults::REPEAT_LAST_N,
            frequency_penalty: defaults::FREQUENCY_PENALTY,
            presence_penalty: defaults::PRESENCE_PENALTY,
            seed: None,
        }
    }
}

/// The settings from the merged layers, with defaults for what no layer set; validated.
/// `gpu_layers_flag` is `--gpu-layers` from the command line, which wins over `gpu_enabled`.
pub(super) fn finish(
    layer: Layer,
    gpu_layers_flag: Option<GpuLayers>,
    sources: Vec<PathBuf>,
) -> anyhow::Result<Settings> {
    let b = layer.backend_config.unwrap_or_default();
    let s = layer.sampling.unwrap_or_default();
    let d = SamplingSettings::default();
    // RPC workers are devices to offload to, as a local GPU is.
    let has_rpc = b.rpc.as_ref().is_some_and(|r| !r.is_empty());
    let gpu_enabled = b
        .gpu_enabled
        .unwrap_or(BUILD_HAS_GPU || cfg!(feature = "dynamic-backends") || has_rpc);
    let choice = match gpu_layers_flag {
        Some(n) => n,
        None if gpu_enabled => b.gpu_layers.unwrap_or(GpuLayers::Auto),
        None => GpuLayers::Count(0),
    };
    let (gpu_layers, gpu_auto) = match choice {
        GpuLayers::Auto => (defaults::ALL_LAYERS, true),
        GpuLayers::Count(n) => (n, false),
    };
    let gpu_requested = b.gpu_enabled == Some(true)
        || gpu_layers_flag.is_some_and(|n| matches!(n, GpuLayers::Count(n) if n > 0));
    let batch_size = b.batch_size.unwrap_or(defaults::BATCH_SIZE);
    let settings = Settings {
        model: layer.default_model,
        backend: BackendSettings {
            gpu_enabled: gpu_enabled || gpu_layers > 0,
            gpu_requested,
            gpu_layers,
            gpu_auto,
            gpu_margin_mib: b.gpu_margin.unwrap_or(defaults::GPU_MARGIN_MIB),
            split: crate::engine::Split {
                mode: b.split_mode.unwrap_or_default(),
                main_gpu: b.main_gpu.unwrap_or(0),
                tensor_split: b.tensor_split.clone().unwrap_or_default(),
            },
            no_repack: b.no_repack.unwrap_or(false),
            rpc: b.rpc.clone().unwrap_or_default(),
            context_size: b.context_size.unwrap_or(defaults::CONTEXT_SIZE),
            batch_size,
            ubatch_size: b
                .ubatch_size
                .unwrap_or(batch_size.min(defaults::UBATCH_SIZE)),
            threads: b.threads.unwrap_or_else(defaults::threads),
            flash_attn: b.flash_attn.unwrap_or(defaults::FLASH_ATTN),
        },
        sampling: SamplingSettings {
            temp: s.temp.unwrap_or(d.temp),
            top_k: s.top_k.unwrap_or(d.top_k),
            top_p: s.top_p.unwrap_or(d.top_p),
            min_p: s.min_p.unwrap_or(d.min_p),
            repeat_penalty: s.repeat_penalty.unwrap_or(d.repeat_penalty),
            repeat_last_n: s.repeat_last_n.unwrap_or(d.repeat_last_n),
            frequency_penalty: s.frequency_penalty.unwrap_or(d.frequency_penalty),
            presence_penalty: s.presence_penalty.unwrap_or(d.presence_penalty),
            seed: s.seed,
        },
        sources,
        skip_model_checks: layer.skip_model_checks.unwrap_or(false),
        server: server(layer.server.unwrap_or_default()),
        models: layer.models.unwrap_or_default(),
        speculative: speculative(layer.speculative.unwrap_or_default()),
    };
    validate(&settings)?;
    Ok(settings)
}

fn speculative(l: SpeculativeLayer) -> SpeculativeSettings {
    SpeculativeSettings {
        draft_model: l.draft_model,
        draft_max: l.draft_max.unwrap_or(defaults::DRAFT_MAX),
        draft_min: l.draft_min.unwrap_or(defaults::DRAFT_MIN),
        draft_p_min: l.draft_p_min.unwrap_or(defaults::DRAFT_P_MIN),
        draft_gpu_layers: l.draft_gpu_layers,
        lookup: l.lookup.unwrap_or(false),
        lookup_ngram: l.lookup_ngram.unwrap_or(defaults::LOOKUP_NGRAM),
        adaptive: l.adaptive.unwrap_or(true),
    }
}

fn server(l: ServerLayer) -> ServerSettings {
    ServerSettings {
        host: l.host.unwrap_or_else(|| defaults::HOST.to_string()),
        port: l.port.unwrap_or(defaults::PORT),
        parallel: l.parallel.unwrap_or(defaults::PARALLEL),
        api_key: l.api_key.filter(|k| !k.is_empty()),
        cors_origins: l.cors_origins.unwrap_or_default(),
        max_queue: l.max_queue.unwrap_or(defaults::MAX_QUEUE),
        body_limit: l.body_limit.unwrap_or(defaults::BODY_LIMIT),
        request_timeout: l.request_timeout.unwrap_or(defaults::REQUEST_TIMEOUT),
        shutdown_grace: l.shutdown_grace.unwrap_or(defaults::SHUTDOWN_GRACE),
        keep_alive: l.keep_alive.unwrap_or(defaults::KEEP_ALIVE),
        max_loaded: l.max_loaded.unwrap_or(defaults::MAX_LOADED),
        max_memory: l.max_memory,
        models_dir: l.models_dir,
    }
}
