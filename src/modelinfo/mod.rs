//! What a GGUF file says about its model, and what running it would need: pure functions over
//! a parsed [`GgufFile`](crate::gguf::GgufFile) (no weights are read, nothing is loaded).
//!
//! - [`facts`]: the model's description (`inferno info -m`).
//! - [`estimate`]: the memory a run needs, and how much of it fits a device.
//! - [`placement`]: `--gpu-layers auto` and `-c 0`: layers and context that fit free memory.
//! - [`names`]: llama.cpp's names for file types, and llama-bench's one-line description.

mod estimate;
mod facts;
mod names;
pub mod placement;

pub use estimate::{Fit, MemoryEstimate, estimate, fit};
pub use facts::{ModelFacts, TokenFact, facts};
pub use names::description;
