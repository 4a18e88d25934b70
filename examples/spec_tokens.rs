//! Greedy token ids of the prompt and of the target's plain output, per prompt (JSON lines
//! with "raw" or "chat", as spec_parity reads): the text benches/lookup_sim.py replays to ask
//! how other proposal rules or draft lengths would have fared, without timing noise.
//!
//! ```text
//! cargo run --release --example spec_tokens -- TARGET.gguf PROMPTS.jsonl [TOKENS] > tokens.jsonl
//! ```
//!
//! PROMPTS may also be a JSON array of the same objects, such as src/bench/spec_prompts.json
//! (examples/common).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use inferno::engine::sampler::Sampler;
use inferno::engine::{Inference, ModelOptions};

mod common;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: spec_tokens TARGET PROMPTS [TOKENS]";
    let (Some(model), Some(prompts)) = (args.get(1), args.get(2)) else {
        anyhow::bail!(usage);
    };
    let tokens: u32 = args.get(3).map_or(Ok(128), |t| t.parse())?;
    let target = Arc::new(inferno::engine::load_model(
        std::path::Path::new(model),
        &ModelOptions::default(),
        Arc::new(AtomicBool::new(false)),
        |_| {},
    )?);
    let ctx = common::cpu_context(2);
    let mut inf = Inference::new(&target, &ctx)?;
    let cancel = AtomicBool::new(false);
    for v in common::prompt_items(prompts)? {
        let req = common::greedy_request(&v, tokens)?;
        let p = inf.tokenize(&req.prompt)?;
        inf.clear();
        inf.prefill(&p, &cancel)?;
        let mut sampler = Sampler::new(&target, &req, inf.n_ctx())?;
        sampler.accept_prompt(&p);
        let out = inf.stream(&req, &mut sampler, &cancel, Instant::now(), |_| true)?;
        let ids = |t: &[llama_cpp_2::token::LlamaToken]| t.iter().map(|t| t.0).collect::<Vec<_>>();
        println!(
            "{}",
            serde_json::json!({"name": v["name"], "prompt": ids(&p), "output": ids(&out.tokens)})
        );
    }
    Ok(())
}
