//! Writes a synthetic llama-architecture GGUF model with random weights, then quantizes it.
//!
//! Decode and prompt speed depend on a model's shape and quantization, not on its weight
//! values, so a synthetic model of a real model's shape reproduces that model's benchmark
//! workload (its text is gibberish). Models are labelled `synthetic` in `general.name`.
//!
//! The file is written with ggml's own GGUF writer (metadata) followed by the tensor data in
//! file order, and quantized with `llama_model_quantize`, both from llama-cpp-sys-2, so the
//! result is exactly what llama.cpp's tools would produce for such a model.
//!
//! ```text
//! cargo run --release --example synth -- --preset tinyllama -o tinyllama-synthetic-q4_k_m.gguf
//! cargo run --release --example synth -- --preset tiny -o tiny.gguf
//! ```

use std::ffi::CString;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};
use llama_cpp_sys_2 as sys;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Preset {
    /// TinyLlama-1.1B: 22 layers, embedding 2048, feed-forward 5632, 32 heads, 4 KV heads,
    /// vocabulary 32000, context 2048.
    Tinyllama,
    /// A few-MB model for fast tests: 2 layers, embedding 256, feed-forward 768.
    Tiny,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Ftype {
    #[value(name = "q4_k_m")]
    Q4KM,
    F16,
}

#[derive(Debug, Parser)]
#[command(about = "Write a synthetic llama-shaped GGUF model with random weights")]
struct Args {
    /// Output path
    #[arg(short, long)]
    output: PathBuf,
    #[arg(long, value_enum, default_value = "tinyllama")]
    preset: Preset,
    #[arg(long)]
    layers: Option<u32>,
    #[arg(long)]
    embd: Option<u32>,
    #[arg(long)]
    ff: Option<u32>,
    #[arg(long)]
    heads: Option<u32>,
    #[arg(long)]
    kv_heads: Option<u32>,
    #[arg(long)]
    vocab: Option<u32>,
    #[arg(long)]
    ctx: Option<u32>,
    /// Final file type
    #[arg(long, value_enum, default_value = "q4_k_m")]
    ftype: Ftype,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Threads for quantization
    #[arg(short, long)]
    threads: Option<i32>,
    /// Show llama.cpp's quantization log
    #[arg(short, long)]
    verbose: bool,
}

struct Shape {
    layers: u32,
    embd: u32,
    ff: u32,
    heads: u32,
    kv_heads: u32,
    vocab: u32,
    ctx: u32,
}

/// Keeps llama.cpp's log quiet (it prints a line per tensor while quantizing) but errors.
unsafe extern "C" fn errors_only(
    level: sys::ggml_log_level,
    text: *const std::ffi::c_char,
    _: *mut std::ffi::c_void,
) {
    if level == sys::GGML_LOG_LEVEL_ERROR && !text.is_null() {
        // SAFETY: llama.cpp passes a NUL-terminated string.
        eprint!(
            "{}",
            unsafe { std::ffi::CStr::from_ptr(text) }.to_string_lossy()
        );
    }
}

fn main() -> Result<(), String> {
    let a = Args::parse();
    if !a.verbose {
        // SAFETY: a plain function valid for the whole process.
        unsafe { sys::llama_log_set(Some(errors_only), std::ptr::null_mut()) };
    }
    let base = match a.preset {
        Preset::Tinyllama => Shape {
            layers: 22,
            embd: 2048,
            ff: 5632,
            heads: 32,
            kv_heads: 4,
            vocab: 32000,
            ctx: 2048,
        },
        Preset::Tiny => Shape {
            layers: 2,
            embd: 256,
            ff: 768,
            heads: 4,
            kv_heads: 2,
            vocab: 1024,
            ctx: 512,
        },
    };
    let s = Shape {
        layers: a.layers.unwrap_or(base.layers),
        embd: a.embd.unwrap_or(base.embd),
        ff: a.ff.unwrap_or(base.ff),
        heads: a.heads.unwrap_or(base.heads),
        kv_heads: a.kv_heads.unwrap_or(base.kv_heads),
        vocab: a.vocab.unwrap_or(base.vocab),
        ctx: a.ctx.unwrap_or(base.ctx),
    };
    if !s.embd.is_multiple_of(s.heads)
        || !s.heads.is_multiple_of(s.kv_heads)
        || s.vocab < 300
        || !s.embd.is_multiple_of(32)
    {
        return Err("embedding must divide into heads, heads into KV heads; vocab >= 300; embd multiple of 32".into());
    }
    let f16_path = match a.ftype {
        Ftype::F16 => a.output.clone(),
        Ftype::Q4KM => a.output.with_extension("f16.tmp.gguf"),
    };
    write_f16(&f16_path, &s, a.seed)?;
    if let Ftype::Q4KM = a.ftype {
        let threads = a
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as i32));
        let result = quantize(&f16_path, &a.output, threads);
        let _ = std::fs::remove_file(&f16_path);
        result?;
    }
    let size = std::fs::metadata(&a.output)
        .map_err(|e| e.to_string())?
        .len();
    eprintln!("synth: wrote {} ({size} bytes)", a.output.display());
    Ok(())
}

fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL in names")
}

/// SentencePiece-style vocabulary: <unk>, <s>, </s>, the 256 byte tokens, then unique pieces.
fn vocab(n: u32) -> (Vec<String>, Vec<f32>, Vec<i32>) {
    let mut tokens = vec!["<unk>".to_string(), "<s>".to_string(), "</s>".to_string()];
    let mut types = vec![2, 3, 3];
    for b in 0..=255u32 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
    }
    let mut i = 0u32;
    while (tokens.len() as u32) < n {
        // base-26 letters of i, with and without the word-start marker
        let mut name = String::new();
        let mut k = i;
        loop {
            name.insert(0, (b'a' + (k % 26) as u8) as char);
            k /= 26;
            if k == 0 {
                break;
            }
        }
        tokens.push(if i.is_multiple_of(2) {
            format!("\u{2581}{name}")
        } else {
            name
        });
        types.push(1);
        i += 1;
    }
    let scores = (0..tokens.len()).map(|i| -(i as f32)).collect();
    (tokens, scores, types)
}

fn write_f16(path: &Path, s: &Shape, seed: u64) -> Result<(), String> {
    let head_dim = s.embd / s.heads;
    let kv_dim = head_dim * s.kv_heads;
    // SAFETY: ggml/gguf C API used as documented: a metadata-only ggml context (no_alloc)
    // holds the tensor shapes, gguf copies names/shapes/types, every pointer passed is valid
    // for the call, and both contexts are freed at the end.
    unsafe {
        let gctx = sys::gguf_init_empty();
        let set_str =
            |k: &str, v: &str| sys::gguf_set_val_str(gctx, cstr(k).as_ptr(), cstr(v).as_ptr());
        let set_u32 = |k: &str, v: u32| sys::gguf_set_val_u32(gctx, cstr(k).as_ptr(), v);
        let set_f32 = |k: &str, v: f32| sys::gguf_set_val_f32(gctx, cstr(k).as_ptr(), v);
        set_str("general.architecture", "llama");
        set_str(
            "general.name",
            &format!("synthetic llama {}L-{}E (random weights)", s.layers, s.embd),
        );
        set_u32("general.file_type", sys::LLAMA_FTYPE_MOSTLY_F16);
        set_u32("llama.block_count", s.layers);
        set_u32("llama.context_length", s.ctx);
        set_u32("llama.embedding_length", s.embd);
        set_u32("llama.feed_forward_length", s.ff);
        set_u32("llama.attention.head_count", s.heads);
        set_u32("llama.attention.head_count_kv", s.kv_heads);
        set_u32("llama.rope.dimension_count", head_dim);
        set_f32("llama.rope.freq_base", 10000.0);
        set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5);
        set_u32("llama.vocab_size", s.vocab);
        set_str("tokenizer.ggml.model", "llama");
        let (tokens, scores, types) = vocab(s.vocab);
        let owned: Vec<CString> = tokens.iter().map(|t| cstr(t)).collect();
        let mut ptrs: Vec<*const std::ffi::c_char> = owned.iter().map(|c| c.as_ptr()).collect();
        sys::gguf_set_arr_str(
            gctx,
            cstr("tokenizer.ggml.tokens").as_ptr(),
            ptrs.as_mut_ptr(),
            ptrs.len(),
        );
        sys::gguf_set_arr_data(
            gctx,
            cstr("tokenizer.ggml.scores").as_ptr(),
            sys::GGUF_TYPE_FLOAT32,
            scores.as_ptr().cast(),
            scores.len(),
        );
        sys::gguf_set_arr_data(
            gctx,
            cstr("tokenizer.ggml.token_type").as_ptr(),
            sys::GGUF_TYPE_INT32,
            types.as_ptr().cast(),
            types.len(),
        );
        set_u32("tokenizer.ggml.unknown_token_id", 0);
        set_u32("tokenizer.ggml.bos_token_id", 1);
        set_u32("tokenizer.ggml.eos_token_id", 2);
        sys::gguf_set_val_bool(gctx, cstr("tokenizer.ggml.add_bos_token").as_ptr(), true);

        // Tensor shapes in llama.cpp's naming; ne0 is the input dimension.
        let mut specs: Vec<(String, Vec<i64>)> = vec![
            (
                "token_embd.weight".into(),
                vec![s.embd.into(), s.vocab.into()],
            ),
            ("output_norm.weight".into(), vec![s.embd.into()]),
            ("output.weight".into(), vec![s.embd.into(), s.vocab.into()]),
        ];
        for l in 0..s.layers {
            let b = |n: &str| format!("blk.{l}.{n}.weight");
            specs.extend([
                (b("attn_norm"), vec![s.embd.into()]),
                (b("attn_q"), vec![s.embd.into(), s.embd.into()]),
                (b("attn_k"), vec![s.embd.into(), kv_dim.into()]),
                (b("attn_v"), vec![s.embd.into(), kv_dim.into()]),
                (b("attn_output"), vec![s.embd.into(), s.embd.into()]),
                (b("ffn_norm"), vec![s.embd.into()]),
                (b("ffn_gate"), vec![s.embd.into(), s.ff.into()]),
                (b("ffn_up"), vec![s.embd.into(), s.ff.into()]),
                (b("ffn_down"), vec![s.ff.into(), s.embd.into()]),
            ]);
        }
        let mctx = sys::ggml_init(sys::ggml_init_params {
            mem_size: (specs.len() + 8) * 512,
            mem_buffer: std::ptr::null_mut(),
            no_alloc: true,
        });
        let mut order = Vec::new();
        for (name, ne) in &specs {
            // Norms stay F32 (llama.cpp never quantizes 1-D tensors); matrices are F16.
            let t = if ne.len() == 1 {
                sys::ggml_new_tensor_1d(mctx, sys::GGML_TYPE_F32, ne[0])
            } else {
                sys::ggml_new_tensor_2d(mctx, sys::GGML_TYPE_F16, ne[0], ne[1])
            };
            sys::ggml_set_name(t, cstr(name).as_ptr());
            sys::gguf_add_tensor(gctx, t);
            order.push((ne.clone(), sys::ggml_nbytes(t)));
        }
        let meta_len = sys::gguf_get_meta_size(gctx);
        let mut meta = vec![0u8; meta_len];
        sys::gguf_get_meta_data(gctx, meta.as_mut_ptr().cast());
        sys::gguf_free(gctx);
        sys::ggml_free(mctx);

        let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        w.write_all(&meta).map_err(|e| e.to_string())?;
        let mut rng = fastrand::Rng::with_seed(seed);
        for (ne, nbytes) in order {
            let n: i64 = ne.iter().product();
            let bytes = if ne.len() == 1 {
                // RMS-norm weights: 1.0, so activations keep a sane scale.
                std::iter::repeat_n(1.0f32, n as usize)
                    .flat_map(f32::to_le_bytes)
                    .collect::<Vec<u8>>()
            } else {
                // Uniform in ±sqrt(3/fan_in): unit-variance outputs for unit-variance inputs.
                let a = (3.0 / ne[0] as f32).sqrt();
                let vals: Vec<f32> = (0..n).map(|_| (rng.f32() * 2.0 - 1.0) * a).collect();
                let mut half = vec![0u16; n as usize];
                sys::ggml_fp32_to_fp16_row(vals.as_ptr(), half.as_mut_ptr().cast(), n);
                half.iter().flat_map(|h| h.to_le_bytes()).collect()
            };
            assert_eq!(bytes.len(), nbytes);
            w.write_all(&bytes).map_err(|e| e.to_string())?;
            // Each tensor starts on the file's 32-byte alignment.
            let pad = (32 - nbytes % 32) % 32;
            w.write_all(&vec![0u8; pad]).map_err(|e| e.to_string())?;
        }
        w.flush().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn quantize(inp: &Path, out: &Path, threads: i32) -> Result<(), String> {
    // SAFETY: default parameters from llama.cpp with the file type and threads set; paths are
    // NUL-terminated for the duration of the call.
    unsafe {
        sys::llama_backend_init();
        let mut p = sys::llama_model_quantize_default_params();
        p.ftype = sys::LLAMA_FTYPE_MOSTLY_Q4_K_M;
        p.nthread = threads;
        let (i, o) = (cstr(&inp.to_string_lossy()), cstr(&out.to_string_lossy()));
        match sys::llama_model_quantize(i.as_ptr(), o.as_ptr(), &p) {
            0 => Ok(()),
            rc => Err(format!("llama_model_quantize failed ({rc})")),
        }
    }
}
