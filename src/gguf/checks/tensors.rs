//! Tensor types for their roles. A weight matrix (two or more dimensions: attention, feed
//! forward, output, token embeddings) must have a type the devices in use can multiply and look
//! up rows of: on the CPU, a type without a `vec_dot` kernel is called through a null pointer
//! (SIGSEGV) and an embedding of a type `get_rows` cannot read aborts. A vector (norm weights,
//! biases, scales, rope frequencies) must be F32: ggml's CPU add/multiply abort on any other
//! type, and llama.cpp asserts F32 rope frequencies while loading.

use super::{Ctx, Problem, Support};
use crate::gguf::ggml_type_name;

pub(super) fn check(c: &Ctx<'_>, support: &Support, out: &mut Vec<Problem>) {
    for t in &c.g.tensors {
        if t.dims.len() <= 1 {
            if t.ggml_type != 0 {
                out.push(Problem::new(
                    format!("tensor {}", t.name),
                    "type F32 (a vector: ggml adds and multiplies vectors only as F32)",
                    ggml_type_name(t.ggml_type),
                ));
            }
        } else if !support.matmul_types.contains(&t.ggml_type) {
            out.push(Problem::new(
                format!("tensor {}", t.name),
                "a weight type the CPU backend can multiply (F32, F16, BF16 or a quantized type such as Q4_K)",
                format!("{} (no kernel: llama.cpp would crash)", ggml_type_name(t.ggml_type)),
            ));
        }
        if out.len() >= 8 {
            return;
        }
    }
}
