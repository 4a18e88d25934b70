//! Random-token decode workloads, the same work llama.cpp's `llama-bench` times: prompt
//! processing decodes random tokens in `batch_size` chunks; generation decodes one random token
//! at a time and synchronizes after each (no sampling: sampling is not what is measured).

use llama_cpp_2::token::LlamaToken;

use super::Inference;
use crate::error::{Exit, fail};

/// Random tokens from a seeded generator (fastrand), like llama-bench's `rand() % n_vocab`.
pub struct TokenSource {
    rng: fastrand::Rng,
    n_vocab: i32,
    bos: Option<LlamaToken>,
}

impl TokenSource {
    pub fn new(inf: &Inference<'_>, seed: u64) -> Self {
        let vocab = inf.model.model.vocab();
        TokenSource {
            rng: fastrand::Rng::with_seed(seed),
            n_vocab: inf.model.model.n_vocab(),
            bos: vocab
                .should_add_bos()
                .then(|| inf.model.token_in_vocab(vocab.bos()))
                .flatten(),
        }
    }

    fn next(&mut self) -> LlamaToken {
        LlamaToken(self.rng.i32(0..self.n_vocab.max(1)))
    }
}

impl Inference<'_> {
    /// Decode `n` random tokens after what is cached, in chunks of the batch size (the first
    /// token of an empty cache is BOS when the model wants one), then wait for the device.
    pub fn bench_prompt(&mut self, n: usize, tokens: &mut TokenSource) -> anyhow::Result<()> {
        let mut done = 0;
        while done < n {
            let len = (n - done).min(self.n_batch);
            self.batch.clear();
            for i in 0..len {
                let tok = match (self.kv.is_empty() && i == 0, tokens.bos) {
                    (true, Some(bos)) => bos,
                    _ => tokens.next(),
                };
                self.batch
                    .add(tok, (self.kv.len() + i) as i32, &[0], i + 1 == len)?;
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| fail(Exit::Inference, format!("llama.cpp failed to decode: {e}")))?;
            // The cache holds positions only; the token values are not needed again.
            self.kv.extend(std::iter::repeat_n(LlamaToken(0), len));
            done += len;
        }
        self.ctx.synchronize();
        Ok(())
    }

    /// Decode `n` single random tokens, synchronizing after each, as a generation loop would.
    pub fn bench_gen(&mut self, n: usize, tokens: &mut TokenSource) -> anyhow::Result<()> {
        let mut tok = match (self.kv.is_empty(), tokens.bos) {
            (true, Some(bos)) => bos,
            _ => tokens.next(),
        };
        for _ in 0..n {
            self.push(tok)?;
            self.ctx.synchronize();
            tok = tokens.next();
        }
        Ok(())
    }
}

/// One combination of llama-batched-bench: `pl` sequences of `pp` prompt tokens each, then
/// `tg` generation steps of one token per sequence.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Batched {
    pub pp: u32,
    pub tg: u32,
    pub pl: u32,
}

/// Seconds of the prompt phase and of the generation phase of one run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct BatchedTimes {
    pub t_pp: f64,
    pub t_tg: f64,
}

/// A context for batched runs: as many sequences as the widest test, each with room for its
/// prompt and generation (llama-batched-bench's defaults: no unified cache, no full-size
/// sliding-window cache).
pub fn batched_context<'m>(
    model: &'m super::LoadedModel,
    opts: &super::ContextOptions,
    tests: &[Batched],
) -> anyhow::Result<Inference<'m>> {
    let n_seq = tests.iter().map(|t| t.pl).max().unwrap_or(1);
    let per_seq = tests.iter().map(|t| t.pp + t.tg).max().unwrap_or(1);
    let n_ctx = if opts.n_ctx > 0 {
        opts.n_ctx
    } else {
        per_seq.saturating_mul(n_seq)
    };
    let ctx_opts = super::ContextOptions {
        n_ctx,
        n_seq,
        ..opts.clone()
    };
    let mut inf = Inference::new(model, &ctx_opts)?;
    inf.batch =
        llama_cpp_2::llama_batch::LlamaBatch::new(inf.n_batch.max(n_seq as usize), n_seq as i32);
    Ok(inf)
}

impl Inference<'_> {
    /// llama-batched-bench's warm-up: 16 random tokens in sequence 0, no logits.
    pub fn batched_warmup(&mut self, tokens: &mut TokenSource) -> anyhow::Result<()> {
        self.batch.clear();
        for i in 0..16 {
            self.batch.add(tokens.next(), i, &[0], false)?;
        }
        self.decode_batch()?;
        self.ctx.synchronize();
        Ok(())
    }

    /// One run of `t`, timed as llama-batched-bench times it: the cache is emptied first
    /// (untimed); the prompt phase decodes all sequences' prompts (sequence after sequence,
    /// logits for each one's last token) in batch-size pieces and waits for the device once;
    /// the generation phase decodes one token per sequence per step and waits after each.
    pub fn batched_run(
        &mut self,
        t: Batched,
        tokens: &mut TokenSource,
    ) -> anyhow::Result<BatchedTimes> {
        let (pp, tg, pl) = (t.pp as usize, t.tg as i32, t.pl as i32);
        let need = pl as usize * (pp + tg as usize);
        if need > self.n_ctx() {
            return Err(fail(
                Exit::Usage,
                format!(
                    "{pl} sequences of {pp}+{tg} tokens need a context of {need}; raise -c/--context-size (it is {})",
                    self.n_ctx()
                ),
            ));
        }
        // All sequences at once, metadata only (as llama_memory_clear(mem, false)).
        self.ctx
            .kv_cache_seq_rm(-1, None, None)
            .map_err(|e| fail(Exit::Inference, format!("cannot clear the cache: {e}")))?;
        let prompt: Vec<(LlamaToken, i32, i32, bool)> = (0..pl)
            .flat_map(|s| (0..pp).map(move |i| (s, i)))
            .map(|(s, i)| (tokens.next(), i as i32, s, i + 1 == pp))
            .collect();
        let start = std::time::Instant::now();
        for chunk in prompt.chunks(self.n_batch) {
            self.batch.clear();
            for &(tok, pos, seq, logits) in chunk {
                self.batch.add(tok, pos, &[seq], logits)?;
            }
            self.decode_batch()?;
        }
        self.ctx.synchronize();
        let t_pp = start.elapsed().as_secs_f64();
        let start = std::time::Instant::now();
        for i in 0..tg {
            self.batch.clear();
            for s in 0..pl {
                self.batch.add(tokens.next(), pp as i32 + i, &[s], true)?;
            }
            self.decode_batch()?;
            self.ctx.synchronize();
        }
        let t_tg = start.elapsed().as_secs_f64();
        Ok(BatchedTimes { t_pp, t_tg })
    }

    fn decode_batch(&mut self) -> anyhow::Result<()> {
        self.ctx
            .decode(&mut self.batch)
            .map_err(|e| fail(Exit::Inference, format!("llama.cpp failed to decode: {e}")))
    }
}
