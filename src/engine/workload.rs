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
