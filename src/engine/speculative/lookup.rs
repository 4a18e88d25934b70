//! Prompt lookup: proposals for free from the text so far. When the last few tokens appeared
//! before (the answer is copying from its input: code being edited, a quoted passage, JSON),
//! the tokens that followed them then are proposed now.
//!
//! The method is llama.cpp's n-gram cache (`common/ngram-cache.cpp`, what `llama-lookup`
//! uses), which measured better here than taking the latest occurrence of the longest match:
//! every n-gram of 1 to `max_n` tokens counts the tokens that followed it; a proposal is built
//! token by token, each from the longest n-gram whose most frequent follower is frequent
//! enough (short n-grams need more evidence: a single token is followed by anything in
//! prose), and drafting stops at the first position nothing is sure of.

use std::collections::HashMap;

use llama_cpp_2::token::LlamaToken;

/// Fewest observations, and least share (percent) of them for the most frequent follower,
/// before an n-gram of 1, 2, 3, 4+ tokens proposes (llama.cpp's "lax" thresholds).
const MIN_SAMPLES: [u32; 4] = [2, 2, 1, 1];
const MIN_PERCENT: [u32; 4] = [66, 50, 50, 50];

/// An n-gram as a fixed array, zero-padded, with its length (so padding cannot collide with
/// a token 0): no allocation per lookup.
type Key = (u8, [i32; 8]);

pub struct Lookup {
    /// Longest n-gram to match (1 ..= 8).
    max_n: usize,
    /// n-gram → follower → times seen.
    counts: HashMap<Key, HashMap<i32, u32>>,
    /// Tokens counted so far.
    seen: usize,
}

fn key(tokens: &[LlamaToken]) -> Key {
    let mut k = [0i32; 8];
    for (slot, t) in k.iter_mut().zip(tokens) {
        *slot = t.0;
    }
    (tokens.len() as u8, k)
}

impl Lookup {
    pub fn new(max_n: usize) -> Lookup {
        Lookup {
            max_n: max_n.clamp(1, 8),
            counts: HashMap::new(),
            seen: 0,
        }
    }

    /// Count what `history` added since the last call (the text only ever grows at the end,
    /// or is cut back: then it is counted again from the start).
    fn update(&mut self, history: &[LlamaToken]) {
        if history.len() < self.seen {
            self.counts.clear();
            self.seen = 0;
        }
        // The token at `next` follows the n-grams ending just before it.
        for next in self.seen.max(1)..history.len() {
            for n in 1..=self.max_n.min(next) {
                let follower = history[next].0;
                *self
                    .counts
                    .entry(key(&history[next - n..next]))
                    .or_default()
                    .entry(follower)
                    .or_default() += 1;
            }
        }
        self.seen = history.len();
    }

    /// The follower of the longest n-gram ending `text` that is sure enough, if any.
    fn next_token(&self, text: &[LlamaToken]) -> Option<LlamaToken> {
        for n in (1..=self.max_n.min(text.len())).rev() {
            let Some(followers) = self.counts.get(&key(&text[text.len() - n..])) else {
                continue;
            };
            let sum: u32 = followers.values().sum();
            let (&best, &count) = followers
                .iter()
                .max_by_key(|&(&t, &c)| (c, std::cmp::Reverse(t)))
                .expect("an n-gram is counted with a follower");
            let i = (n - 1).min(3);
            if sum >= MIN_SAMPLES[i] && 100 * count >= MIN_PERCENT[i] * sum {
                return Some(LlamaToken(best));
            }
        }
        None
    }

    /// Up to `k` tokens likely to follow `history`, from the n-grams seen in it.
    pub fn propose(&mut self, history: &[LlamaToken], k: usize) -> Vec<LlamaToken> {
        self.update(history);
        let mut text = history[history.len().saturating_sub(self.max_n)..].to_vec();
        let mut out = Vec::new();
        while out.len() < k {
            let Some(t) = self.next_token(&text) else {
                break;
            };
            out.push(t);
            text.push(t);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(v: &[i32]) -> Vec<LlamaToken> {
        v.iter().map(|&t| LlamaToken(t)).collect()
    }

    #[test]
    fn proposes_what_followed_the_last_ngram() {
        // "1 2 3 4 5 ... 1 2 3" → "4 5", and on along what followed.
        let h = toks(&[1, 2, 3, 4, 5, 9, 8, 1, 2, 3]);
        assert_eq!(Lookup::new(3).propose(&h, 2), toks(&[4, 5]));
        assert_eq!(Lookup::new(3).propose(&h, 4), toks(&[4, 5, 9, 8]));
        // Nothing repeats: nothing proposed.
        assert!(Lookup::new(3).propose(&toks(&[1, 2, 3, 4]), 4).is_empty());
    }

    #[test]
    fn one_token_needs_more_evidence_than_a_longer_match() {
        // "3" was followed once by 4: too little for a single token.
        assert!(Lookup::new(3).propose(&toks(&[3, 4, 9, 3]), 2).is_empty());
        // Twice by 4: proposed.
        assert_eq!(
            Lookup::new(3).propose(&toks(&[3, 4, 9, 3, 4, 8, 3]), 1),
            toks(&[4])
        );
        // Followed by 4, 5 and 6 once each: no follower has two thirds.
        assert!(
            Lookup::new(3)
                .propose(&toks(&[3, 4, 3, 5, 3, 6, 3]), 1)
                .is_empty()
        );
    }

    #[test]
    fn the_text_may_be_cut_back() {
        let mut l = Lookup::new(2);
        let h = toks(&[7, 8, 1, 7, 8, 2, 7, 8]);
        // "7 8" was followed by 1 and by 2: half each is enough for two tokens, and of equal
        // counts the lower token id wins, as a fixed rule.
        assert_eq!(l.propose(&h, 1), toks(&[1]));
        // Cut back to "7 8 1 7": "7" was followed by 8 once (too little for one token), and
        // the counts of the text that was cut are gone.
        assert!(l.propose(&h[..4], 1).is_empty());
        // Grown again: counted again.
        assert_eq!(l.propose(&h, 1), toks(&[1]));
    }
}
