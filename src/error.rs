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
    /// Stopped by Ctrl-C (SIGINT).
    Interrupted,
    /// Stopped by SIGTERM.
    Terminated,
}

impl Exit {
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
