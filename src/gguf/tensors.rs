//! The tensor table: names, shapes, types and offsets, and the layout of the data section.

use std::collections::HashSet;
use std::io::Read;

use super::TensorInfo;
use super::reader::{ErrorKind, GgufError, Parser, bounded_capacity};
use super::types::ggml_type;

/// ggml's limits (ggml.h).
const MAX_DIMS: u32 = 4;
const MAX_TENSOR_NAME: usize = 63;

impl<R: Read> Parser<R> {
    /// `n` tensor entries, each checked; names must be unique.
    pub(super) fn tensor_table(&mut self, n: u64) -> Result<Vec<TensorInfo>, GgufError> {
        let mut tensors: Vec<TensorInfo> = Vec::with_capacity(bounded_capacity(n));
        let mut names = HashSet::with_capacity(bounded_capacity(n));
        for i in 0..n {
            let t = self.tensor_info(i)?;
            if !names.insert(t.name.clone()) {
                return Err(self.err(
                    ErrorKind::Malformed,
                    format!("duplicate tensor name '{}'", t.name),
                ));
            }
            tensors.push(t);
        }
        Ok(tensors)
    }

    /// Where the data section starts: the next multiple of the alignment after the table.
    /// Every tensor must sit exactly where the previous one ends (padded), as ggml requires,
    /// and the last one's bytes must be in the file.
    pub(super) fn data_layout(
        &self,
        tensors: &[TensorInfo],
        alignment: u64,
    ) -> Result<u64, GgufError> {
        let data_offset = self.pos.div_ceil(alignment) * alignment;
        let mut expected = 0u64;
        for t in tensors {
            if t.offset != expected {
                return Err(self.err(
                    ErrorKind::Malformed,
                    format!(
                        "tensor '{}' has data offset {}, expected {expected}",
                        t.name, t.offset
                    ),
                ));
            }
            expected = t
                .n_bytes
                .checked_next_multiple_of(alignment)
                .and_then(|padded| expected.checked_add(padded))
                .ok_or_else(|| {
                    self.err(
                        ErrorKind::Malformed,
                        format!("tensor '{}' size overflows", t.name),
                    )
                })?;
        }
        // The last tensor needs its bytes, not its padding, to be present.
        let Some(last) = tensors.last() else {
            return Ok(data_offset);
        };
        let data_needed = last.offset.checked_add(last.n_bytes);
        if data_needed
            .and_then(|n| data_offset.checked_add(n))
            .is_none_or(|end| end > self.len)
        {
            return Err(GgufError {
                kind: ErrorKind::Truncated,
                offset: self.len,
                detail: format!(
                    "tensor data needs {} bytes from byte {data_offset}, but the file is {} bytes long",
                    data_needed.unwrap_or(u64::MAX),
                    self.len
                ),
            });
        }
        Ok(data_offset)
    }

    fn tensor_info(&mut self, i: u64) -> Result<TensorInfo, GgufError> {
        let start = self.pos;
        let name = self.string(&format!("name of tensor {i}"))?;
        let bad = |detail: String| GgufError {
            kind: ErrorKind::Malformed,
            offset: start,
            detail,
        };
        if name.len() > MAX_TENSOR_NAME {
            return Err(bad(format!(
                "tensor name '{name}' is longer than {MAX_TENSOR_NAME} bytes"
            )));
        }
        let n_dims = self.u32(&format!("dimension count of '{name}'"))?;
        if n_dims > MAX_DIMS {
            return Err(bad(format!(
                "tensor '{name}' has {n_dims} dimensions; ggml allows at most {MAX_DIMS}"
            )));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            let d = self.u64(&format!("shape of '{name}'"))?;
            if d > i64::MAX as u64 {
                return Err(bad(format!(
                    "tensor '{name}' has a dimension of {d} elements"
                )));
            }
            dims.push(d);
        }
        let ggml_type_id = self.u32(&format!("type of '{name}'"))?;
        let offset = self.u64(&format!("data offset of '{name}'"))?;
        let (type_name, blck, type_size) = ggml_type(ggml_type_id).ok_or_else(|| {
            bad(format!(
                "tensor '{name}' has unknown or removed ggml type {ggml_type_id}"
            ))
        })?;
        let n_elements = dims
            .iter()
            .try_fold(1u64, |acc, &d| {
                acc.checked_mul(d).filter(|&n| n <= i64::MAX as u64)
            })
            .ok_or_else(|| {
                bad(format!(
                    "tensor '{name}' has {dims:?} elements, which overflows"
                ))
            })?;
        let row = dims.first().copied().unwrap_or(1);
        if row % blck != 0 {
            return Err(bad(format!(
                "tensor '{name}' of type {type_name} has rows of {row} elements, not a multiple of {blck}"
            )));
        }
        let n_bytes = (n_elements / blck)
            .checked_mul(type_size)
            .ok_or_else(|| bad(format!("tensor '{name}' size in bytes overflows")))?;
        Ok(TensorInfo {
            name,
            dims,
            ggml_type: ggml_type_id,
            offset,
            n_bytes,
        })
    }
}
