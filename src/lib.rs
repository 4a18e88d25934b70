//! inferno: run GGUF language models locally through llama.cpp.
//!
//! The crate is a binary (`src/main.rs`: parse, dispatch, exit codes) over this library, so
//! that examples (the synthetic-model and hostile-file generators) and tests can use the same
//! GGUF reader and writer as the program. Data flows one way: front-ends ([`commands`]) →
//! [`engine`] → llama.cpp, with events back over channels.
//!
//! - [`cli`]: clap types only. [`config`]: files + environment + flags → one `Settings`.
//! - [`gguf`]: bounded reading, writing and semantic checks of GGUF files (pure Rust).
//! - [`modelinfo`]: model facts and memory estimates from a header (pure functions).
//! - [`engine`]: the only module that touches llama.cpp.
//! - [`server`]: the OpenAI-compatible HTTP server (HTTP only; the engine does inference).
//! - [`commands`]: thin orchestration per subcommand. [`bench`]: plan, runner, statistics,
//!   exporters.
//! - [`report`], [`output`], [`signals`], [`system`], [`units`], [`error`]: shared pieces.

pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod engine;
pub mod error;
pub mod gguf;
pub mod modelinfo;
pub mod output;
pub mod report;
pub mod server;
pub mod signals;
pub mod system;
pub mod units;
