//! Semantic checks: a GGUF file can be structurally valid (the reader accepts it) and still
//! make llama.cpp abort, crash or allocate without bound: a layer count above its limit, heads
//! that do not divide, an epsilon of NaN, a weight type with no CPU kernel, duplicate token
//! strings, a vocabulary that cannot spell a byte. These checks run on the header before
//! llama.cpp sees the file, and each failure names the key or tensor, what llama.cpp needs and
//! what the file has. The rules come from reading llama.cpp's loader, vocabulary and CPU
//! kernels (the sources llama-cpp-sys-2 vendors); each says what it prevents.
//!
//! Pure functions over a parsed [`GgufFile`]: unit-tested here, fuzzed (fuzz/), and run by
//! every command that loads a model.
//!
//! - [`hparams`]: hyperparameters (types, ranges, consistency with the tensors).
//! - [`tensors`]: tensor types allowed for each role on the devices in use.
//! - [`tokenizer`]: the vocabulary and its special tokens; [`charsmap`]: T5's normalizer table.

mod charsmap;
mod hparams;
mod tensors;
#[cfg(test)]
mod tests;
mod tokenizer;

use std::fmt;

use super::GgufFile;
use super::value::{Array, Value};

/// One reason llama.cpp cannot run the file: the key or tensor, what is needed, what is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub subject: String,
    pub expected: String,
    pub found: String,
}

impl Problem {
    fn new(
        subject: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Problem {
            subject: subject.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, found {}",
            self.subject, self.expected, self.found
        )
    }
}

/// What the devices in use can compute: the ggml types a matrix multiplication (and an
/// embedding lookup) accepts as weights. The engine derives it from the CPU backend's type
/// traits (a type without a `vec_dot` kernel would be called through a null pointer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    pub matmul_types: Vec<u32>,
}

impl Support {
    /// The CPU backend of the ggml this build links, as read from its sources (ggml-cpu.c's
    /// `type_traits_cpu`); the engine's derived list is tested against it.
    pub fn cpu_reference() -> Support {
        Support {
            matmul_types: vec![
                0, 1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20, 21, 22, 23, 29, 30,
                34, 35, 39, 40, 41, 42,
            ],
        }
    }
}

/// Every problem found (empty: llama.cpp can load and run the file as far as the header tells).
pub fn check(g: &GgufFile, support: &Support) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(arch) = g.architecture() else {
        problems.push(Problem::new(
            "general.architecture",
            "the model architecture as a string",
            describe(g.get("general.architecture")),
        ));
        return problems;
    };
    let c = Ctx { g, arch };
    hparams::check(&c, &mut problems);
    tensors::check(&c, support, &mut problems);
    tokenizer::check(&c, &mut problems);
    problems
}

/// The file and its architecture, with typed access to keys as llama.cpp reads them: it wants
/// each key's exact GGUF type (a u32 key stored as i32 is an error there, not a conversion).
struct Ctx<'a> {
    g: &'a GgufFile,
    arch: &'a str,
}

impl Ctx<'_> {
    /// `{arch}.{suffix}`.
    fn key(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.arch)
    }

    /// An architecture key that must be a u32 when present.
    fn u32(&self, suffix: &str) -> Result<Option<u32>, Problem> {
        self.typed(&self.key(suffix), "a u32", |v| match v {
            Value::U32(x) => Some(*x),
            _ => None,
        })
    }

    /// An architecture key that must be an f32 when present.
    fn f32(&self, suffix: &str) -> Result<Option<f32>, Problem> {
        self.typed(&self.key(suffix), "an f32", |v| match v {
            Value::F32(x) => Some(*x),
            _ => None,
        })
    }

    /// Any key of one exact type.
    fn typed<T>(
        &self,
        key: &str,
        what: &str,
        get: impl Fn(&Value) -> Option<T>,
    ) -> Result<Option<T>, Problem> {
        match self.g.get(key) {
            None => Ok(None),
            Some(v) => get(v)
                .map(Some)
                .ok_or_else(|| Problem::new(key, what, describe(Some(v)))),
        }
    }

    /// A per-layer key: a u32 for every layer, or an array of `n_layer` u32/i32/bool values
    /// (llama.cpp's `get_key_or_arr`).
    fn per_layer(&self, suffix: &str, n_layer: usize) -> Result<Option<Vec<i64>>, Problem> {
        let key = self.key(suffix);
        let Some(v) = self.g.get(&key) else {
            return Ok(None);
        };
        let values: Option<Vec<i64>> = match v {
            Value::U32(x) => Some(vec![i64::from(*x); n_layer]),
            Value::Array(Array::U32(a)) => Some(a.iter().map(|&x| i64::from(x)).collect()),
            Value::Array(Array::I32(a)) => Some(a.iter().map(|&x| i64::from(x)).collect()),
            Value::Array(Array::Bool(a)) => Some(a.iter().map(|&x| i64::from(x)).collect()),
            _ => None,
        };
        let values = values.ok_or_else(|| {
            Problem::new(
                &key,
                "a u32, or an array of u32 with one per layer",
                describe(Some(v)),
            )
        })?;
        if values.len() != n_layer {
            return Err(Problem::new(
                &key,
                format!("{n_layer} values (one per layer)"),
                format!("{}", values.len()),
            ));
        }
        Ok(Some(values))
    }

    /// Whether any tensor's name contains `part` (e.g. `.attn_q.`, `_exps.`).
    fn has_tensor(&self, part: &str) -> bool {
        self.g.tensors.iter().any(|t| t.name.contains(part))
    }
}

/// A value as a problem report shows it: its type and (short) value, or "no such key".
fn describe(v: Option<&Value>) -> String {
    match v {
        None => "no such key".to_string(),
        Some(v @ Value::Array(_)) => format!("an array {v}"),
        Some(v) => {
            let shown = v.to_string();
            let shown = if shown.chars().count() > 40 {
                format!("{}...", shown.chars().take(40).collect::<String>())
            } else {
                shown
            };
            format!("{} {shown}", v.value_type().name())
        }
    }
}
