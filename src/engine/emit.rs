//! Generated tokens to printable text: UTF-8 reassembly, stop sequences, the time to the first
//! token, and the end-of-generation check, shared by the plain loop and speculative decoding
//! (which emits several tokens per step).

use std::time::Instant;

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use super::request::{GenerateRequest, StopReason};
use super::text::{StopFilter, Utf8Stream};

pub struct TextOut<'a, F: FnMut(String) -> bool> {
    model: &'a LlamaModel,
    utf8: Utf8Stream,
    stops: StopFilter,
    pub tokens: Vec<LlamaToken>,
    pub ttft_ms: Option<f64>,
    started: Instant,
    emit: F,
}

impl<'a, F: FnMut(String) -> bool> TextOut<'a, F> {
    /// `started` is when the request began (for the time to the first token); `emit` receives
    /// printable text and returns false when nobody wants more.
    pub fn new(model: &'a LlamaModel, req: &GenerateRequest, started: Instant, emit: F) -> Self {
        TextOut {
            model,
            utf8: Utf8Stream::default(),
            stops: StopFilter::new(req.stop.clone()),
            tokens: Vec::new(),
            ttft_ms: None,
            started,
            emit,
        }
    }

    /// Take one generated token; `Some` when generation must end with it.
    pub fn token(&mut self, token: LlamaToken) -> Option<StopReason> {
        let vocab = self.model.vocab();
        if vocab.is_eog(token) {
            return Some(StopReason::Eog);
        }
        self.tokens.push(token);
        let piece = vocab.token_to_piece(token, false, None);
        let filtered = self.stops.push(&self.utf8.push(&piece));
        if self.ttft_ms.is_none() {
            self.ttft_ms = Some(self.started.elapsed().as_secs_f64() * 1e3);
        }
        if !filtered.text.is_empty() && !(self.emit)(filtered.text) {
            return Some(StopReason::Interrupted);
        }
        filtered.stopped.then_some(StopReason::StopSequence)
    }

    /// Flush what was held back (an incomplete character, a possible stop-sequence start),
    /// unless generation ended at a stop sequence.
    pub fn finish(&mut self, reason: StopReason) {
        if reason == StopReason::StopSequence {
            return;
        }
        let rest = self.utf8.finish();
        let tail = self.stops.push(&rest);
        let mut last = tail.text;
        if !tail.stopped {
            last.push_str(&self.stops.finish());
        }
        if !last.is_empty() {
            (self.emit)(last);
        }
    }
}
