//! Greedy answers alone versus batched: the same prompts through the batch engine one at a
//! time (one slot) and all at once (one slot each), compared token by token. Where the two
//! part, the two best logits at that position in both runs show whether batched arithmetic
//! flipped a near-tie (a gap of a few hundredths) or something is wrong (a large gap).
//!
//! ```text
//! cargo run --release --example batch_parity -- test_models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf [THREADS] [TOKENS]
//! ```

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use inferno::config::SamplingSettings;
use inferno::engine::batch::{BatchOptions, Completion, Event, Scheduler};
use inferno::engine::request::TopTwo;
use inferno::engine::template::{Message, Role};
use inferno::engine::{ContextOptions, GenerateRequest, LoadedModel, ModelOptions, Prompt};

const PROMPTS: &[&str] = &[
    "Write a haiku about the sea.",
    "Explain recursion in one sentence.",
    "List three fruits.",
    "What is 17 times 23?",
    "Write a Python function to reverse a string.",
    "Name the planets of the solar system.",
    "Give me a motto for a bakery.",
    "Translate 'good morning' to Spanish.",
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = std::path::PathBuf::from(
        args.get(1)
            .expect("usage: batch_parity MODEL [THREADS] [TOKENS]"),
    );
    let threads: u32 = args.get(2).map_or(2, |t| t.parse().expect("threads"));
    let tokens: u32 = args.get(3).map_or(64, |t| t.parse().expect("tokens"));
    let model = Arc::new(inferno::engine::load_model(
        &path,
        &ModelOptions::default(),
        Arc::new(AtomicBool::new(false)),
        |_| {},
    )?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let solo = rt.block_on(run(&model, threads, tokens, 1))?;
    let batched = rt.block_on(run(&model, threads, tokens, PROMPTS.len() as u32))?;
    let vocab = model.model.vocab();
    let text = |t: i32| {
        String::from_utf8_lossy(&vocab.token_to_piece(
            llama_cpp_2::token::LlamaToken(t),
            false,
            None,
        ))
        .into_owned()
    };
    let mut same = 0;
    println!(
        "| prompt | identical | first difference | alone: best, second (gap) | batched: best, second (gap) |"
    );
    println!("|---|---|---|---|---|");
    for (i, (a, b)) in solo.iter().zip(&batched).enumerate() {
        let at = a
            .trace
            .iter()
            .zip(&b.trace)
            .position(|(x, y)| x.chosen != y.chosen);
        let Some(at) =
            at.or((a.trace.len() != b.trace.len()).then_some(a.trace.len().min(b.trace.len())))
        else {
            same += 1;
            println!("| {} | yes | | | |", PROMPTS[i]);
            continue;
        };
        let show = |t: Option<&TopTwo>| t.map_or("-".to_string(), |t| t.describe(text));
        println!(
            "| {} | no | token {at} | {} | {} |",
            PROMPTS[i],
            show(a.trace.get(at)),
            show(b.trace.get(at))
        );
    }
    println!("\n{same} of {} identical", PROMPTS.len());
    Ok(())
}

/// The prompts through a fresh scheduler of `slots` slots: one at a time with one slot, all
/// at once otherwise.
async fn run(
    model: &Arc<LoadedModel>,
    threads: u32,
    tokens: u32,
    slots: u32,
) -> anyhow::Result<Vec<Completion>> {
    let opts = BatchOptions {
        spec: None,
        context: ContextOptions {
            n_ctx: 1024,
            n_batch: 512,
            n_ubatch: 512,
            threads,
            flash_attn: std::env::var("FA")
                .ok()
                .map_or(inferno::config::FlashAttn::Auto, |v| v.parse().expect("FA")),
            op_offload: true,
            n_seq: 1,
        },
        slots,
        max_queue: 64,
    };
    let scheduler = Scheduler::start(Arc::clone(model), opts)?;
    let request = |p: &str| {
        let sampling = SamplingSettings {
            temp: 0.0,
            ..SamplingSettings::default()
        };
        let mut r =
            GenerateRequest::new(Prompt::Chat(vec![Message::new(Role::User, p)]), sampling, 0);
        r.max_tokens = Some(tokens);
        r.trace = true;
        r
    };
    let mut tickets = Vec::new();
    let mut out = Vec::new();
    for p in PROMPTS {
        let t = scheduler
            .submit(request(p))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if slots == 1 {
            out.push(done(t.events).await);
        } else {
            tickets.push(t);
        }
    }
    for t in tickets {
        out.push(done(t.events).await);
    }
    Ok(out)
}

async fn done(mut events: tokio::sync::mpsc::UnboundedReceiver<Event>) -> Completion {
    loop {
        match events.recv().await {
            Some(Event::Done(c)) => return c,
            Some(Event::Failed(e)) => panic!("{e}"),
            Some(_) => {}
            None => panic!("the engine stopped"),
        }
    }
}
