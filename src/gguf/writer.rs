//! Writing GGUF files: a header, metadata and tensor table as [`super::reader`] reads them,
//! then the tensor data. Used to build edited copies of models (the hostile-file generator
//! and the semantic fuzzer make broken models on purpose); inferno itself never writes models.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::types::ggml_type;
use super::value::{Array, Value, ValueType};
use super::{GgufFile, TensorInfo};

/// Bytes of tensor data for `t` (its type and shape), or `None` for an unknown type or a row
/// that is not a whole number of blocks.
pub fn tensor_size(t: &TensorInfo) -> Option<u64> {
    let (_, blck, size) = ggml_type(t.ggml_type)?;
    let row = t.dims.first().copied().unwrap_or(1);
    if row % blck != 0 {
        return None;
    }
    let n = t.dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d))?;
    (n / blck).checked_mul(size)
}

/// Write `file`'s metadata and tensor table (offsets and sizes recomputed from each tensor's
/// type and shape), then each tensor's data from `data`, which must return exactly
/// [`tensor_size`] bytes.
pub fn write(
    out: &mut impl Write,
    file: &GgufFile,
    mut data: impl FnMut(usize, &TensorInfo) -> io::Result<Vec<u8>>,
) -> io::Result<()> {
    let bad = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let mut head = Vec::new();
    head.extend_from_slice(super::reader::MAGIC);
    head.extend_from_slice(&file.version.to_le_bytes());
    head.extend_from_slice(&(file.tensors.len() as u64).to_le_bytes());
    head.extend_from_slice(&(file.metadata.len() as u64).to_le_bytes());
    for (key, value) in &file.metadata {
        string(&mut head, key);
        head.extend_from_slice(&type_id(value.value_type()).to_le_bytes());
        self::value(&mut head, value);
    }
    let mut offset = 0u64;
    let mut sizes = Vec::with_capacity(file.tensors.len());
    for t in &file.tensors {
        let size =
            tensor_size(t).ok_or_else(|| bad(format!("tensor {}: bad type/shape", t.name)))?;
        string(&mut head, &t.name);
        head.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
        for d in &t.dims {
            head.extend_from_slice(&d.to_le_bytes());
        }
        head.extend_from_slice(&t.ggml_type.to_le_bytes());
        head.extend_from_slice(&offset.to_le_bytes());
        sizes.push(size);
        offset += size.next_multiple_of(file.alignment);
    }
    pad(&mut head, file.alignment);
    out.write_all(&head)?;
    for (i, (t, &size)) in file.tensors.iter().zip(&sizes).enumerate() {
        let mut bytes = data(i, t)?;
        if bytes.len() as u64 != size {
            return Err(bad(format!(
                "tensor {}: {} bytes of data for a size of {size}",
                t.name,
                bytes.len()
            )));
        }
        pad(&mut bytes, file.alignment);
        out.write_all(&bytes)?;
    }
    Ok(())
}

/// The data of tensor `t` as stored in the file at `path` (which `file` was read from).
pub fn read_tensor(path: &Path, file: &GgufFile, t: &TensorInfo) -> io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(file.data_offset + t.offset))?;
    let mut buf = vec![0u8; t.n_bytes as usize];
    f.read_exact(&mut buf)?;
    Ok(buf)
}

fn pad(buf: &mut Vec<u8>, alignment: u64) {
    while !(buf.len() as u64).is_multiple_of(alignment) {
        buf.push(0);
    }
}

fn string(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn type_id(t: ValueType) -> u32 {
    (0..=12)
        .find(|&i| ValueType::from_u32(i) == Some(t))
        .expect("every value type has an id")
}

fn value(buf: &mut Vec<u8>, v: &Value) {
    match v {
        Value::U8(x) => buf.push(*x),
        Value::I8(x) => buf.extend_from_slice(&x.to_le_bytes()),
        Value::U16(x) => buf.extend_from_slice(&x.to_le_bytes()),
        Value::I16(x) => buf.extend_from_slice(&x.to_le_bytes()),
        Value::U32(x) => buf.extend_from_slice(&x.to_le_bytes()),
        Value::I32(x) => buf.extend_from_slice(&x.to_le_bytes()),
        Value::F32(x) => buf.extend_from_slice(&x.to_le_bytes()),
        Value::Bool(x) => buf.push(u8::from(*x)),
        Value::String(s) => string(buf, s),
        Value::U64(x) => buf.extend_from_slice(&x.to_le_bytes()),
        Value::I64(x) => buf.extend_from_slice(&x.to_le_bytes()),
        Value::F64(x) => buf.extend_from_slice(&x.to_le_bytes()),
        Value::Array(a) => {
            buf.extend_from_slice(&type_id(a.elem_type()).to_le_bytes());
            buf.extend_from_slice(&(a.len() as u64).to_le_bytes());
            match a {
                // Strings directly: a vocabulary has 150,000 of them.
                Array::String(items) => items.iter().for_each(|s| string(buf, s)),
                _ => (0..a.len())
                    .filter_map(|i| a.get(i))
                    .for_each(|item| self::value(buf, &item)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reading what was written gives back the same metadata and tensors.
    #[test]
    fn round_trip() {
        let image = super::super::image::sample();
        let g = super::super::reader::parse(&image[..], image.len() as u64).unwrap();
        let mut out = Vec::new();
        write(&mut out, &g, |_, t| {
            Ok(vec![7u8; tensor_size(t).unwrap() as usize])
        })
        .unwrap();
        let back = super::super::reader::parse(&out[..], out.len() as u64).unwrap();
        assert_eq!(back.metadata, g.metadata);
        assert_eq!(back.tensors, g.tensors);
        assert_eq!(back.data_offset, g.data_offset);
    }
}
