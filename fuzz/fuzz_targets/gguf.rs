//! Fuzz the GGUF validator: any byte string must give Ok or Err, never a panic, an
//! out-of-memory abort or a hang, and an accepted file must describe only bytes it has.
//!
//! Run (cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP allows them on stable):
//!   RUSTC_BOOTSTRAP=1 cargo fuzz run gguf fuzz/corpus fuzz/seeds -- -max_total_time=600 -rss_limit_mb=1024
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/gguf.rs"]
mod gguf;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = gguf::parse(data, data.len() as u64) {
        let end = g.tensors.last().map_or(0, |t| g.data_offset + t.offset + t.n_bytes);
        assert!(end <= data.len() as u64, "accepted a file whose tensor data runs past its end");
        assert!(g.tensors.iter().all(|t| t.dims.len() <= 4));
    }
});
