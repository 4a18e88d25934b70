//! The machine view of `inferno info`: system, build, devices, GPU offload, configuration.

use std::fmt::Write as _;

use serde::Serialize;

use super::{opt, row};
use crate::config::Settings;
use crate::engine;
use crate::system::{self, Device, SystemFacts};
use crate::units::bytes;

#[derive(Debug, Serialize)]
pub(super) struct MachineReport {
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

pub(super) fn report(settings: Settings) -> anyhow::Result<MachineReport> {
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
        let layers = if s.backend.gpu_auto {
            format!(
                "as many layers as fit (auto, {} MiB margin per GPU; info -m shows the choice)",
                s.backend.gpu_margin_mib
            )
        } else if s.backend.gpu_layers >= crate::config::defaults::ALL_LAYERS {
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

pub(super) fn render(r: &MachineReport) -> String {
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
