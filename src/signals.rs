//! Ctrl-C and SIGTERM.
//!
//! The first signal asks the running work to stop (a shared flag the engine checks between
//! tokens and between prompt chunks, and the load progress callback checks), so what was
//! produced is flushed and the process exits with 130 (SIGINT) or 143 (SIGTERM). A second
//! signal exits at once. (At the interactive prompt the terminal is in raw mode and Ctrl-C is a
//! key that the line editor reports, not a signal.)

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::error::Exit;

const NONE: u8 = 0;
const INT: u8 = 1;
const TERM: u8 = 2;

#[derive(Clone)]
pub struct Interrupts {
    cancel: Arc<AtomicBool>,
    kind: Arc<AtomicU8>,
    notify: Arc<tokio::sync::Notify>,
}

impl Interrupts {
    /// Start listening. Must be called inside the tokio runtime.
    pub fn install() -> Interrupts {
        let me = Interrupts {
            cancel: Arc::new(AtomicBool::new(false)),
            kind: Arc::new(AtomicU8::new(NONE)),
            notify: Arc::new(tokio::sync::Notify::new()),
        };
        let listener = me.clone();
        tokio::spawn(async move { listener.listen().await });
        me
    }

    async fn listen(self) {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        loop {
            #[cfg(unix)]
            let kind = tokio::select! {
                r = tokio::signal::ctrl_c() => { if r.is_err() { return; } INT }
                Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => TERM,
            };
            #[cfg(not(unix))]
            let kind = match tokio::signal::ctrl_c().await {
                Ok(()) => INT,
                Err(_) => return,
            };
            let second = self.cancel.swap(true, Ordering::SeqCst);
            self.kind.store(kind, Ordering::SeqCst);
            if second {
                let _ = std::io::stdout().flush();
                // A newline so the shell prompt starts on a fresh line after ^C.
                eprintln!();
                std::process::exit(exit_for(kind).code());
            }
            self.notify.notify_waiters();
        }
    }

    /// The flag the engine polls.
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    pub fn is_set(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// How to exit if a signal arrived.
    pub fn exit(&self) -> Option<Exit> {
        match self.kind.load(Ordering::SeqCst) {
            NONE => None,
            k => Some(exit_for(k)),
        }
    }

    /// Forget a handled Ctrl-C (interactive chat: a stopped reply returns to the prompt).
    pub fn reset(&self) {
        self.kind.store(NONE, Ordering::SeqCst);
        self.cancel.store(false, Ordering::SeqCst);
    }
}

fn exit_for(kind: u8) -> Exit {
    if kind == TERM {
        Exit::Terminated
    } else {
        Exit::Interrupted
    }
}
