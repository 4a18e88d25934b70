//! Turning token bytes into text that is safe to print as it streams.
//!
//! Tokens are byte sequences: a multi-byte character (an emoji, CJK) can be split across two or
//! more tokens. [`Utf8Stream`] holds the incomplete tail back until the character is whole, so it
//! is printed once and intact. [`StopFilter`] implements `--stop`: it holds back only the text
//! that could still turn out to be the start of a stop sequence and releases everything else
//! at once.

use encoding_rs::{Decoder, UTF_8};

/// A streaming UTF-8 decoder (encoding_rs) over token pieces.
pub struct Utf8Stream {
    decoder: Decoder,
}

impl Default for Utf8Stream {
    fn default() -> Self {
        Utf8Stream {
            decoder: UTF_8.new_decoder_without_bom_handling(),
        }
    }
}

impl Utf8Stream {
    /// The complete characters now available; an incomplete trailing sequence waits for the
    /// next piece.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.decode(bytes, false)
    }

    /// Whatever is left at the end: an incomplete sequence becomes U+FFFD, as it is not text.
    pub fn finish(&mut self) -> String {
        self.decode(&[], true)
    }

    fn decode(&mut self, bytes: &[u8], last: bool) -> String {
        let cap = self
            .decoder
            .max_utf8_buffer_length(bytes.len())
            .unwrap_or(bytes.len() * 3 + 16);
        let mut out = String::with_capacity(cap);
        let (_, _, _) = self.decoder.decode_to_string(bytes, &mut out, last);
        out
    }
}

/// Holds back text that may be the beginning of a stop sequence.
#[derive(Debug, Default)]
pub struct StopFilter {
    stops: Vec<String>,
    pending: String,
}

/// What [`StopFilter::push`] decided.
#[derive(Debug, PartialEq, Eq)]
pub struct Filtered {
    /// Text that can be printed now.
    pub text: String,
    /// A stop sequence was found: `text` ends right before it; generation must stop.
    pub stopped: bool,
}

impl StopFilter {
    pub fn new(stops: Vec<String>) -> Self {
        StopFilter {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            pending: String::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> Filtered {
        if self.stops.is_empty() {
            return Filtered {
                text: text.to_string(),
                stopped: false,
            };
        }
        self.pending.push_str(text);
        // The earliest stop sequence wins; text before it is released, the rest discarded.
        if let Some(at) = self
            .stops
            .iter()
            .filter_map(|s| self.pending.find(s.as_str()))
            .min()
        {
            let text = self.pending[..at].to_string();
            self.pending.clear();
            return Filtered {
                text,
                stopped: true,
            };
        }
        // Keep the longest suffix that is a proper prefix of some stop sequence.
        let hold = self
            .stops
            .iter()
            .map(|s| longest_suffix_prefix(&self.pending, s))
            .max()
            .unwrap_or(0);
        let release = self.pending.len() - hold;
        let text = self.pending[..release].to_string();
        self.pending.drain(..release);
        Filtered {
            text,
            stopped: false,
        }
    }

    /// At the end of generation the held-back text was not a stop sequence after all.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.pending)
    }
}

/// Length of the longest suffix of `text` that is a proper prefix of `stop`, on char boundaries.
fn longest_suffix_prefix(text: &str, stop: &str) -> usize {
    let max = text.len().min(stop.len().saturating_sub(1));
    (1..=max)
        .rev()
        .find(|&n| {
            let start = text.len() - n;
            text.is_char_boundary(start) && stop.as_bytes().starts_with(&text.as_bytes()[start..])
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_character_split_across_pieces_is_printed_whole() {
        let mut s = Utf8Stream::default();
        let crab = "🦀".as_bytes();
        assert_eq!(s.push(b"a"), "a");
        assert_eq!(s.push(&crab[..1]), "");
        assert_eq!(s.push(&crab[1..3]), "");
        assert_eq!(s.push(&[crab[3], b'b']), "🦀b");
        assert_eq!(s.finish(), "");
    }

    #[test]
    fn incomplete_tail_at_end_is_replacement_char() {
        let mut s = Utf8Stream::default();
        assert_eq!(s.push(&"é".as_bytes()[..1]), "");
        assert_eq!(s.finish(), "\u{FFFD}");
    }

    /// Feed pieces, collect output; returns (printed, stopped).
    fn run(stops: &[&str], pieces: &[&str]) -> (Vec<String>, bool) {
        let mut f = StopFilter::new(stops.iter().map(|s| s.to_string()).collect());
        let mut out = Vec::new();
        for p in pieces {
            let r = f.push(p);
            out.push(r.text);
            if r.stopped {
                return (out, true);
            }
        }
        out.push(f.finish());
        (out, false)
    }

    #[test]
    fn stop_across_token_boundaries() {
        let (out, stopped) = run(&["END"], &["hello E", "N", "D more"]);
        assert!(stopped);
        assert_eq!(out.concat(), "hello ");
        // "hello " is released as soon as it can no longer be part of "END".
        assert_eq!(out[0], "hello ");
    }

    #[test]
    fn text_that_is_not_a_stop_is_not_delayed() {
        let (out, stopped) = run(&["\n\n"], &["a", "b\n", "c"]);
        assert!(!stopped);
        assert_eq!(out, vec!["a", "b", "\nc", ""]);
    }

    #[test]
    fn false_start_is_released_at_the_end() {
        let (out, stopped) = run(&["ENDING"], &["x END"]);
        assert!(!stopped);
        assert_eq!(out.concat(), "x END");
        assert_eq!(out[0], "x ");
    }

    #[test]
    fn earliest_of_several_stops_wins() {
        let (out, stopped) = run(&["bc", "ab"], &["xabc"]);
        assert!(stopped);
        assert_eq!(out.concat(), "x");
    }

    #[test]
    fn multibyte_stop_sequences() {
        let (out, stopped) = run(&["é!"], &["caf", "é", "!"]);
        assert!(stopped);
        assert_eq!(out.concat(), "caf");
    }

    #[test]
    fn no_stops_passes_everything() {
        let (out, stopped) = run(&[], &["a", "b"]);
        assert!(!stopped);
        assert_eq!(out.concat(), "ab");
    }
}
