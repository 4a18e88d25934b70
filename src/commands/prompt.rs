//! Reading the prompt of `inferno run` from `-p`, `-f` or stdin.
//!
//! The read happens on a blocking thread and races the interrupt: stdin may be a pipe whose
//! writer takes its time (`sleep 20 | inferno run -p -`) and `-f` may name a FIFO that blocks
//! until someone opens it. The runtime thread stays free, so Ctrl-C ends the process at once
//! with 130 (SIGTERM: 143); the reading thread is left behind (it holds nothing of ours).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Exit, fail};
use crate::signals::Interrupts;

/// Where the prompt comes from.
#[derive(Debug, Clone)]
pub enum Source {
    Text(String),
    Stdin,
    File(PathBuf),
}

impl Source {
    /// `-p TEXT` (`-p -` is stdin), else `-f FILE`, else stdin.
    pub fn from_flags(prompt: Option<&str>, file: Option<&Path>) -> Source {
        match (prompt, file) {
            (Some("-"), _) => Source::Stdin,
            (Some(p), _) => Source::Text(p.to_string()),
            (None, Some(f)) => Source::File(f.to_path_buf()),
            (None, None) => Source::Stdin,
        }
    }
}

/// The prompt, with one trailing newline removed from files and stdin; or the interrupt's
/// exit if a signal arrives first.
pub async fn read(source: Source, interrupts: &Interrupts) -> anyhow::Result<String> {
    let text = match source {
        Source::Text(t) => t,
        source => {
            let read = tokio::task::spawn_blocking(move || match source {
                Source::File(f) => read_file(&f).map(chomp),
                _ => read_stdin().map(chomp),
            });
            tokio::select! {
                biased;
                () = interrupts.wait() => {
                    return Err(fail(interrupts.exit().unwrap_or(Exit::Interrupted), ""));
                }
                text = read => text.map_err(|e| fail(Exit::Internal, format!("prompt reader failed: {e}")))??,
            }
        }
    };
    if text.trim().is_empty() {
        return Err(fail(
            Exit::Prompt,
            "the prompt is empty (or only whitespace); give some text with -p, -f or stdin",
        ));
    }
    Ok(text)
}

fn read_stdin() -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| {
            fail(
                Exit::Prompt,
                format!("cannot read the prompt from stdin: {e}"),
            )
        })?;
    String::from_utf8(bytes).map_err(|e| {
        fail(
            Exit::Prompt,
            format!(
                "the prompt on stdin is not valid UTF-8 (bad byte at offset {}); convert it first, e.g. with iconv",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn read_file(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).map_err(|e| {
        fail(
            Exit::Prompt,
            format!("cannot read prompt file {} (-f): {e}", path.display()),
        )
    })?;
    String::from_utf8(bytes).map_err(|e| {
        fail(
            Exit::Prompt,
            format!(
                "prompt file {} is not valid UTF-8 (bad byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Remove one trailing newline (`\n` or `\r\n`), as a shell's `$(...)` would.
fn chomp(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chomp_removes_one_newline() {
        assert_eq!(chomp("a\n\n".into()), "a\n");
        assert_eq!(chomp("a\r\n".into()), "a");
        assert_eq!(chomp("a".into()), "a");
    }
}
