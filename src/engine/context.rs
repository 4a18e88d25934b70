//! Creating an inference context and reporting the KV and compute buffers it allocated.

use std::num::NonZeroU32;
use std::sync::Mutex;

use anyhow::Context as _;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;

use super::backend::backend;
use super::logs::{self, Buffer, Capture};
use super::model::LoadedModel;
use crate::config::FlashAttn;
use crate::error::{Exit, fail};

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
    /// Sequences the context holds (batching: one per slot). Each gets `n_ctx / n_seq` cells of
    /// its own (llama.cpp's non-unified KV cache), so one sequence can never crowd out another.
    pub n_seq: u32,
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
        .with_n_seq_max(opts.n_seq.max(1))
        .with_kv_unified(false)
        // llama.cpp's tools keep sliding-window layers' cache at the window's size
        // (llama-cpp-2's default would allocate the full context for them too).
        .with_swa_full(false)
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

/// llama.cpp's warm-up (common_init_from_params): one small batch and one single token
/// through the graph, then an empty cache, so the first request does not pay for first-use
/// work in the backends (kernel loading, CUDA graph capture). A server does this once.
pub fn warm_up(ctx: &mut LlamaContext<'_>, model: &LoadedModel) -> anyhow::Result<()> {
    let vocab = model.model.vocab();
    let first = vocab.bos();
    let first = if (0..model.model.n_vocab()).contains(&first.0) {
        first
    } else {
        llama_cpp_2::token::LlamaToken(0)
    };
    let mut batch = llama_cpp_2::llama_batch::LlamaBatch::new(2, 1);
    let two = [first, first];
    let sizes: &[&[llama_cpp_2::token::LlamaToken]] = if ctx.n_batch() >= 2 {
        &[&two, &two[..1]]
    } else {
        &[&two[..1]]
    };
    for &tokens in sizes {
        batch.clear();
        for (i, &t) in tokens.iter().enumerate() {
            batch.add(t, i as i32, &[0], i + 1 == tokens.len())?;
        }
        ctx.clear_kv_cache();
        ctx.decode(&mut batch)
            .map_err(|e| fail(Exit::Inference, format!("llama.cpp failed to decode: {e}")))?;
    }
    ctx.synchronize();
    ctx.clear_kv_cache();
    Ok(())
}
