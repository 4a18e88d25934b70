//! Errors that end the process, each with a distinct exit code.
//!
//! Every failure a user can cause is turned into a [`Failure`] carrying one [`Exit`] kind and a
//! one-line message that names the file or flag and says what to do. `main` prints the message
//! (never a backtrace) and exits with the kind's code, so scripts can tell causes apart. The
//! codes are documented in README.md; a test checks that every code listed there exists here.

use std::fmt;

/// Why the process ended, and the exit code it ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Something inferno did not expect (a bug or an OS failure not covered below).
    Internal,
    /// A flag or argument is wrong (clap's own usage errors use this code too).
    Usage,
    /// A configuration file or `INFERNO_*` variable is invalid or unreadable.
    Config,
    /// The model file is missing, unreadable, not GGUF, or malformed.
    ModelFile,
    /// llama.cpp refused to load a file that looked valid (unknown architecture, ...).
    ModelLoad,
    /// The prompt is empty, unreadable, or does not fit the context.
    Prompt,
    /// Inference failed: context creation (memory), decoding.
    Inference,
    /// Writing the output failed for a reason other than the reader going away.
    Output,
    /// llama.cpp crashed (a fault signal inside it): the model is damaged or the build cannot
    /// run on this CPU.
    Crashed,
    /// An RPC worker could not be reached, refused the protocol, or went away mid-run.
    Remote,
    /// Stopped by Ctrl-C (SIGINT).
    Interrupted,
    /// Stopped by SIGTERM.
    Terminated,
}

impl Exit {
    /// Every kind, in code order (README.md's table lists exactly these; a test checks it).
    pub const ALL: [Exit; 12] = [
        Exit::Internal,
        Exit::Usage,
        Exit::Config,
        Exit::ModelFile,
        Exit::ModelLoad,
        Exit::Prompt,
        Exit::Inference,
        Exit::Output,
        Exit::Crashed,
        Exit::Remote,
        Exit::Interrupted,
        Exit::Terminated,
    ];

    /// End the process now with this code, without `exit`'s atexit handlers and C++ static
    /// destructors: another thread may be inside llama.cpp, and destroying its globals under
    /// it can crash or hang. The caller flushes what of ours matters first.
    pub fn exit_now(self) -> ! {
        // SAFETY: `_exit` only ends the process; it touches no Rust or C++ state.
        unsafe { libc::_exit(self.code()) }
    }

    pub fn code(self) -> i32 {
        match self {
            Exit::Internal => 1,
            Exit::Usage => 2,
            Exit::Config => 3,
            Exit::ModelFile => 4,
            Exit::ModelLoad => 5,
            Exit::Prompt => 6,
            Exit::Inference => 7,
            Exit::Output => 8,
            Exit::Crashed => 9,
            Exit::Remote => 10,
            Exit::Interrupted => 130,
            Exit::Terminated => 143,
        }
    }
}

/// A user-facing failure: what went wrong, in one line, and how the process exits.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Shorthand constructors, so call sites read `fail(Exit::Prompt, "...")`.
pub fn fail(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    Failure::new(exit, message).into()
}

/// The exit kind of an error chain: the first [`Failure`] in it, else `Internal`.
pub fn exit_of(err: &anyhow::Error) -> Exit {
    err.chain()
        .find_map(|e| e.downcast_ref::<Failure>())
        .map_or(Exit::Internal, |f| f.exit)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ALL` holds every variant once: the match below stops compiling when a variant is
    /// added, and its index must then be added to `ALL` for the assertion to hold.
    #[test]
    fn all_lists_every_kind_once() {
        let index = |e: Exit| match e {
            Exit::Internal => 0,
            Exit::Usage => 1,
            Exit::Config => 2,
            Exit::ModelFile => 3,
            Exit::ModelLoad => 4,
            Exit::Prompt => 5,
            Exit::Inference => 6,
            Exit::Output => 7,
            Exit::Crashed => 8,
            Exit::Remote => 9,
            Exit::Interrupted => 10,
            Exit::Terminated => 11,
        };
        for (i, e) in Exit::ALL.iter().enumerate() {
            assert_eq!(index(*e), i);
        }
        let mut codes: Vec<i32> = Exit::ALL.iter().map(|e| e.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), Exit::ALL.len(), "distinct codes");
    }
}
