//! Speculative decoding from the command line and through the library: greedy text equal to
//! plain greedy (the real Qwen2.5-Coder 1.5B/0.5B pair and prompt lookup), the reported
//! counts, drafts refused before loading, and sampled output that follows the target's
//! distribution.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use common::*;
use inferno::config::SamplingSettings;
use inferno::engine::sampler::Sampler;
use inferno::engine::speculative::{self, SpecOptions, SpecSetup};
use inferno::engine::{ContextOptions, GenerateRequest, Inference, ModelOptions, Prompt};

const QWEN15: &str = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

fn run_json(model: &str, prompt: &str, extra: &[&str]) -> serde_json::Value {
    let out = greedy(model, prompt, 48)
        .args(["--json", "-c", "1024"])
        .args(extra)
        .run()
        .ok();
    json(&out)
}

/// The real pair: the 0.5B drafts for the 1.5B. Same text as plain greedy; the counts add up.
#[test]
fn draft_model_greedy_equals_plain() {
    let draft = model(QWEN);
    let draft = draft.to_str().unwrap();
    for prompt in ["def fibonacci(n):", "The three primary colors are"] {
        let plain = run_json(QWEN15, prompt, &[]);
        let fast = run_json(QWEN15, prompt, &["--draft-model", draft]);
        assert_eq!(plain["text"], fast["text"], "{prompt}");
        assert!(plain.get("speculative").is_none());
        let s = &fast["speculative"];
        let (drafted, accepted) = (
            s["drafted"].as_u64().unwrap(),
            s["accepted"].as_u64().unwrap(),
        );
        let steps = s["steps"].as_u64().unwrap();
        let tokens = fast["gen_tokens"].as_u64().unwrap();
        assert!(drafted > 0 && accepted <= drafted, "{s}");
        // Every generated token is an accepted proposal or the target's own pick after a
        // step (the first comes from the prompt's evaluation; the last step's pick is not
        // emitted when generation ended inside its accepted proposals or at end of text).
        assert!(
            (accepted + steps..=accepted + steps + 1).contains(&tokens),
            "{tokens} tokens: {s}"
        );
    }
}

/// An edit that repeats its input: lookup proposes from the prompt and most is kept.
#[test]
fn lookup_greedy_equals_plain_and_accepts_copies() {
    // A copy the model is sure of (no near-tie for batched arithmetic to flip).
    let prompt =
        "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n0 1 2 3";
    let plain = run_json(QWEN, prompt, &[]);
    let fast = run_json(QWEN, prompt, &["--lookup"]);
    assert_eq!(plain["text"], fast["text"]);
    let s = &fast["speculative"];
    assert!(s["lookup_accepted"].as_u64().unwrap() >= 10, "{s}");
    assert!(
        s["steps"].as_u64().unwrap() < fast["gen_tokens"].as_u64().unwrap() / 2,
        "{s}"
    );
}

/// A draft with another vocabulary is refused before anything loads, naming both files; bad
/// flag values name the flag.
#[test]
fn incompatible_draft_and_bad_flags_are_refused() {
    let gemma = model(GEMMA);
    run_on(QWEN)
        .args(["-p", "x", "--draft-model", gemma.to_str().unwrap()])
        .run()
        .fails(2, "cannot draft for")
        .fails(2, "tokenizers differ");
    run_on(QWEN)
        .args(["-p", "x", "--draft-model", "/nonexistent.gguf"])
        .run()
        .fails(4, "draft model (--draft-model)");
    run_on(QWEN)
        .args(["-p", "x", "--lookup", "--draft-max", "0"])
        .run()
        .fails(2, "--draft-max");
    run_on(QWEN)
        .args(["-p", "x", "--lookup", "--draft-p-min", "2"])
        .run()
        .fails(2, "--draft-p-min");
}

/// With temperature, tokens verified by rejection sampling must follow the distribution plain
/// sampling draws from. The same prompt (a repeating list, so lookup proposes every step) is
/// sampled with many seeds both ways; the frequencies of what comes at positions 2 and 3
/// are compared with a two-proportion z-test per common continuation.
#[test]
fn sampled_output_follows_the_target_distribution() {
    let _one = exclusive();
    let model = Arc::new(
        inferno::engine::load_model(
            &common::model(QWEN),
            &ModelOptions::default(),
            Arc::new(AtomicBool::new(false)),
            |_| {},
        )
        .unwrap(),
    );
    let ctx = ContextOptions {
        n_ctx: 512,
        n_batch: 512,
        n_ubatch: 512,
        threads: 2,
        flash_attn: inferno::config::FlashAttn::Auto,
        op_offload: false,
        n_seq: 1,
    };
    // Always propose (no adaptive plain steps), so every position after the first is verified.
    let setup = SpecSetup {
        opts: SpecOptions {
            draft_max: 4,
            draft_min: 0,
            p_min: 0.0,
            lookup_ngram: Some(2),
            adaptive: false,
        },
        draft: None,
    };
    let mut inf = Inference::new(&model, &ctx).unwrap();
    let cancel = AtomicBool::new(false);
    // Colours in no fixed order: the model cannot be sure of the next, and lookup finds the
    // last tokens earlier in the list, often enough to pass its thresholds (counted below).
    let prompt = Prompt::Raw(
        "red, green, blue, red, blue, green, blue, red, green, red, blue, red, green, blue,".into(),
    );
    const RUNS: u32 = 240;
    let mut counts: [HashMap<String, u32>; 2] = Default::default();
    let mut drafted = 0;
    for (mode, counts) in counts.iter_mut().enumerate() {
        for seed in 0..RUNS {
            let mut req = GenerateRequest::new(
                prompt.clone(),
                SamplingSettings {
                    // Hot, but over the four best tokens: a few continuations, each
                    // common enough to count.
                    temp: 1.5,
                    top_k: 4,
                    top_p: 1.0,
                    min_p: 0.0,
                    ..SamplingSettings::default()
                },
                seed,
            );
            req.max_tokens = Some(3);
            let tokens = inf.tokenize(&req.prompt).unwrap();
            inf.prefill(&tokens, &cancel).unwrap();
            let mut sampler = Sampler::new(&model, &req, inf.n_ctx()).unwrap();
            sampler.accept_prompt(&tokens);
            let out = if mode == 0 {
                inf.stream(&req, &mut sampler, &cancel, Instant::now(), |_| true)
            } else {
                let mut spec = setup.speculator(&ctx).unwrap();
                spec.reset(&req);
                speculative::stream(
                    &mut inf,
                    &mut spec,
                    &req,
                    &mut sampler,
                    &cancel,
                    Instant::now(),
                    |_| true,
                )
            }
            .unwrap();
            if mode == 1 {
                // A first token drawn far from the pattern leaves nothing to look up.
                drafted += out.speculative.as_ref().unwrap().drafted;
            }
            let rest: Vec<i32> = out.tokens.iter().skip(1).map(|t| t.0).collect();
            *counts.entry(format!("{rest:?}")).or_default() += 1;
        }
    }
    assert!(
        drafted >= RUNS as usize / 2,
        "lookup proposed {drafted} tokens in {RUNS} runs"
    );
    let n = f64::from(RUNS);
    let mut common: Vec<(&String, &u32)> = counts[0].iter().filter(|(_, c)| **c >= 15).collect();
    common.sort();
    assert!(
        common.len() >= 2,
        "the prompt should leave several likely continuations: {:?}",
        counts[0]
    );
    for (k, &a) in common {
        let b = counts[1].get(k).copied().unwrap_or(0);
        let (pa, pb) = (f64::from(a) / n, f64::from(b) / n);
        let pooled = (pa + pb) / 2.0;
        let z = (pa - pb) / (2.0 * pooled * (1.0 - pooled) / n).sqrt();
        assert!(
            z.abs() < 4.0,
            "{k}: plain {a}/{RUNS}, speculative {b}/{RUNS} (z = {z:.2})"
        );
    }
}

/// `serve` with prompt lookup (one slot): a request copies its input, the answer equals the
/// server's plain greedy answer, and `timings.speculative` reports what was kept. Several
/// slots with speculation are refused, naming the flag.
#[test]
fn serve_speculates_with_one_slot() {
    use common::server::{Server, curl};
    let one = exclusive();
    let body = r#"{"prompt": "a = [1, 2, 3]\nb = [4, 5, 6]\n# the same two lists again:\na = [1, 2, 3]\n", "max_tokens": 24, "temperature": 0}"#;
    let ask = |server: &Server| {
        let url = format!("{}/v1/completions", server.url);
        let (status, headers, out) = curl(&[
            "-X",
            "POST",
            &url,
            "-H",
            "content-type: application/json",
            "-d",
            body,
        ]);
        assert_eq!(status, 200, "{headers}{out}");
        json(&out)
    };
    let plain = ask(&Server::start(QWEN, &["-t", "2", "--parallel", "1"]));
    let server = Server::start(QWEN, &["-t", "2", "--parallel", "1", "--lookup"]);
    let fast = ask(&server);
    assert_eq!(plain["choices"][0]["text"], fast["choices"][0]["text"]);
    assert!(plain["timings"].get("speculative").is_none());
    let s = &fast["timings"]["speculative"];
    assert!(s["lookup_accepted"].as_u64().unwrap() > 0, "{fast}");
    drop(server);
    drop(one); // `run` takes the lock itself.
    Inferno::new()
        .args(["serve", "-m", model(QWEN).to_str().unwrap()])
        .args(["--parallel", "2", "--lookup", "--port", "0"])
        .run()
        .fails(2, "--parallel 1");
}
