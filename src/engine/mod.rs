//! The GGUF engine: llama.cpp behind a small, clap-free API. The only place that touches
//! llama.cpp; callers pass plain option structs and receive plain results.
//!
//! - [`backend`]: the one process-wide llama.cpp backend and its plugins; [`crash`]: llama.cpp's
//!   aborts and fault signals turned into one line and an exit code.
//! - [`model`]: loading a model into an `Arc`-shareable [`LoadedModel`]; tokenizing prompts.
//! - [`context`]: creating an inference context ([`ContextOptions`]).
//! - [`inference`]: one sequence: prompt evaluation, cached-prefix reuse, the sampling loop.
//! - [`batch`]: continuous batching: many requests sharing each decode step (serve, run
//!   --batch, bench --parallel).
//! - [`grammar`]: GBNF grammars, from JSON schemas, for constrained output.
//! - [`sampler`]: the sampler chain in llama.cpp's order.
//! - [`speculative`]: speculative decoding (a draft model, prompt lookup) for one sequence.
//! - [`worker`]: running inferences on a blocking thread, text over a tokio channel.
//! - [`request`]: what callers ask for ([`GenerateRequest`]) and get back ([`GenerationStats`]).
//! - [`template`]: chat templates; [`text`]: UTF-8 streaming and stop sequences.
//! - [`workload`]: random-token decode workloads for `inferno bench` (llama-bench's method).
//! - [`logs`]: llama.cpp's log, routed to tracing and read for the facts only it reports.

pub mod backend;
pub mod batch;
pub mod context;
mod crash;
mod emit;
pub mod grammar;
pub mod inference;
pub mod logs;
pub mod model;
mod plugins;
mod raw_load;
pub mod request;
pub mod rpc;
pub mod sampler;
pub mod speculative;
pub mod template;
pub mod text;
pub mod worker;
pub mod workload;

pub use backend::backend;
pub use context::ContextOptions;
pub use inference::Inference;
pub use model::{LoadedModel, ModelOptions, Offload, Split, SplitMode, load_model};
pub use plugins::cpu_only;
pub use request::{GenerateRequest, GenerationStats, Prompt, StopReason};
pub use worker::{ChatCommand, Event, chat_worker, complete_once};
