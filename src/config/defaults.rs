//! Every built-in default, defined once. Help texts (`cli.rs`), the settings and the README
//! table quote these; a test checks README against them and the sampling values against
//! llama.cpp's own `common/common.h`.

use super::FlashAttn;

/// Defines each default as a constant and, in [`text`], as the literal text for help strings.
macro_rules! defaults {
    ($($(#[$doc:meta])* $name:ident: $t:ty = $v:literal;)*) => {
        // Some are only quoted in help texts, through `text`.
        $($(#[$doc])* #[allow(dead_code)] pub const $name: $t = $v;)*
        /// The defaults as written above, for help texts (`const_format` builds them at
        /// compile time).
        pub mod text {
            $(pub const $name: &str = stringify!($v);)*
        }
    };
}

defaults! {
    /// Context size in tokens (llama.cpp's CLI defaults to the trained context; we keep a
    /// predictable size).
    CONTEXT_SIZE: u32 = 2048;
    /// MiB `--gpu-layers auto` leaves free on each GPU (llama.cpp's `--fit-target`).
    GPU_MARGIN_MIB: u64 = 1024;
    /// Logical batch for prompt evaluation.
    BATCH_SIZE: u32 = 512;
    /// Physical batch: llama.cpp's 512, never above the logical batch.
    UBATCH_SIZE: u32 = 512;
    /// llama.cpp's sampling defaults (common/common.h, `common_params_sampling`).
    TEMP: f32 = 0.8;
    TOP_K: i32 = 40;
    TOP_P: f32 = 0.95;
    MIN_P: f32 = 0.05;
    REPEAT_PENALTY: f32 = 1.0;
    REPEAT_LAST_N: i32 = 64;
    FREQUENCY_PENALTY: f32 = 0.0;
    PRESENCE_PENALTY: f32 = 0.0;
    /// Requests served at once (slots) by `serve` and `run --batch`.
    PARALLEL: u32 = 4;
    /// `inferno serve`: port, queue, body limit (bytes), timeouts (seconds).
    PORT: u16 = 8080;
    MAX_QUEUE: u32 = 64;
    BODY_LIMIT: u64 = 4194304;
    REQUEST_TIMEOUT: u64 = 600;
    SHUTDOWN_GRACE: u64 = 10;
    /// Several models in one server: seconds an idle model stays loaded (ollama's 5 minutes),
    /// and how many may be loaded at once (ollama's 3 per GPU / 3 on a CPU).
    KEEP_ALIVE: i64 = 300;
    MAX_LOADED: u32 = 3;
    /// Speculative decoding. llama.cpp drafts a fixed 3 tokens (p_min 0); we adapt the
    /// length to measured costs up to 16, and stop a draft once it is unsure (p < 0.75, the
    /// value llama.cpp's server used before): an unsure draft token is rarely kept.
    DRAFT_MAX: u32 = 16;
    DRAFT_MIN: u32 = 0;
    DRAFT_P_MIN: f32 = 0.75;
    /// Longest n-gram prompt lookup matches (llama-lookup's LLAMA_NGRAM_MAX is 4).
    LOOKUP_NGRAM: u32 = 4;
    /// `inferno bench`: llama-bench's tests and repetitions.
    BENCH_PROMPT: u32 = 512;
    BENCH_GEN: u32 = 128;
    BENCH_REPETITIONS: u32 = 5;
}

/// `inferno serve` listens here unless told otherwise: this machine only.
pub const HOST: &str = "127.0.0.1";

/// Flash attention: llama.cpp decides per device.
pub const FLASH_ATTN: FlashAttn = FlashAttn::Auto;

/// "All layers" for llama.cpp's `n_gpu_layers` (it clamps to the model's count).
pub const ALL_LAYERS: u32 = 999;

/// llama.cpp's "pick a random seed" marker (`LLAMA_DEFAULT_SEED`): never a real seed.
pub const RANDOM_SEED_MARKER: u32 = u32::MAX;

/// Physical cores, as llama.cpp's own default thread count.
pub fn threads() -> u32 {
    u32::try_from(num_cpus::get_physical().max(1)).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of the vendored llama.cpp sources this build compiled (found through Cargo's
    /// registry).
    fn llama_cpp_source(file: &str) -> String {
        let home = std::env::var_os("CARGO_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".cargo")))
            .expect("CARGO_HOME or HOME");
        let version = env!("BUILD_LLAMA_CPP_SYS_2_VERSION");
        let src = std::fs::read_dir(home.join("registry/src"))
            .expect("cargo registry sources")
            .flatten()
            .map(|d| {
                d.path()
                    .join(format!("llama-cpp-sys-2-{version}/llama.cpp/{file}"))
            })
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("llama-cpp-sys-2's {file} in the cargo registry"));
        std::fs::read_to_string(src).unwrap()
    }

    /// `float   top_p = 0.95f;` → "0.95" for field `top_p` of llama.cpp's header.
    fn header_value(h: &str, field: &str) -> f64 {
        let line = h
            .lines()
            .find(|l| {
                let t = l.trim_start();
                (t.starts_with("float") || t.starts_with("int32_t"))
                    && t.split_whitespace().nth(1) == Some(field)
            })
            .unwrap_or_else(|| panic!("{field} not in common.h"));
        let v = line.split('=').nth(1).unwrap().split(';').next().unwrap();
        v.trim().trim_end_matches('f').parse().unwrap()
    }

    #[test]
    fn sampling_and_ubatch_defaults_are_llama_cpps() {
        let h = llama_cpp_source("common/common.h");
        assert_eq!(header_value(&h, "temp") as f32, TEMP);
        assert_eq!(header_value(&h, "top_k"), f64::from(TOP_K));
        assert_eq!(header_value(&h, "top_p") as f32, TOP_P);
        assert_eq!(header_value(&h, "min_p") as f32, MIN_P);
        assert_eq!(header_value(&h, "penalty_repeat") as f32, REPEAT_PENALTY);
        assert_eq!(header_value(&h, "penalty_last_n"), f64::from(REPEAT_LAST_N));
        assert_eq!(header_value(&h, "n_ubatch"), f64::from(UBATCH_SIZE));
        let llama_h = llama_cpp_source("include/llama.h");
        assert!(
            llama_h.contains(
                &format!("#define LLAMA_DEFAULT_SEED {:#X}", RANDOM_SEED_MARKER)
                    .replace("0X", "0x")
            ),
            "LLAMA_DEFAULT_SEED"
        );
    }

    #[test]
    fn text_forms_match_the_values() {
        assert_eq!(text::TEMP.parse::<f32>().unwrap(), TEMP);
        assert_eq!(text::CONTEXT_SIZE.parse::<u32>().unwrap(), CONTEXT_SIZE);
        assert_eq!(text::TOP_P.parse::<f32>().unwrap(), TOP_P);
    }
}
