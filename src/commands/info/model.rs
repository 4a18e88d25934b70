//! The model view of `inferno info -m`: facts from the header, the memory estimate and how it
//! fits each device, and with `--all` every metadata key.

use std::fmt::Write as _;

use serde::Serialize;

use super::{opt, row};
use crate::config::Settings;
use crate::engine;
use crate::gguf::{self, GgufFile};
use crate::modelinfo::placement::Placement;
use crate::modelinfo::{self, Fit, MemoryEstimate, ModelFacts};
use crate::system;
use crate::units::{bytes, count};

#[derive(Debug, Serialize)]
pub(super) struct ModelReport {
    model: ModelFacts,
    /// What the semantic checks found (empty: llama.cpp can run it as far as the header tells).
    problems: Vec<String>,
    memory: MemoryReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Vec<MetaEntry>>,
}

#[derive(Debug, Serialize)]
struct MemoryReport {
    estimate: MemoryEstimate,
    fit: Vec<Fit>,
    /// What `--gpu-layers auto` would choose on this machine now.
    auto: Placement,
}

#[derive(Debug, Serialize)]
struct MetaEntry {
    key: String,
    #[serde(rename = "type")]
    value_type: &'static str,
    value: String,
}

pub(super) fn report(
    path: &str,
    g: &GgufFile,
    s: &Settings,
    all: bool,
) -> anyhow::Result<ModelReport> {
    // The template matcher and device list need llama.cpp's backend, not the model.
    engine::backend()?;
    let facts = modelinfo::facts(path, g, engine::template::template_name);
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
    let mut auto = s.clone();
    auto.backend.gpu_auto = true;
    let (_, decision) = crate::commands::decide(g, &auto, 1)?;
    let auto = decision.expect("auto decides");
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
    let problems = gguf::checks::check(g, &engine::backend::type_support()?)
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(ModelReport {
        model: facts,
        problems,
        memory: MemoryReport {
            estimate,
            fit,
            auto,
        },
        metadata,
    })
}

pub(super) fn render(r: &ModelReport) -> String {
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

    o.push_str("\nChecks\n");
    if r.problems.is_empty() {
        o.push_str("  ok: nothing in the header that llama.cpp cannot run\n");
    }
    for p in &r.problems {
        let _ = writeln!(o, "  problem: {p}");
    }

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
    row(
        &mut o,
        "vocabulary",
        format!("{} (llama.cpp's token tables)", bytes(e.vocab_bytes)),
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
    let a = &r.memory.auto;
    row(
        &mut o,
        "gpu-layers auto",
        format!(
            "{} ({} predicted on the GPUs)",
            a.line().trim_start_matches("auto: "),
            bytes(a.predicted_gpu_bytes)
        ),
    );
    if let Some(meta) = &r.metadata {
        o.push_str("\nMetadata\n");
        for e in meta {
            let _ = writeln!(o, "  {} ({}) = {}", e.key, e.value_type, e.value);
        }
    }
    o
}
