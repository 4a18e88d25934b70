//! Tests of the reader: valid files, every truncation, absurd counts, structural errors, the
//! type table against the linked ggml, and every fuzzing seed and regression.

use super::image::{Writer, sample};
use super::reader::{GgufError, parse};
use super::types::GGML_TYPES;
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
                ErrorKind::Empty | ErrorKind::NotGguf | ErrorKind::Truncated | ErrorKind::Malformed
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

/// The fuzzer's seeds parse as they should, and every
/// input that ever broke the reader (fuzz/regressions) is rejected or accepted without a panic
/// and, when accepted, describes only bytes it has.
#[test]
fn seeds_and_regressions() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let ggufs = |dir: &str| -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
            .collect();
        v.sort();
        v
    };
    // The first 8 KiB of Gemma's header: a real metadata layout, cut inside the vocabulary.
    let expected = [
        ("empty-v3.gguf", None),
        ("gemma-header.gguf", Some(ErrorKind::Malformed)),
        ("small-valid.gguf", None),
    ];
    let seeds = ggufs("seeds");
    assert_eq!(seeds.len(), expected.len(), "{seeds:?}");
    for (path, (name, want)) in seeds.iter().zip(expected) {
        assert_eq!(path.file_name().unwrap().to_string_lossy(), name);
        let bytes = std::fs::read(path).unwrap();
        let got = parse(&bytes[..], bytes.len() as u64).err().map(|e| e.kind);
        assert_eq!(got, want, "{name}");
    }
    for path in ggufs("regressions") {
        let bytes = std::fs::read(&path).unwrap();
        if let Ok(g) = parse(&bytes[..], bytes.len() as u64) {
            let end = g
                .tensors
                .last()
                .map_or(0, |t| g.data_offset + t.offset + t.n_bytes);
            assert!(end <= bytes.len() as u64, "{}", path.display());
        }
    }
}
