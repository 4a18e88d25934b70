//! Prompt lookup: proposals for free from the text so far. When the last few tokens appeared
//! before (the answer is copying from its input: code being edited, a quoted passage, JSON),
//! the tokens that followed them then are proposed now. The longest matching n-gram wins, and
//! among its occurrences the most recent.

use std::collections::HashMap;

use llama_cpp_2::token::LlamaToken;

pub struct Lookup {
    /// Longest and shortest n-gram to match.
    max_n: usize,
    min_n: usize,
    /// For each n, n-gram → the position right after its most recent occurrence.
    index: Vec<HashMap<Vec<i32>, usize>>,
    /// Tokens indexed so far.
    seen: usize,
}

impl Lookup {
    pub fn new(max_n: usize) -> Lookup {
        let max_n = max_n.max(1);
        Lookup {
            max_n,
            // Pairs of tokens repeat all the time in prose (", and", "of the") and what
            // followed them once rarely follows again; from three on a repeat means copying.
            min_n: max_n.min(3),
            index: vec![HashMap::new(); max_n + 1],
            seen: 0,
        }
    }

    /// Index what `history` added since the last call (the text only ever grows at the end,
    /// or is cut back: then it is indexed again from the cut).
    fn update(&mut self, history: &[LlamaToken]) {
        if history.len() < self.seen {
            self.index.iter_mut().for_each(HashMap::clear);
            self.seen = 0;
        }
        // An n-gram ending at i - 1 is followed by position i; the last one has no follower
        // yet, so it is indexed when the next token arrives.
        for end in self.seen.max(1)..history.len() {
            for n in self.min_n..=self.max_n {
                if end >= n {
                    let key: Vec<i32> = history[end - n..end].iter().map(|t| t.0).collect();
                    self.index[n].insert(key, end);
                }
            }
        }
        self.seen = history.len();
    }

    /// Up to `k` tokens that followed the longest earlier occurrence of the text's last
    /// n-gram.
    pub fn propose(&mut self, history: &[LlamaToken], k: usize) -> Vec<LlamaToken> {
        // The newest n-grams point to themselves: index all but the last token's.
        let upto = history.len().saturating_sub(1);
        self.update(&history[..upto]);
        for n in (self.min_n..=self.max_n).rev() {
            if history.len() < n {
                continue;
            }
            let key: Vec<i32> = history[history.len() - n..].iter().map(|t| t.0).collect();
            if let Some(&at) = self.index[n].get(&key) {
                let end = (at + k).min(history.len());
                if at < end {
                    return history[at..end].to_vec();
                }
            }
        }
        Vec::new()
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
        let mut l = Lookup::new(3);
        // "1 2 3 4 5 ... 1 2 3" → propose "4 5".
        let h = toks(&[1, 2, 3, 4, 5, 9, 9, 1, 2, 3]);
        assert_eq!(l.propose(&h, 2), toks(&[4, 5]));
        // Nothing repeats, or only a pair: nothing proposed.
        assert!(Lookup::new(3).propose(&toks(&[1, 2, 3, 4]), 4).is_empty());
        assert!(
            Lookup::new(3)
                .propose(&toks(&[1, 2, 3, 9, 2, 3]), 4)
                .is_empty()
        );
        // The most recent occurrence wins, and the text may be cut back.
        let mut l = Lookup::new(2);
        let h = toks(&[7, 8, 1, 7, 8, 2, 7, 8]);
        assert_eq!(l.propose(&h, 1), toks(&[2]));
        assert_eq!(l.propose(&h[..5], 1), toks(&[1]));
    }
}
