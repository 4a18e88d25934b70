//! Writing results to stdout and messages to stderr.
//!
//! stdout carries only results (generated text, JSON, tables) so pipelines get clean data;
//! everything else goes to stderr. When the reader of stdout goes away (`| head`), writes fail
//! with a broken pipe: that is a normal end, reported as [`Written::Closed`] so the caller stops
//! quietly and exits 0. Rust ignores SIGPIPE, so this is an error value, never a signal.

use std::io::{self, IsTerminal, Write};

use crate::error::{Exit, fail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Ok,
    /// The reader closed stdout.
    Closed,
}

/// Write `text` to stdout and flush it, so streamed text appears as it is produced.
pub fn stdout(text: &str) -> anyhow::Result<Written> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(Written::Ok),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Written::Closed),
        Err(e) => Err(fail(Exit::Output, format!("cannot write to stdout: {e}"))),
    }
}

/// A message for the user on stderr, prefixed with the program name.
pub fn message(text: &str) {
    let _ = writeln!(io::stderr().lock(), "inferno: {text}");
}

/// Whether stderr is a terminal that may receive escape codes (colors, progress bars).
pub fn stderr_is_styled() -> bool {
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
