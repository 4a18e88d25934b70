//! Edited copies of GGUF models, written with inferno's own GGUF reader and writer: the
//! metadata and tensor table are changed as a test needs, the tensor data is copied (or
//! filled, for a tensor whose type changed).

use std::path::{Path, PathBuf};

use inferno::gguf::writer::{read_tensor, tensor_size, write};
use inferno::gguf::{GgufFile, Value};

/// Write a copy of `src` to `dir/name` after `edit` changed its header; returns the path.
pub fn edited(src: &Path, dir: &Path, name: &str, edit: impl FnOnce(&mut GgufFile)) -> PathBuf {
    let original = inferno::gguf::read(src).expect("a valid model to edit");
    let mut g = original.clone();
    edit(&mut g);
    let out = dir.join(name);
    let mut f = std::io::BufWriter::new(std::fs::File::create(&out).unwrap());
    write(&mut f, &g, |i, t| {
        let size = tensor_size(t).expect("an edited tensor with a known type") as usize;
        match original.tensors.get(i) {
            Some(o) if o.n_bytes as usize == size => read_tensor(src, &original, o),
            // A changed type or shape: data of the right size (small floats as bytes).
            _ => Ok((0..size).map(|k| (k % 7) as u8 + 0x30).collect()),
        }
    })
    .unwrap();
    drop(f);
    out
}

/// Set (or add) a metadata key.
pub fn set(g: &mut GgufFile, key: &str, value: Value) {
    match g.metadata.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => *v = value,
        None => g.metadata.push((key.to_string(), value)),
    }
}

/// Remove a metadata key.
pub fn remove(g: &mut GgufFile, key: &str) {
    g.metadata.retain(|(k, _)| k != key);
}

/// The id of a token by its text in the model's vocabulary.
pub fn token_id(g: &GgufFile, text: &str) -> usize {
    g.get_array("tokenizer.ggml.tokens")
        .and_then(|a| a.strings())
        .and_then(|t| t.iter().position(|s| s == text))
        .unwrap_or_else(|| panic!("no token {text:?}"))
}
