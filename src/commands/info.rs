//! `inferno info`: the machine, this build, its compute devices and the resolved settings; with
//! `--model`, what the model is (read from the GGUF header, weights untouched) and whether it
//! fits. Human-readable sections by default, one JSON object with `--json`.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Global, check_gguf, model_layer, settings};
use crate::cli::InfoArgs;
use crate::config::Settings;
use crate::engine;
use crate::gguf::GgufFile;
use crate::modelinfo::{self, Fit, MemoryEstimate, ModelFacts};
use crate::output;
use crate::system::{self, Device, SystemFacts};

#[derive(Debug, Serialize)]
struct MachineReport {
    system: SystemFacts,
    build: BuildFacts,
    devices: Vec<Device>,
    gpu_offload: GpuOffload,
    config: ConfigFacts,
}

#[derive(Debug, Serialize)]
struct BuildFacts {
    inferno: &'static str,
    llama_cpp_2: &'static str,
    llama_cpp: String,
    ggml: String,
    /// Registered ggml backends.
    backends: Vec<String>,
    /// Cargo features of this build that select backends.
    features: Vec<&'static str>,
    /// Features llama.cpp reports per backend (instruction sets for the CPU).
    backend_features: Vec<BackendFeatures>,
    /// Where run-time backend plugins are looked for (dynamic-backends builds), which were
    /// loaded, and which could not be (with why).
    plugin_dirs: Vec<String>,
    plugins_loaded: Vec<String>,
    plugins_failed: Vec<String>,
}

#[derive(Debug, Serialize)]
struct BackendFeatures {
    backend: String,
    features: Vec<String>,
}

#[derive(Debug, Serialize)]
struct GpuOffload {
    enabled: bool,
    gpu_layers: u32,
    /// Why offload is off, or where layers go.
    reason: String,
}

#[derive(Debug, Serialize)]
struct ConfigFacts {
    files: Vec<String>,
    settings: Settings,
}

#[derive(Debug, Serialize)]
struct ModelReport {
    model: ModelFacts,
    memory: MemoryReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Vec<MetaEntry>>,
}

#[derive(Debug, Serialize)]
struct MemoryReport {
    estimate: MemoryEstimate,
    fit: Vec<Fit>,
}

#[derive(Debug, Serialize)]
struct MetaEntry {
    key: String,
    #[serde(rename = "type")]
    value_type: &'static str,
    value: String,
}

pub async fn info(args: InfoArgs, global: &Global) -> anyhow::Result<()> {
    let settings = settings(global, model_layer(&args.model))?;
    super::warn_plugins()?;
    // With -m the model is described; the configured default_model alone does not switch.
    let text = match &args.model.model {
        Some(path) => {
            let header = check_gguf(path)?;
            let report = model_report(&path.display().to_string(), &header, &settings, args.all)?;
            if args.json {
                serde_json::to_string_pretty(&report)? + "\n"
            } else {
                render_model(&report)
            }
        }
        None => {
            let report = machine_report(settings)?;
            if args.json {
                serde_json::to_string_pretty(&report)? + "\n"
            } else {
                render_machine(&report)
            }
        }
    };
    output::stdout(&text)?;
    Ok(())
}

fn machine_report(settings: Settings) -> anyhow::Result<MachineReport> {
    let backend = engine::backend()?;
    let (llama_cpp, ggml) = system::library_versions();
    let devices = system::devices();
    let backends = system::backend_names();
    let gpu_offload = gpu_offload(&settings, &backends, &devices);
    Ok(MachineReport {
        system: system::system(),
        build: BuildFacts {
            inferno: env!("CARGO_PKG_VERSION"),
            llama_cpp_2: env!("BUILD_LLAMA_CPP_2_VERSION"),
            llama_cpp,
            ggml,
            backends,
            features: build_features(),
            backend_features: system::backend_features()
                .into_iter()
                .map(|(backend, features)| BackendFeatures { backend, features })
                .collect(),
            plugin_dirs: backend
                .plugins
                .dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect(),
            plugins_loaded: backend
                .plugins
                .loaded
                .iter()
                .map(|d| d.display().to_string())
                .collect(),
            plugins_failed: backend
                .plugins
                .failed
                .iter()
                .map(|(p, why)| format!("{}: {why}", p.display()))
                .collect(),
        },
        devices,
        gpu_offload,
        config: ConfigFacts {
            files: settings
                .sources
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            settings,
        },
    })
}

fn build_features() -> Vec<&'static str> {
    let mut f = Vec::new();
    if cfg!(feature = "cuda") {
        f.push("cuda");
    }
    if cfg!(feature = "vulkan") {
        f.push("vulkan");
    }
    if cfg!(any(feature = "metal", target_os = "macos")) {
        f.push("metal");
    }
    if cfg!(feature = "dynamic-backends") {
        f.push("dynamic-backends");
    }
    f
}

/// Whether layers will go to a GPU with these settings, and if not, why — never a silent CPU
/// fallback.
fn gpu_offload(s: &Settings, backends: &[String], devices: &[Device]) -> GpuOffload {
    let gpus: Vec<&Device> = devices
        .iter()
        .filter(|d| d.kind == "gpu" || d.kind == "igpu")
        .collect();
    let has_gpu_backend = backends
        .iter()
        .any(|b| b != "CPU" && b != "BLAS" && b != "RPC");
    let (enabled, reason) = if !has_gpu_backend {
        (
            false,
            "off: this build has no GPU backend (build with --features cuda, vulkan or metal, or use a dynamic-backends build with a GPU plugin)"
                .to_string(),
        )
    } else if !s.backend.gpu_enabled {
        (false, "off: disabled by configuration (backend_config.gpu_enabled = false, INFERNO_GPU_ENABLED or --no-gpu)".to_string())
    } else if s.backend.gpu_layers == 0 {
        (false, "off: gpu_layers is 0".to_string())
    } else if gpus.is_empty() {
        (
            false,
            format!(
                "off: the {} backend found no usable device",
                backends.join("/")
            ),
        )
    } else {
        let names: Vec<&str> = gpus.iter().map(|d| d.name.as_str()).collect();
        let layers = if s.backend.gpu_layers >= crate::config::ALL_LAYERS {
            "all layers".to_string()
        } else {
            format!("{} layers", s.backend.gpu_layers)
        };
        (true, format!("on: {layers} to {}", names.join(", ")))
    };
    GpuOffload {
        enabled,
        gpu_layers: if enabled { s.backend.gpu_layers } else { 0 },
        reason,
    }
}

fn model_report(path: &str, g: &GgufFile, s: &Settings, all: bool) -> anyhow::Result<ModelReport> {
    // The template matcher and device list need llama.cpp's backend, not the model.
    engine::backend()?;
    let facts = modelinfo::facts(path, g, engine::chat::template_name);
    let estimate = modelinfo::estimate(
        g,
        &facts,
        u64::from(s.backend.context_size),
        u64::from(s.backend.ubatch_size),
    );
    let layers = facts.layers.unwrap_or(0);
    let available = system::system().memory_available_bytes;
    let fit = system::devices()
        .iter()
        .map(|d| {
            // llama.cpp's CPU device reports the machine's memory; "available" is what counts.
            let free = if d.kind == "cpu" {
                available
            } else {
                d.memory_free_bytes
            };
            modelinfo::fit(&d.name, free, &estimate, layers)
        })
        .collect();
    let metadata = all.then(|| {
        g.metadata
            .iter()
            .map(|(k, v)| MetaEntry {
                key: k.clone(),
                value_type: v.value_type().name(),
                value: v.to_string(),
            })
            .collect()
    });
    Ok(ModelReport {
        model: facts,
        memory: MemoryReport { estimate, fit },
        metadata,
    })
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", UNITS[u])
    }
}

fn count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2} B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.2} M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.2} K", n as f64 / 1e3),
        n => n.to_string(),
    }
}

fn row(out: &mut String, key: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "  {key:<16} {value}");
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".to_string(), T::to_string)
}

fn render_machine(r: &MachineReport) -> String {
    let mut o = String::new();
    let s = &r.system;
    o.push_str("System\n");
    row(&mut o, "os", &s.os);
    row(&mut o, "kernel", opt(&s.kernel));
    row(
        &mut o,
        "cpu",
        format!("{} ({})", s.cpu.as_deref().unwrap_or("unknown"), s.arch),
    );
    row(
        &mut o,
        "cores",
        format!(
            "{} physical, {} logical",
            opt(&s.physical_cores),
            s.logical_cores
        ),
    );
    row(
        &mut o,
        "memory",
        format!(
            "{} total, {} available",
            bytes(s.memory_total_bytes),
            bytes(s.memory_available_bytes)
        ),
    );

    let b = &r.build;
    o.push_str("\nBuild\n");
    row(
        &mut o,
        "inferno",
        format!("{} (llama-cpp-2 {})", b.inferno, b.llama_cpp_2),
    );
    row(
        &mut o,
        "llama.cpp",
        format!("{} (ggml {})", b.llama_cpp, b.ggml),
    );
    row(&mut o, "backends", b.backends.join(", "));
    if !b.features.is_empty() {
        row(&mut o, "cargo features", b.features.join(", "));
    }
    for f in &b.backend_features {
        row(
            &mut o,
            &format!("{} features", f.backend),
            f.features.join(" "),
        );
    }
    if cfg!(feature = "dynamic-backends") {
        row(&mut o, "plugin dirs", b.plugin_dirs.join(", "));
        row(&mut o, "plugins loaded", b.plugins_loaded.join(", "));
        for f in &b.plugins_failed {
            row(&mut o, "plugin failed", f);
        }
    }

    o.push_str("\nDevices\n");
    for d in &r.devices {
        row(
            &mut o,
            &d.name,
            format!(
                "{} [{}] {}: {} total, {} free",
                d.kind,
                d.backend,
                d.description,
                bytes(d.memory_total_bytes),
                bytes(d.memory_free_bytes)
            ),
        );
    }

    o.push_str("\nGPU offload\n");
    let _ = writeln!(o, "  {}", r.gpu_offload.reason);

    o.push_str("\nConfiguration\n");
    let files = if r.config.files.is_empty() {
        "(none; built-in defaults)".to_string()
    } else {
        r.config.files.join(", ")
    };
    row(&mut o, "files", files);
    let st = &r.config.settings;
    row(
        &mut o,
        "default_model",
        st.model
            .as_ref()
            .map_or("-".into(), |p| p.display().to_string()),
    );
    let be = &st.backend;
    row(&mut o, "gpu_enabled", be.gpu_enabled);
    row(&mut o, "gpu_layers", be.gpu_layers);
    row(&mut o, "context_size", be.context_size);
    row(&mut o, "batch_size", be.batch_size);
    row(&mut o, "ubatch_size", be.ubatch_size);
    row(&mut o, "threads", be.threads);
    row(&mut o, "flash_attn", be.flash_attn);
    let sa = &st.sampling;
    row(&mut o, "temp", sa.temp);
    row(&mut o, "top_k", sa.top_k);
    row(&mut o, "top_p", sa.top_p);
    row(&mut o, "min_p", sa.min_p);
    row(&mut o, "repeat_penalty", sa.repeat_penalty);
    row(&mut o, "repeat_last_n", sa.repeat_last_n);
    row(
        &mut o,
        "seed",
        sa.seed.map_or("random".into(), |s| s.to_string()),
    );
    o
}

fn render_model(r: &ModelReport) -> String {
    let m = &r.model;
    let mut o = String::new();
    let _ = writeln!(o, "Model {}", m.path);
    row(&mut o, "architecture", opt(&m.architecture));
    row(&mut o, "name", opt(&m.name));
    row(
        &mut o,
        "parameters",
        format!("{} ({})", count(m.parameters), m.parameters),
    );
    row(&mut o, "file type", opt(&m.file_type));
    row(
        &mut o,
        "file size",
        format!("{} ({} bytes)", bytes(m.file_size), m.file_size),
    );
    let quant: Vec<String> = m
        .quantization
        .iter()
        .map(|q| format!("{} x{} ({})", q.ggml_type, q.tensors, bytes(q.bytes)))
        .collect();
    row(&mut o, "tensor types", quant.join(", "));
    row(&mut o, "layers", opt(&m.layers));
    row(&mut o, "embedding", opt(&m.embedding_length));
    row(&mut o, "feed-forward", opt(&m.feed_forward_length));
    row(
        &mut o,
        "heads",
        format!(
            "{} (KV heads {}, head dim {})",
            opt(&m.heads),
            opt(&m.kv_heads),
            opt(&m.head_dim)
        ),
    );
    row(&mut o, "context (train)", opt(&m.context_length));
    if let Some(w) = m.sliding_window {
        row(&mut o, "sliding window", w);
    }
    row(
        &mut o,
        "vocabulary",
        format!("{} ({} tokenizer)", opt(&m.vocab_size), opt(&m.tokenizer)),
    );
    let rope = &m.rope;
    row(
        &mut o,
        "rope",
        format!(
            "freq base {}, dims {}, scaling {}{}",
            opt(&rope.freq_base),
            opt(&rope.dimension_count),
            rope.scaling_type.as_deref().unwrap_or("none"),
            rope.scaling_factor
                .map_or(String::new(), |f| format!(" x{f}"))
        ),
    );
    let t = &m.chat_template;
    let template = if t.present {
        format!(
            "{} ({} bytes; first line: {})",
            t.name.as_deref().unwrap_or("not recognized by llama.cpp"),
            t.length,
            t.first_line.as_deref().unwrap_or("")
        )
    } else {
        "none (raw completion)".to_string()
    };
    row(&mut o, "chat template", template);
    let tok = |t: &Option<modelinfo::TokenFact>| {
        t.as_ref().map_or("-".to_string(), |t| {
            format!("{} {:?}", t.id, t.text.as_deref().unwrap_or("?"))
        })
    };
    row(
        &mut o,
        "BOS / EOS",
        format!("{} / {}", tok(&m.bos_token), tok(&m.eos_token)),
    );
    row(
        &mut o,
        "gguf",
        format!(
            "version {}, {} tensors, {} metadata keys, data from byte {} (alignment {})",
            m.gguf_version, m.tensor_count, m.metadata_count, m.data_offset, m.alignment
        ),
    );

    let e = &r.memory.estimate;
    let _ = writeln!(
        o,
        "\nMemory estimate (context {}, {} KV cache, ubatch {})",
        e.context_size, e.kv_type, e.ubatch_size
    );
    row(&mut o, "weights", bytes(e.weights_bytes));
    let swa = if m.sliding_window.is_some() {
        " (upper bound: sliding-window layers keep fewer positions)"
    } else {
        ""
    };
    row(&mut o, "KV cache", format!("{}{swa}", bytes(e.kv_bytes)));
    row(
        &mut o,
        "logits buffer",
        format!("{} (vocab x ubatch x 4 bytes)", bytes(e.logits_bytes)),
    );
    row(&mut o, "total", bytes(e.total_bytes));
    for f in &r.memory.fit {
        let verdict = if f.fits {
            format!("fits ({} free)", bytes(f.free_bytes))
        } else {
            format!(
                "does not fit ({} free); {} of {} layers would",
                bytes(f.free_bytes),
                f.layers_that_fit,
                opt(&m.layers)
            )
        };
        row(&mut o, &f.device, verdict);
    }
    if let Some(meta) = &r.metadata {
        o.push_str("\nMetadata\n");
        for e in meta {
            let _ = writeln!(o, "  {} ({}) = {}", e.key, e.value_type, e.value);
        }
    }
    o
}
