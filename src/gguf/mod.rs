//! GGUF files, read in safe Rust before llama.cpp sees them.
//!
//! llama.cpp's own GGUF loader is C++ and has had crashes on malformed files. Every model path a
//! user gives goes through [`read`] first: [`reader`] checks the magic, version, every count and
//! length against the bytes actually left in the file, the tensor table (types, shapes, offsets)
//! and that the data section fits in the file. Only a file that passes is handed to llama.cpp.
//! The same reader serves `inferno info`, which reports a model without loading its weights.
//!
//! - [`value`]: metadata values and their types.
//! - [`types`]: ggml tensor types (names, block and type sizes).
//! - [`reader`]: the bounded parser (header, metadata); [`tensors`]: the tensor table and the
//!   layout of the data section.
//! - [`checks`]: semantic checks (hyperparameters, tensor types, tokenizer) that catch what
//!   would make llama.cpp abort or crash on a structurally valid file.
//! - [`compat`]: whether a draft model shares a target's vocabulary.
//! - [`writer`]: writes a (possibly edited) GGUF file: for the hostile-file generator and the
//!   semantic fuzzer, which build broken models on purpose.

pub mod checks;
pub mod compat;
#[cfg(test)]
pub mod image;
pub mod reader;
mod tensors;
#[cfg(test)]
mod tests;
pub mod types;
pub mod value;
pub mod writer;

pub use reader::{ErrorKind, read};
pub use types::ggml_type_name;
pub use value::{Array, Value};

/// One tensor's entry in the tensor table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    pub name: String,
    pub dims: Vec<u64>,
    pub ggml_type: u32,
    /// Offset from the start of the data section.
    pub offset: u64,
    pub n_bytes: u64,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A validated GGUF file's header: metadata and tensor table, not the weights.
#[derive(Debug, Clone)]
pub struct GgufFile {
    pub version: u32,
    pub metadata: Vec<(String, Value)>,
    pub tensors: Vec<TensorInfo>,
    pub alignment: u64,
    /// Where the tensor data starts, from the start of the file.
    pub data_offset: u64,
    pub file_size: u64,
}

impl GgufFile {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    pub fn get_u64(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(Value::as_u64)
    }

    pub fn get_f64(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(Value::as_f64)
    }

    /// `general.architecture`, which prefixes the model's hyper-parameter keys.
    pub fn architecture(&self) -> Option<&str> {
        self.get_str("general.architecture")
    }

    /// An architecture-scoped key such as `{arch}.block_count`.
    pub fn arch_u64(&self, suffix: &str) -> Option<u64> {
        let arch = self.architecture()?;
        self.get_u64(&format!("{arch}.{suffix}"))
    }

    pub fn get_array(&self, key: &str) -> Option<&Array> {
        self.get(key).and_then(Value::as_array)
    }

    pub fn array_len(&self, key: &str) -> Option<usize> {
        self.get_array(key).map(Array::len)
    }

    /// Number of parameters: the sum of every tensor's element count.
    pub fn n_params(&self) -> u64 {
        self.tensors
            .iter()
            .fold(0u64, |sum, t| sum.saturating_add(t.n_elements()))
    }
}
