//! Whether a draft model can propose tokens for a target: the same tokenizer, as llama.cpp's
//! `common_speculative_are_compatible` requires (type, BOS/EOS, sizes within 128, the same
//! token texts from id 5 on), checked on the headers before the draft's weights are loaded.

use super::GgufFile;

/// Vocabulary sizes may differ by this much (llama.cpp's SPEC_VOCAB_MAX_SIZE_DIFFERENCE):
/// padding tokens at the end.
const MAX_SIZE_DIFFERENCE: usize = 128;
/// Token texts are compared from this id (llama.cpp's SPEC_VOCAB_CHECK_START_TOKEN_ID): some
/// converters name the first few special tokens differently.
const CHECK_FROM: usize = 5;

/// `Err` names the first difference, in words.
pub fn same_vocabulary(target: &GgufFile, draft: &GgufFile) -> Result<(), String> {
    let kind = |f: &GgufFile| {
        f.get_str("tokenizer.ggml.model")
            .unwrap_or("none")
            .to_string()
    };
    if kind(target) != kind(draft) {
        return Err(format!(
            "the tokenizers differ (target {}, draft {})",
            kind(target),
            kind(draft)
        ));
    }
    for (key, what) in [
        ("tokenizer.ggml.bos_token_id", "BOS token"),
        ("tokenizer.ggml.eos_token_id", "EOS token"),
        ("tokenizer.ggml.add_bos_token", "add-BOS flag"),
    ] {
        let (t, d) = (target.get(key), draft.get(key));
        if t != d {
            return Err(format!(
                "the {what} differs ({key}: target {t:?}, draft {d:?})"
            ));
        }
    }
    let tokens = |f: &GgufFile| {
        f.get_array("tokenizer.ggml.tokens")
            .and_then(|a| a.strings())
            .map(<[String]>::to_vec)
            .unwrap_or_default()
    };
    let (t, d) = (tokens(target), tokens(draft));
    if t.len().abs_diff(d.len()) > MAX_SIZE_DIFFERENCE {
        return Err(format!(
            "the vocabulary sizes differ by more than {MAX_SIZE_DIFFERENCE} (target {}, draft {})",
            t.len(),
            d.len()
        ));
    }
    if let Some(i) = (CHECK_FROM..t.len().min(d.len())).find(|&i| t[i] != d[i]) {
        return Err(format!(
            "token {i} differs (target {:?}, draft {:?})",
            t[i], d[i]
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::image::Writer;

    fn vocab(model: &str, tokens: &[&str], bos: u32) -> GgufFile {
        let mut w = Writer::new(3, 0, 3);
        w.kv_str("tokenizer.ggml.model", model);
        w.kv_str_array("tokenizer.ggml.tokens", tokens);
        w.kv_u32("tokenizer.ggml.bos_token_id", bos);
        let bytes = w.data(0);
        crate::gguf::reader::parse(&bytes[..], bytes.len() as u64).unwrap()
    }

    #[test]
    fn differences_are_named() {
        let toks: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        let toks: Vec<&str> = toks.iter().map(String::as_str).collect();
        let a = vocab("gpt2", &toks, 1);
        assert!(same_vocabulary(&a, &a).is_ok());
        let e = same_vocabulary(&a, &vocab("llama", &toks, 1)).unwrap_err();
        assert!(e.contains("tokenizers differ"), "{e}");
        let e = same_vocabulary(&a, &vocab("gpt2", &toks, 2)).unwrap_err();
        assert!(e.contains("BOS"), "{e}");
        let mut other = toks.clone();
        other[7] = "x";
        let e = same_vocabulary(&a, &vocab("gpt2", &other, 1)).unwrap_err();
        assert!(e.contains("token 7"), "{e}");
        // The first few ids are not compared; a few extra (padding) tokens are fine.
        other[7] = "t7";
        other[1] = "<s>";
        other.push("pad");
        assert!(same_vocabulary(&a, &vocab("gpt2", &other, 1)).is_ok());
    }
}
