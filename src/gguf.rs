//! A bounds-checked GGUF reader and validator, in safe Rust.
//!
//! llama.cpp's own GGUF loader is C++ and has had crashes on malformed files. Every model path a
//! user gives goes through [`read`] first: it checks the magic, version, every count and length
//! against the bytes actually left in the file, the tensor table (types, shapes, offsets) and
//! that the data section fits in the file. Only a file that passes is handed to llama.cpp. The
//! same reader serves `inferno info`, which reports a model without loading its weights.
//!
//! Rules mirror ggml's `gguf.cpp` (so we reject at least what it rejects) plus the checks it
//! leaves to later stages, such as tensor data running past the end of the file.
//! Nothing is allocated from a count in the header before the file has been shown to hold that
//! many bytes, so a header claiming 2^60 tensors costs nothing.

use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

pub const MAGIC: &[u8; 4] = b"GGUF";
const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's limits (gguf.cpp, ggml.h).
const MAX_STRING_LENGTH: u64 = 1 << 30;
const MAX_ARRAY_ELEMENTS: u64 = 1 << 30;
const MAX_DIMS: u32 = 4;
const MAX_TENSOR_NAME: usize = 63;

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

/// A metadata value. Arrays keep their element type so empty arrays can still be described.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(ValueType, Vec<Value>),
    U64(u64),
    I64(i64),
    F64(f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    F32,
    Bool,
    String,
    Array,
    U64,
    I64,
    F64,
}

impl ValueType {
    fn from_u32(v: u32) -> Option<ValueType> {
        use ValueType::*;
        Some(match v {
            0 => U8,
            1 => I8,
            2 => U16,
            3 => I16,
            4 => U32,
            5 => I32,
            6 => F32,
            7 => Bool,
            8 => String,
            9 => Array,
            10 => U64,
            11 => I64,
            12 => F64,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        use ValueType::*;
        match self {
            U8 => "u8",
            I8 => "i8",
            U16 => "u16",
            I16 => "i16",
            U32 => "u32",
            I32 => "i32",
            F32 => "f32",
            Bool => "bool",
            String => "string",
            Array => "array",
            U64 => "u64",
            I64 => "i64",
            F64 => "f64",
        }
    }

    /// Bytes a value of this type takes at least (a string is at least its 8-byte length).
    fn min_size(self) -> u64 {
        use ValueType::*;
        match self {
            U8 | I8 | Bool => 1,
            U16 | I16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 | String => 8,
            Array => 12,
        }
    }
}

impl Value {
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::U8(_) => ValueType::U8,
            Value::I8(_) => ValueType::I8,
            Value::U16(_) => ValueType::U16,
            Value::I16(_) => ValueType::I16,
            Value::U32(_) => ValueType::U32,
            Value::I32(_) => ValueType::I32,
            Value::F32(_) => ValueType::F32,
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Array(..) => ValueType::Array,
            Value::U64(_) => ValueType::U64,
            Value::I64(_) => ValueType::I64,
            Value::F64(_) => ValueType::F64,
        }
    }

    /// Any non-negative integer value as u64.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    /// Scalars as themselves; arrays summarized by element type and length (vocabularies have
    /// 150,000 entries), with the first few elements.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::U8(v) => write!(f, "{v}"),
            Value::I8(v) => write!(f, "{v}"),
            Value::U16(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::U32(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::Array(t, items) => {
                write!(f, "[{}; {}]", t.name(), items.len())?;
                if !items.is_empty() {
                    let shown: Vec<String> = items.iter().take(4).map(|v| v.to_string()).collect();
                    let more = if items.len() > 4 { ", ..." } else { "" };
                    write!(f, " {}{more}", shown.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

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

    pub fn array_len(&self, key: &str) -> Option<usize> {
        match self.get(key)? {
            Value::Array(_, items) => Some(items.len()),
            _ => None,
        }
    }

    /// Number of parameters: the sum of every tensor's element count.
    pub fn n_params(&self) -> u64 {
        self.tensors.iter().map(TensorInfo::n_elements).sum()
    }
}

/// ggml tensor types: (id, name, elements per block, bytes per block). Ids with no entry were
/// removed from ggml and are rejected, as ggml rejects them. A unit test checks this table
/// against the linked ggml.
pub const GGML_TYPES: &[(u32, &str, u64, u64)] = &[
    (0, "F32", 1, 4),
    (1, "F16", 1, 2),
    (2, "Q4_0", 32, 18),
    (3, "Q4_1", 32, 20),
    (6, "Q5_0", 32, 22),
    (7, "Q5_1", 32, 24),
    (8, "Q8_0", 32, 34),
    (9, "Q8_1", 32, 36),
    (10, "Q2_K", 256, 84),
    (11, "Q3_K", 256, 110),
    (12, "Q4_K", 256, 144),
    (13, "Q5_K", 256, 176),
    (14, "Q6_K", 256, 210),
    (15, "Q8_K", 256, 292),
    (16, "IQ2_XXS", 256, 66),
    (17, "IQ2_XS", 256, 74),
    (18, "IQ3_XXS", 256, 98),
    (19, "IQ1_S", 256, 50),
    (20, "IQ4_NL", 32, 18),
    (21, "IQ3_S", 256, 110),
    (22, "IQ2_S", 256, 82),
    (23, "IQ4_XS", 256, 136),
    (24, "I8", 1, 1),
    (25, "I16", 1, 2),
    (26, "I32", 1, 4),
    (27, "I64", 1, 8),
    (28, "F64", 1, 8),
    (29, "IQ1_M", 256, 56),
    (30, "BF16", 1, 2),
    (34, "TQ1_0", 256, 54),
    (35, "TQ2_0", 256, 66),
    (39, "MXFP4", 32, 17),
    (40, "NVFP4", 64, 36),
    (41, "Q1_0", 128, 18),
    (42, "Q2_0", 64, 18),
];

pub fn ggml_type(id: u32) -> Option<(&'static str, u64, u64)> {
    GGML_TYPES
        .iter()
        .find(|t| t.0 == id)
        .map(|&(_, name, blck, size)| (name, blck, size))
}

pub fn ggml_type_name(id: u32) -> String {
    ggml_type(id).map_or_else(|| format!("type{id}"), |t| t.0.to_string())
}

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

struct Parser<R> {
    reader: R,
    pos: u64,
    len: u64,
}

impl<R: Read> Parser<R> {
    fn err(&self, kind: ErrorKind, detail: impl Into<String>) -> GgufError {
        GgufError {
            kind,
            offset: self.pos,
            detail: detail.into(),
        }
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.pos)
    }

    fn bytes(&mut self, n: u64, what: &str) -> Result<Vec<u8>, GgufError> {
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

    fn u32(&mut self, what: &str) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn string(&mut self, what: &str) -> Result<String, GgufError> {
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

    fn value(&mut self, t: ValueType, key: &str, nested: bool) -> Result<Value, GgufError> {
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
            ValueType::Bool => {
                let b = self.array::<1>(&what())?[0];
                if b > 1 {
                    return Err(self.err(
                        ErrorKind::Malformed,
                        format!("{} is a bool of value {b}", what()),
                    ));
                }
                Value::Bool(b == 1)
            }
            ValueType::String => Value::String(self.string(&what())?),
            ValueType::Array => {
                if nested {
                    return Err(self.err(
                        ErrorKind::Malformed,
                        format!("{} nests arrays, which ggml does not support", what()),
                    ));
                }
                let raw = self.u32(&format!("element type of '{key}'"))?;
                let elem = ValueType::from_u32(raw).ok_or_else(|| {
                    self.err(
                        ErrorKind::Malformed,
                        format!("array '{key}' has unknown element type {raw}"),
                    )
                })?;
                let n = self.count(
                    &format!("length of array '{key}'"),
                    elem.min_size(),
                    MAX_ARRAY_ELEMENTS,
                )?;
                let mut items = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    items.push(self.value(elem, key, true)?);
                }
                Value::Array(elem, items)
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

        let mut metadata: Vec<(String, Value)> = Vec::with_capacity(n_kv as usize);
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
            if metadata.iter().any(|(k, _)| *k == key) {
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
            let v = self.value(t, &key, false)?;
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

        let mut tensors: Vec<TensorInfo> = Vec::with_capacity(n_tensors as usize);
        for i in 0..n_tensors {
            tensors.push(self.tensor_info(i, &tensors)?);
        }

        // The data section starts at the next multiple of the alignment; every tensor must sit
        // exactly where the previous one ends (padded), as ggml requires.
        let data_offset = self.pos.div_ceil(alignment) * alignment;
        let mut expected = 0u64;
        for t in &tensors {
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
        let data_needed = tensors.last().map_or(0, |t| t.offset + t.n_bytes);
        if n_tensors > 0
            && data_offset
                .checked_add(data_needed)
                .is_none_or(|end| end > self.len)
        {
            return Err(GgufError {
                kind: ErrorKind::Truncated,
                offset: self.len,
                detail: format!(
                    "tensor data needs {} bytes from byte {data_offset}, but the file is {} bytes long",
                    data_needed, self.len
                ),
            });
        }
        Ok(GgufFile {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
            file_size: self.len,
        })
    }

    fn tensor_info(&mut self, i: u64, previous: &[TensorInfo]) -> Result<TensorInfo, GgufError> {
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
        if previous.iter().any(|t| t.name == name) {
            return Err(bad(format!("duplicate tensor name '{name}'")));
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

fn describe_magic(m: &[u8; 4]) -> String {
    if m.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("\"{}\"", String::from_utf8_lossy(m))
    } else {
        format!("bytes {:02x} {:02x} {:02x} {:02x}", m[0], m[1], m[2], m[3])
    }
}

/// Builds GGUF images byte by byte, for tests and the fuzzer's seeds.
#[cfg(test)]
pub mod writer {
    /// A valid little file: a few metadata entries of different types and two F32 tensors.
    pub fn sample() -> Vec<u8> {
        let mut w = Writer::new(3, 2, 4);
        w.kv_str("general.architecture", "llama");
        w.kv_u32("llama.block_count", 1);
        w.kv_str_array("tokenizer.ggml.tokens", &["<s>", "a", "b"]);
        w.kv_u32("general.alignment", 32);
        w.tensor("t0", &[4, 2], 0, 0);
        w.tensor("t1", &[8], 0, 32);
        w.data(32 + 32)
    }

    pub struct Writer(pub Vec<u8>);

    impl Writer {
        pub fn new(version: u32, n_tensors: u64, n_kv: u64) -> Writer {
            let mut b = b"GGUF".to_vec();
            b.extend_from_slice(&version.to_le_bytes());
            b.extend_from_slice(&n_tensors.to_le_bytes());
            b.extend_from_slice(&n_kv.to_le_bytes());
            Writer(b)
        }
        pub fn str(&mut self, s: &str) {
            self.0.extend_from_slice(&(s.len() as u64).to_le_bytes());
            self.0.extend_from_slice(s.as_bytes());
        }
        pub fn kv_str(&mut self, k: &str, v: &str) {
            self.str(k);
            self.0.extend_from_slice(&8u32.to_le_bytes());
            self.str(v);
        }
        pub fn kv_u32(&mut self, k: &str, v: u32) {
            self.str(k);
            self.0.extend_from_slice(&4u32.to_le_bytes());
            self.0.extend_from_slice(&v.to_le_bytes());
        }
        pub fn kv_str_array(&mut self, k: &str, items: &[&str]) {
            self.str(k);
            self.0.extend_from_slice(&9u32.to_le_bytes());
            self.0.extend_from_slice(&8u32.to_le_bytes());
            self.0
                .extend_from_slice(&(items.len() as u64).to_le_bytes());
            for i in items {
                self.str(i);
            }
        }
        pub fn tensor(&mut self, name: &str, dims: &[u64], ggml_type: u32, offset: u64) {
            self.str(name);
            self.0.extend_from_slice(&(dims.len() as u32).to_le_bytes());
            for d in dims {
                self.0.extend_from_slice(&d.to_le_bytes());
            }
            self.0.extend_from_slice(&ggml_type.to_le_bytes());
            self.0.extend_from_slice(&offset.to_le_bytes());
        }
        /// Pad to the alignment (32) and append `n` bytes of tensor data.
        pub fn data(mut self, n: usize) -> Vec<u8> {
            while !self.0.len().is_multiple_of(32) {
                self.0.push(0);
            }
            self.0.extend(std::iter::repeat_n(0x3f, n));
            self.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::writer::{Writer, sample};
    use super::*;

    fn parse_bytes(b: &[u8]) -> Result<GgufFile, GgufError> {
        parse(b, b.len() as u64)
    }

    #[test]
    fn reads_a_valid_file() {
        let g = parse_bytes(&sample()).unwrap();
        assert_eq!(g.version, 3);
        assert_eq!(g.architecture(), Some("llama"));
        assert_eq!(g.arch_u64("block_count"), Some(1));
        assert_eq!(g.array_len("tokenizer.ggml.tokens"), Some(3));
        assert_eq!(g.tensors.len(), 2);
        assert_eq!(g.tensors[0].n_bytes, 32);
        assert_eq!(g.n_params(), 16);
        assert!(g.data_offset.is_multiple_of(32));
    }

    #[test]
    fn every_truncation_is_an_error_never_a_panic() {
        let full = sample();
        for len in 0..full.len() {
            let err = parse_bytes(&full[..len]).expect_err(&format!("prefix of {len} bytes"));
            assert!(
                matches!(
                    err.kind,
                    ErrorKind::Empty
                        | ErrorKind::NotGguf
                        | ErrorKind::Truncated
                        | ErrorKind::Malformed
                ),
                "{len}: {err:?}"
            );
        }
        assert!(parse_bytes(&full).is_ok());
    }

    #[test]
    fn absurd_counts_are_rejected_without_allocating() {
        let g = Writer::new(3, 1 << 60, 0).data(0);
        let e = parse_bytes(&g).unwrap_err();
        assert!(
            e.detail.contains("tensor count is 1152921504606846976"),
            "{e}"
        );
        let g = Writer::new(3, 0, u64::MAX).data(0);
        assert!(
            parse_bytes(&g)
                .unwrap_err()
                .detail
                .contains("metadata count")
        );
        // A 2^40-byte string.
        let mut w = Writer::new(3, 0, 1);
        w.0.extend_from_slice(&(1u64 << 40).to_le_bytes());
        let e = parse_bytes(&w.data(64)).unwrap_err();
        assert!(e.detail.contains("claims 1099511627776 bytes"), "{e}");
        // A 2^40-element array.
        let mut w = Writer::new(3, 0, 1);
        w.str("k");
        w.0.extend_from_slice(&9u32.to_le_bytes());
        w.0.extend_from_slice(&4u32.to_le_bytes());
        w.0.extend_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(
            parse_bytes(&w.data(0))
                .unwrap_err()
                .detail
                .contains("length of array 'k'")
        );
    }

    #[test]
    fn structural_errors() {
        let mut bad_version = sample();
        bad_version[4] = 7;
        assert_eq!(
            parse_bytes(&bad_version).unwrap_err().kind,
            ErrorKind::Version
        );
        let e = parse_bytes(b"\x89PNG\r\n\x1a\n....").unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotGguf);
        assert!(e.detail.contains("89 50 4e 47"), "{e}");
        // Tensor data offset past the end of the file.
        let mut w = Writer::new(3, 1, 0);
        w.tensor("t", &[4], 0, 0);
        let short = w.data(8);
        assert!(
            parse_bytes(&short)
                .unwrap_err()
                .detail
                .contains("tensor data needs 16 bytes")
        );
        // Offsets out of sequence, unknown type, too many dims, bad row size.
        for (dims, ty, off, needle) in [
            (&[4u64][..], 0u32, 64u64, "expected 0"),
            (&[4], 4, 0, "unknown or removed ggml type 4"),
            (&[1, 1, 1, 1, 1], 0, 0, "5 dimensions"),
            (&[33], 2, 0, "not a multiple of 32"),
            (&[u64::MAX / 2, 4], 0, 0, "overflows"),
        ] {
            let mut w = Writer::new(3, 1, 0);
            w.tensor("t", dims, ty, off);
            let e = parse_bytes(&w.data(1024)).unwrap_err();
            assert!(e.detail.contains(needle), "{needle}: {e}");
        }
        // Duplicate keys, empty key, bad bool, bad alignment.
        let mut w = Writer::new(3, 0, 2);
        w.kv_u32("a", 1);
        w.kv_u32("a", 2);
        assert!(
            parse_bytes(&w.data(0))
                .unwrap_err()
                .detail
                .contains("duplicate metadata key 'a'")
        );
        let mut w = Writer::new(3, 0, 1);
        w.kv_u32("general.alignment", 3);
        assert!(
            parse_bytes(&w.data(0))
                .unwrap_err()
                .detail
                .contains("power-of-two")
        );
    }

    /// Our table of block and type sizes is the linked ggml's.
    #[test]
    fn type_table_matches_ggml() {
        for &(id, _name, blck, size) in GGML_TYPES {
            // SAFETY: table lookups in ggml for valid type ids.
            let (b, s) = unsafe {
                (
                    llama_cpp_sys_2::ggml_blck_size(id as llama_cpp_sys_2::ggml_type),
                    llama_cpp_sys_2::ggml_type_size(id as llama_cpp_sys_2::ggml_type),
                )
            };
            assert_eq!((blck, size), (b as u64, s as u64), "type {id}");
        }
    }
}

/// Every fuzzing seed and every input the fuzzer ever found a problem with (fuzz/regressions)
/// is parsed without a panic.
#[cfg(test)]
mod fuzz_regressions {
    #[test]
    fn seeds_and_regressions_parse_without_panic() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut n = 0;
        for dir in ["seeds", "regressions"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
                let bytes = std::fs::read(entry.path()).unwrap();
                let _ = super::parse(&bytes[..], bytes.len() as u64);
                n += 1;
            }
        }
        assert!(n >= 3, "the seeds are there");
        let valid = std::fs::read(root.join("seeds/small-valid.gguf")).unwrap();
        assert!(super::parse(&valid[..], valid.len() as u64).is_ok());
    }
}
