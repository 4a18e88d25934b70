//! Fuzz the GGUF reader and everything computed from a header: any byte string must give Ok
//! or Err, never a panic, an out-of-memory abort or a hang; an accepted file must describe
//! only bytes it has; the model facts and the memory estimate must be computed without a
//! panic (no arithmetic overflow, no out-of-range index) for any accepted header and any
//! context size.
//!
//! Run (cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP allows them on stable):
//!   RUSTC_BOOTSTRAP=1 cargo fuzz run gguf fuzz/corpus fuzz/seeds -- -max_total_time=600 -rss_limit_mb=1024
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code, unused_imports)]
#[path = "../../src/gguf/mod.rs"]
mod gguf;
#[allow(dead_code, unused_imports)]
#[path = "../../src/modelinfo/mod.rs"]
mod modelinfo;
#[allow(dead_code, unused_imports)]
#[path = "../../src/units.rs"]
mod units;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = gguf::reader::parse(data, data.len() as u64) {
        let end = g.tensors.last().map_or(0, |t| g.data_offset + t.offset + t.n_bytes);
        assert!(end <= data.len() as u64, "accepted a file whose tensor data runs past its end");
        assert!(g.tensors.iter().all(|t| t.dims.len() <= 4));
        let facts = modelinfo::facts("fuzz", &g, |_| None);
        // The context and batch come from flags: the edges and a value from the input.
        let n = data.len() as u64;
        for (n_ctx, n_ubatch) in [(1, 1), (2048, 512), (u64::from(u32::MAX), u64::from(u32::MAX)), (n, n)] {
            let e = modelinfo::estimate(&g, &facts, n_ctx, n_ubatch);
            for free in [0, 1 << 30, u64::MAX] {
                let f = modelinfo::fit("dev", free, &e, facts.layers.unwrap_or(0));
                assert!(f.layers_that_fit <= facts.layers.unwrap_or(0));
            }
        }
        let _ = modelinfo::description(&g, g.n_params());
        for (_, v) in &g.metadata {
            let _ = v.to_string();
        }
    }
});
