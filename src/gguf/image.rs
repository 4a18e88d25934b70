//! Byte-level GGUF images for tests and the fuzzer's seeds, malformed on purpose where a test needs
//! it (the real writer is [`super::writer`]).

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
    pub fn kv_u64(&mut self, k: &str, v: u64) {
        self.str(k);
        self.0.extend_from_slice(&10u32.to_le_bytes());
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
