//! T5's (UGM) `precompiled_charsmap`: a 4-byte length, an XOR-compressed double-array trie
//! (XCDA) of that many bytes, then NUL-terminated replacement strings. llama.cpp walks the trie
//! for every input byte and throws, out of `llama_tokenize`, when a step leaves the array or a
//! replacement leaves the strings. [`validate`] walks every state reachable by any input and
//! checks every read llama.cpp would make (llama-vocab.cpp `normalize_prefix`).

use std::collections::HashSet;

/// `Err` with the first read that would leave the table.
pub fn validate(blob: &[u8]) -> Result<(), String> {
    let Some(size) = blob
        .get(..4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    else {
        return Err(format!(
            "{} bytes, too short for the 4-byte length",
            blob.len()
        ));
    };
    let size = size as usize;
    if size.checked_add(4).is_none_or(|end| end >= blob.len()) {
        return Err(format!(
            "a trie of {size} bytes in a table of {} bytes",
            blob.len()
        ));
    }
    let units: Vec<u32> = blob[4..4 + size]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    let replacements = &blob[4 + size..];
    if units.is_empty() {
        return Ok(());
    }
    let node = |i: u32| -> Result<u32, String> {
        units
            .get(i as usize)
            .copied()
            .ok_or_else(|| format!("a trie step to unit {i} of {}", units.len()))
    };
    let base = |packed: u32| (packed >> 10) << ((packed & (1 << 9)) >> 6);
    let lcheck = |packed: u32| packed & ((1 << 31) | 0xff);
    let leaf = |packed: u32| (packed >> 8) & 1 == 1;
    let value = |packed: u32| packed & ((1 << 31) - 1);

    // States are node indices before a byte is XORed in; the root's is BASE[0].
    let mut todo = vec![base(node(0)?)];
    let mut seen = HashSet::new();
    while let Some(state) = todo.pop() {
        if !seen.insert(state) {
            continue;
        }
        for c in 1..=255u32 {
            let child = state ^ c;
            let packed = node(child)?;
            if lcheck(packed) != c {
                continue;
            }
            let next = child ^ base(packed);
            if leaf(packed) {
                let offset = value(node(next)?) as usize;
                let rest = replacements
                    .get(offset..)
                    .filter(|r| !r.is_empty())
                    .ok_or_else(|| {
                        format!("a replacement at byte {offset} of {}", replacements.len())
                    })?;
                if !rest.contains(&0) {
                    return Err(format!("an unterminated replacement at byte {offset}"));
                }
            }
            todo.push(next);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trie that maps the byte 'a' to "b": the root's BASE is 256, so every child 256 ^ c
    /// lies in units 257..=511; the child for 'a' (353) is a leaf whose BASE leads back to
    /// unit 256, which holds the replacement's offset 0.
    fn one_mapping() -> Vec<u8> {
        let mut units = vec![0u32; 512];
        units[0] = 256 << 10;
        let child = 256 ^ u32::from(b'a');
        units[child as usize] = ((child ^ 256) << 10) | (1 << 8) | u32::from(b'a');
        let mut blob = ((units.len() * 4) as u32).to_le_bytes().to_vec();
        blob.extend(units.iter().flat_map(|u| u.to_le_bytes()));
        blob.extend_from_slice(b"b\0");
        blob
    }

    #[test]
    fn a_well_formed_table_passes() {
        assert_eq!(validate(&one_mapping()), Ok(()));
    }

    #[test]
    fn reads_past_the_table_are_found() {
        assert!(validate(&[1, 0]).unwrap_err().contains("too short"));
        assert!(
            validate(&[8, 0, 0, 0, 0])
                .unwrap_err()
                .contains("trie of 8 bytes")
        );
        // A root whose children lie past the end of a 2-unit trie.
        let mut blob = 8u32.to_le_bytes().to_vec();
        blob.extend((1000u32 << 10).to_le_bytes());
        blob.extend(0u32.to_le_bytes());
        blob.push(0);
        assert!(validate(&blob).unwrap_err().contains("trie step"));
        // A replacement without its terminating NUL.
        let mut unterminated = one_mapping();
        unterminated.pop();
        assert!(
            validate(&unterminated)
                .unwrap_err()
                .contains("unterminated")
        );
    }
}
