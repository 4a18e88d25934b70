//! Before loading: `--gpu-layers auto` and `-c 0` decided from the memory free now
//! ([`crate::modelinfo::placement`] decides; this measures the devices and reports), then the
//! memory check of the resolved settings.

use std::path::Path;

use crate::config::Settings;
use crate::engine;
use crate::error::{Exit, fail};
use crate::gguf::GgufFile;
use crate::modelinfo::placement::{self, GpuFree, Placement};
use crate::output;
use crate::units::bytes;

/// The settings with `auto` layers and a `0` context replaced by what fits now, and the
/// decision (with `auto`), after the memory check of the result. `slots` contexts are held
/// (the server's and `--batch`'s slots). `report`: say the decision on stderr.
pub fn place(
    path: &Path,
    header: &GgufFile,
    settings: &Settings,
    slots: u32,
    report: bool,
) -> anyhow::Result<(Settings, Option<Placement>)> {
    check_split(settings)?;
    let (s, decision) = decide(header, settings, slots)?;
    if report {
        match &decision {
            Some(p) if !p.devices.is_empty() => output::message(&p.line()),
            _ if settings.backend.context_size == 0 => output::message(&format!(
                "context: {} tokens fit (-c 0)",
                s.backend.context_size
            )),
            _ => {}
        }
    }
    preflight(path, header, &s, slots)?;
    Ok((s, decision))
}

/// [`place`]'s decision alone: no message, no memory check (`info -m` shows it).
pub fn decide(
    header: &GgufFile,
    settings: &Settings,
    slots: u32,
) -> anyhow::Result<(Settings, Option<Placement>)> {
    let mut s = settings.clone();
    let b = &settings.backend;
    if !b.gpu_auto && b.context_size != 0 {
        return Ok((s, None));
    }
    engine::backend()?;
    let gpus: Vec<GpuFree> = if b.gpu_enabled {
        crate::system::devices()
            .into_iter()
            .filter(|d| d.kind == "gpu" || d.kind == "igpu")
            .map(|d| GpuFree {
                name: d.name,
                free_bytes: d.memory_free_bytes,
            })
            .collect()
    } else {
        Vec::new()
    };
    // One GPU does the work with --split-mode none: only its memory counts.
    let gpus: Vec<GpuFree> = match b.split.mode {
        crate::engine::SplitMode::None => gpus
            .into_iter()
            .nth(b.split.main_gpu as usize)
            .into_iter()
            .collect(),
        _ => gpus,
    };
    let facts = crate::modelinfo::facts("", header, |_| None);
    let margin = b.gpu_margin_mib.saturating_mul(1 << 20);
    let ubatch = u64::from(b.ubatch_size);
    if b.context_size == 0 {
        let trained = facts.context_length.unwrap_or(placement::MIN_FIT_CONTEXT);
        let t = placement::table(header, &facts, ubatch, trained, b.flash_attn);
        let on_gpu = if b.gpu_auto || b.gpu_layers > 0 {
            &gpus[..]
        } else {
            &[]
        };
        let host = crate::system::system().memory_available_bytes;
        let ctx = placement::fit_context(&t, on_gpu, host, margin, u64::from(slots));
        s.backend.context_size = u32::try_from(ctx).unwrap_or(u32::MAX);
    }
    let mut decision = None;
    if b.gpu_auto {
        let all = u64::from(s.backend.context_size).saturating_mul(u64::from(slots));
        let t = placement::table(header, &facts, ubatch, all, b.flash_attn);
        let mut p = placement::plan(&t, &gpus, margin, all);
        // Reported per slot, as -c is.
        p.context = u64::from(s.backend.context_size);
        s.backend.gpu_layers = p.layers;
        decision = Some(p);
    }
    Ok((s, decision))
}

/// `--tensor-split` and `--main-gpu` against the GPUs (RPC devices included) this process
/// sees: a share per device, a main GPU that exists.
pub fn check_split(settings: &Settings) -> anyhow::Result<()> {
    let split = &settings.backend.split;
    if split.tensor_split.is_empty() && split.main_gpu == 0 {
        return Ok(());
    }
    engine::backend()?;
    let gpus: Vec<String> = crate::system::devices()
        .into_iter()
        .filter(|d| d.kind == "gpu" || d.kind == "igpu")
        .map(|d| d.name)
        .collect();
    let list = if gpus.is_empty() {
        "none".to_string()
    } else {
        gpus.join(", ")
    };
    if !split.tensor_split.is_empty() && split.tensor_split.len() != gpus.len() {
        return Err(fail(
            Exit::Usage,
            format!(
                "--tensor-split has {} shares but there are {} GPU devices ({list}); give one share per device",
                split.tensor_split.len(),
                gpus.len()
            ),
        ));
    }
    if split.main_gpu as usize >= gpus.len().max(1) {
        return Err(fail(
            Exit::Usage,
            format!(
                "--main-gpu {} does not exist: GPU devices are numbered from 0 ({list})",
                split.main_gpu
            ),
        ));
    }
    Ok(())
}

/// Checks before loading: a context longer than the model was trained for works but degrades
/// (warning); one that cannot fit in memory is refused before anything is allocated.
/// `slots` contexts of `-c` tokens each are held (the warning is about one).
pub fn preflight(path: &Path, header: &GgufFile, s: &Settings, slots: u32) -> anyhow::Result<()> {
    let facts = crate::modelinfo::facts("", header, |_| None);
    let n_ctx = u64::from(s.backend.context_size);
    if let Some(trained) = facts.context_length
        && n_ctx > trained
    {
        output::message(&format!(
            "warning: context size {n_ctx} is larger than the {trained} tokens {} was trained with; output may degrade (-c/--context-size)",
            path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned()
            )
        ));
    }
    // Only the CPU case is checked here: GPU memory is the device's, which llama.cpp reports
    // itself when an allocation fails. Layers asked for a GPU that does not exist stay on the
    // CPU too (a huge -c with --gpu-layers on a CPU-only machine must not get past this).
    engine::backend()?;
    let any_gpu = crate::system::devices()
        .iter()
        .any(|d| d.kind == "gpu" || d.kind == "igpu");
    if s.backend.gpu_layers == 0 || !any_gpu {
        let all = n_ctx.saturating_mul(u64::from(slots.max(1)));
        let e = crate::modelinfo::estimate(header, &facts, all, u64::from(s.backend.ubatch_size));
        let available = crate::system::system().memory_available_bytes;
        if available > 0 && e.total_bytes > available {
            return Err(fail(
                Exit::Inference,
                format!(
                    "a context of {all} tokens needs about {} (weights {}, KV cache {}, logits {}, vocabulary {}) but only {} of memory is available; lower -c/--context-size",
                    bytes(e.total_bytes),
                    bytes(e.weights_bytes),
                    bytes(e.kv_bytes),
                    bytes(e.logits_bytes),
                    bytes(e.vocab_bytes),
                    bytes(available)
                ),
            ));
        }
    }
    Ok(())
}
