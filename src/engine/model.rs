//! Loading a model: `llama_model_load_from_file` with progress and cancellation, and what
//! llama.cpp did (layers offloaded, buffers per device) read from its log. The loaded model is
//! shared between inferences with `Arc`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::backend::backend;
use super::logs::{self, Buffer, Capture};
use super::request::Prompt;
use super::template::ChatFormat;
use crate::error::{Exit, fail};

/// How to load a model.
#[derive(Debug, Clone, Default)]
pub struct ModelOptions {
    /// Layers to offload to the GPU (llama.cpp clamps to what the model has).
    pub gpu_layers: u32,
    /// How layers spread over several GPUs (and RPC devices).
    pub split: Split,
    /// Keep CPU weights in their file layout instead of repacking them for the CPU kernels
    /// (llama.cpp's `--no-repack`): weights sent to an RPC device are never repacked, so this
    /// is what a local run must do to compute exactly what an RPC run computes.
    pub no_repack: bool,
    /// Tokens the model says must never be sampled (`tokenizer.ggml.suppress_tokens`), which
    /// llama.cpp's default sampler masks; ids outside the vocabulary are dropped, as there.
    pub suppress_tokens: Vec<i32>,
}

/// `--split-mode`: how a model spreads over several devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitMode {
    /// One device (`--main-gpu`) holds everything offloaded.
    None,
    /// Whole layers per device, in proportion to `tensor_split` (default: free memory).
    #[default]
    Layer,
    /// Each weight matrix split across the devices by rows.
    Row,
}

/// Placement over several devices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    pub mode: SplitMode,
    /// The device for `SplitMode::None` (and intermediate results with `Row`).
    pub main_gpu: u32,
    /// Shares per device, in device order; empty: in proportion to free memory.
    pub tensor_split: Vec<f32>,
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
    pub chat: Option<ChatFormat>,
    /// Tokens never to sample (see [`ModelOptions::suppress_tokens`]), all inside the vocabulary.
    pub suppress_tokens: Vec<LlamaToken>,
}

/// Load `path` (already validated by [`crate::gguf::read`]). `progress` receives 0.0..=1.0;
/// when `cancel` becomes true the load is aborted and the error has exit kind `Interrupted`.
pub fn load_model(
    path: &Path,
    opts: &ModelOptions,
    cancel: Arc<AtomicBool>,
    mut progress: impl FnMut(f32) + 'static,
) -> anyhow::Result<LoadedModel> {
    backend()?;
    let abort = cancel.clone();
    let capture = Capture::start();
    let start = Instant::now();
    let loaded = super::raw_load::load(path, opts, move |p| {
        progress(p);
        !abort.load(Ordering::Relaxed)
    });
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
    let n_vocab = model.n_vocab();
    let suppress_tokens = opts
        .suppress_tokens
        .iter()
        .filter(|&&t| (0..n_vocab).contains(&t))
        .map(|&t| LlamaToken(t))
        .collect();
    Ok(LoadedModel {
        chat: ChatFormat::from_model(&model),
        suppress_tokens,
        model,
        path: path.to_path_buf(),
        load_ms,
        offload,
        buffers: logs::parse_buffers(&lines),
    })
}

impl LoadedModel {
    /// The tokens of a prompt, parsing special tokens as llama.cpp's CLI does. BOS is added
    /// when the model wants one, unless a chat template already wrote it.
    pub fn tokenize(&self, prompt: &Prompt) -> anyhow::Result<Vec<LlamaToken>> {
        let vocab = self.model.vocab();
        let text = match prompt {
            Prompt::Raw(text) => text.clone(),
            Prompt::Chat(messages) => {
                let format = self.chat.as_ref().ok_or_else(|| {
                    fail(Exit::Prompt, "this model has no chat template; use --raw")
                })?;
                format.render(messages, true)?
            }
        };
        // A model may have no BOS token (id -1): llama.cpp throws for ids outside the
        // vocabulary, so only a real id is ever asked for its text.
        let bos = self
            .token_in_vocab(vocab.bos())
            .map(|bos| String::from_utf8_lossy(&vocab.token_to_piece(bos, true, None)).into_owned())
            .unwrap_or_default();
        let template_wrote_bos =
            matches!(prompt, Prompt::Chat(_)) && !bos.is_empty() && text.starts_with(&bos);
        Ok(vocab.tokenize(text.as_bytes(), !template_wrote_bos, true))
    }

    /// `token` when it is an id of this model's vocabulary (special ids such as BOS are -1
    /// when the model has none).
    pub fn token_in_vocab(&self, token: LlamaToken) -> Option<LlamaToken> {
        (0..self.model.n_vocab())
            .contains(&token.0)
            .then_some(token)
    }
}
