//! The bounded GGUF parser.
//!
//! Rules mirror ggml's `gguf.cpp` (so we reject at least what it rejects) plus the checks it
//! leaves to later stages, such as tensor data running past the end of the file.
//! Nothing is allocated from a count in the header before the file has been shown to hold that
//! many bytes, and never more than the bytes that remain could describe, so a header claiming
//! 2^60 tensors or a 2^30-element array costs nothing.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use super::GgufFile;
use super::value::{Array, Value, ValueType};

pub const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's limits (gguf.cpp, ggml.h).
const MAX_STRING_LENGTH: u64 = 1 << 30;
const MAX_ARRAY_ELEMENTS: u64 = 1 << 30;

/// Why a file is not a usable GGUF file. `offset` is the byte where the problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufError {
    pub kind: ErrorKind,
    pub offset: u64,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Could not open or read the file (the detail has the OS error).
    Io,
    /// The first four bytes are not `GGUF`.
    NotGguf,
    /// The file is empty.
    Empty,
    /// A version this reader (and llama.cpp) does not support.
    Version,
    /// The file ends inside a structure.
    Truncated,
    /// A structure is present but its content is invalid.
    Malformed,
}

impl fmt::Display for GgufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::Io | ErrorKind::NotGguf | ErrorKind::Empty | ErrorKind::Version => {
                f.write_str(&self.detail)
            }
            ErrorKind::Truncated => {
                write!(f, "truncated: {} (at byte {})", self.detail, self.offset)
            }
            ErrorKind::Malformed => {
                write!(f, "malformed: {} (at byte {})", self.detail, self.offset)
            }
        }
    }
}

impl std::error::Error for GgufError {}

/// Read and validate the GGUF header of the file at `path`.
pub fn read(path: &Path) -> Result<GgufFile, GgufError> {
    let io_err = |e: std::io::Error| GgufError {
        kind: ErrorKind::Io,
        offset: 0,
        detail: e.to_string(),
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    parse(BufReader::with_capacity(1 << 16, file), len)
}

/// Validate a GGUF image of `len` bytes read from `reader` (a file, or bytes in tests and the
/// fuzzer). Only the header, metadata and tensor table are read, never the tensor data.
pub fn parse<R: Read>(reader: R, len: u64) -> Result<GgufFile, GgufError> {
    Parser {
        reader,
        pos: 0,
        len,
    }
    .file()
}

pub(super) struct Parser<R> {
    reader: R,
    pub(super) pos: u64,
    pub(super) len: u64,
}

impl<R: Read> Parser<R> {
    pub(super) fn err(&self, kind: ErrorKind, detail: impl Into<String>) -> GgufError {
        GgufError {
            kind,
            offset: self.pos,
            detail: detail.into(),
        }
    }

    pub(super) fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    pub(super) fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>, GgufError> {
        if n > self.remaining() {
            return Err(self.err(
                ErrorKind::Truncated,
                format!(
                    "{what} needs {n} bytes but the file ends after {}",
                    self.remaining()
                ),
            ));
        }
        // n <= remaining bytes of a real file, so this allocation is bounded by the file size.
        let mut buf = vec![0u8; n as usize];
        self.reader.read_exact(&mut buf).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                ErrorKind::Truncated
            } else {
                ErrorKind::Io
            };
            self.err(kind, format!("reading {what}: {e}"))
        })?;
        self.pos += n;
        Ok(buf)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], GgufError> {
        let v = self.bytes(N as u64, what)?;
        Ok(v.try_into().expect("length checked"))
    }

    pub(super) fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub(super) fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    pub(super) fn string(&mut self, what: &str) -> Result<String, GgufError> {
        let start = self.pos;
        let n = self.u64(what)?;
        if n > MAX_STRING_LENGTH {
            return Err(GgufError {
                kind: ErrorKind::Malformed,
                offset: start,
                detail: format!("{what} claims {n} bytes, more than GGUF allows (2^30)"),
            });
        }
        let raw = self.bytes(n, what)?;
        String::from_utf8(raw).map_err(|_| GgufError {
            kind: ErrorKind::Malformed,
            offset: start,
            detail: format!("{what} is not valid UTF-8"),
        })
    }

    /// A count of items each at least `min_size` bytes: rejected if the rest of the file
    /// cannot hold that many, before anything is allocated for them.
    fn count(&mut self, what: &str, min_size: u64, limit: u64) -> Result<u64, GgufError> {
        let start = self.pos;
        let n = self.u64(what)?;
        let fits = n
            .checked_mul(min_size)
            .is_some_and(|bytes| bytes <= self.remaining());
        if n > limit || !fits {
            return Err(GgufError {
                kind: ErrorKind::Malformed,
                offset: start,
                detail: format!(
                    "{what} is {n}, but the {} bytes left in the file cannot hold that many (corrupt or truncated file)",
                    self.len.saturating_sub(start + 8)
                ),
            });
        }
        Ok(n)
    }

    fn value(&mut self, t: ValueType, key: &str) -> Result<Value, GgufError> {
        let what = || format!("value of '{key}'");
        Ok(match t {
            ValueType::U8 => Value::U8(u8::from_le_bytes(self.array(&what())?)),
            ValueType::I8 => Value::I8(i8::from_le_bytes(self.array(&what())?)),
            ValueType::U16 => Value::U16(u16::from_le_bytes(self.array(&what())?)),
            ValueType::I16 => Value::I16(i16::from_le_bytes(self.array(&what())?)),
            ValueType::U32 => Value::U32(self.u32(&what())?),
            ValueType::I32 => Value::I32(i32::from_le_bytes(self.array(&what())?)),
            ValueType::F32 => Value::F32(f32::from_le_bytes(self.array(&what())?)),
            ValueType::U64 => Value::U64(self.u64(&what())?),
            ValueType::I64 => Value::I64(i64::from_le_bytes(self.array(&what())?)),
            ValueType::F64 => Value::F64(f64::from_le_bytes(self.array(&what())?)),
            ValueType::Bool => Value::Bool(self.bool(&what())?),
            ValueType::String => Value::String(self.string(&what())?),
            ValueType::Array => Value::Array(self.array_value(key)?),
        })
    }

    fn bool(&mut self, what: &str) -> Result<bool, GgufError> {
        let b = self.array::<1>(what)?[0];
        if b > 1 {
            return Err(self.err(
                ErrorKind::Malformed,
                format!("{what} is a bool of value {b}"),
            ));
        }
        Ok(b == 1)
    }

    /// An array: element type, length, elements. Fixed-size elements are read in one piece
    /// (its size was checked against the bytes left); strings one by one.
    fn array_value(&mut self, key: &str) -> Result<Array, GgufError> {
        let raw = self.u32(&format!("element type of '{key}'"))?;
        let elem = ValueType::from_u32(raw).ok_or_else(|| {
            self.err(
                ErrorKind::Malformed,
                format!("array '{key}' has unknown element type {raw}"),
            )
        })?;
        let what = format!("length of array '{key}'");
        let n = self.count(&what, elem.min_size(), MAX_ARRAY_ELEMENTS)?;
        let elems = format!("elements of array '{key}'");
        // `count` checked n * min_size <= the bytes left; for fixed-size types that is the size.
        let mut fixed = |size: u64| self.bytes(n * size, &elems);
        macro_rules! numbers {
            ($variant:ident, $t:ty) => {
                Array::$variant(
                    fixed(std::mem::size_of::<$t>() as u64)?
                        .chunks_exact(std::mem::size_of::<$t>())
                        .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunk size")))
                        .collect(),
                )
            };
        }
        Ok(match elem {
            ValueType::U8 => Array::U8(fixed(1)?),
            ValueType::I8 => numbers!(I8, i8),
            ValueType::U16 => numbers!(U16, u16),
            ValueType::I16 => numbers!(I16, i16),
            ValueType::U32 => numbers!(U32, u32),
            ValueType::I32 => numbers!(I32, i32),
            ValueType::F32 => numbers!(F32, f32),
            ValueType::U64 => numbers!(U64, u64),
            ValueType::I64 => numbers!(I64, i64),
            ValueType::F64 => numbers!(F64, f64),
            ValueType::Bool => {
                let mut items = Vec::with_capacity(bounded_capacity(n));
                for _ in 0..n {
                    items.push(self.bool(&elems)?);
                }
                Array::Bool(items)
            }
            ValueType::String => {
                let mut items = Vec::with_capacity(bounded_capacity(n));
                for _ in 0..n {
                    items.push(self.string(&elems)?);
                }
                Array::String(items)
            }
            ValueType::Array => {
                return Err(self.err(
                    ErrorKind::Malformed,
                    format!("array '{key}' nests arrays, which ggml does not support"),
                ));
            }
        })
    }

    fn file(mut self) -> Result<GgufFile, GgufError> {
        if self.len == 0 {
            return Err(self.err(ErrorKind::Empty, "the file is empty (0 bytes)"));
        }
        if self.len < 4 {
            return Err(self.err(
                ErrorKind::NotGguf,
                format!("not a GGUF file: only {} bytes long", self.len),
            ));
        }
        let magic = self.array::<4>("magic")?;
        if &magic != MAGIC {
            return Err(GgufError {
                kind: ErrorKind::NotGguf,
                offset: 0,
                detail: format!(
                    "not a GGUF file: it starts with {}, not \"GGUF\"",
                    describe_magic(&magic)
                ),
            });
        }
        let version = self.u32("version")?;
        match version {
            2 | 3 => {}
            1 => {
                return Err(self.err(
                    ErrorKind::Version,
                    "GGUF version 1 is no longer supported by llama.cpp; convert the model again",
                ));
            }
            v => {
                return Err(self.err(
                    ErrorKind::Version,
                    format!("unsupported GGUF version {v} (llama.cpp reads versions 2 and 3)"),
                ));
            }
        }
        // Minimum bytes per entry: a tensor info is a name (8) + n_dims (4) + type (4) + offset
        // (8); a key/value pair is a key (8) + type (4) + a 1-byte value.
        let n_tensors = self.count("tensor count", 24, u64::MAX)?;
        let n_kv = self.count("metadata count", 13, u64::MAX)?;

        let mut metadata: Vec<(String, Value)> = Vec::with_capacity(bounded_capacity(n_kv));
        let mut keys = HashSet::with_capacity(bounded_capacity(n_kv));
        for i in 0..n_kv {
            let start = self.pos;
            let key = self.string(&format!("key of metadata entry {i}"))?;
            if key.is_empty() {
                return Err(GgufError {
                    kind: ErrorKind::Malformed,
                    offset: start,
                    detail: format!("metadata entry {i} has an empty key"),
                });
            }
            if !keys.insert(key.clone()) {
                return Err(GgufError {
                    kind: ErrorKind::Malformed,
                    offset: start,
                    detail: format!("duplicate metadata key '{key}'"),
                });
            }
            let raw = self.u32(&format!("type of '{key}'"))?;
            let t = ValueType::from_u32(raw).ok_or_else(|| {
                self.err(
                    ErrorKind::Malformed,
                    format!("'{key}' has unknown value type {raw}"),
                )
            })?;
            let v = self.value(t, &key)?;
            metadata.push((key, v));
        }

        let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some((_, Value::U32(a))) if *a != 0 && a.is_power_of_two() => u64::from(*a),
            Some((_, v)) => {
                return Err(self.err(
                    ErrorKind::Malformed,
                    format!("general.alignment must be a power-of-two u32, found {v}"),
                ));
            }
        };

        let tensors = self.tensor_table(n_tensors)?;
        let data_offset = self.data_layout(&tensors, alignment)?;
        Ok(GgufFile {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
            file_size: self.len,
        })
    }
}

/// The capacity to reserve for `n` items read from the file: the items themselves are checked
/// one by one as they are read, so reserving more than a modest number up front would let a
/// header that lies about its counts reserve gigabytes before any item is checked.
pub(super) fn bounded_capacity(n: u64) -> usize {
    const MAX_RESERVED: u64 = 4096;
    n.min(MAX_RESERVED) as usize
}

fn describe_magic(m: &[u8; 4]) -> String {
    if m.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("\"{}\"", String::from_utf8_lossy(m))
    } else {
        format!("bytes {:02x} {:02x} {:02x} {:02x}", m[0], m[1], m[2], m[3])
    }
}
