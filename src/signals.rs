//! Ctrl-C and SIGTERM.
//!
//! The first signal asks the running work to stop (a shared flag the engine checks between
//! tokens and between prompt chunks, and the load progress callback checks; async code can
//! also [`Interrupts::wait`] for it), so what was produced is flushed and the process exits
//! with 130 (SIGINT) or 143 (SIGTERM). A second signal exits at once, with `_exit`: llama.cpp
//! may still be running on another thread, and `exit` would run C++ static destructors under
//! it. (At the interactive prompt the terminal is in raw mode and Ctrl-C is a key that the
//! line editor reports, not a signal.)

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
    /// Start listening. Must be called inside the tokio runtime. The handlers are registered
    /// here, synchronously, so a signal that arrives before the first `.await` is not lost
    /// (or fatal).
    pub fn install() -> Interrupts {
        let me = Interrupts {
            cancel: Arc::new(AtomicBool::new(false)),
            kind: Arc::new(AtomicU8::new(NONE)),
            notify: Arc::new(tokio::sync::Notify::new()),
        };
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let int = signal(SignalKind::interrupt()).ok();
            let term = signal(SignalKind::terminate()).ok();
            tokio::spawn(me.clone().listen(int, term));
        }
        #[cfg(not(unix))]
        tokio::spawn(me.clone().listen_ctrl_c());
        me
    }

    #[cfg(unix)]
    async fn listen(
        self,
        mut int: Option<tokio::signal::unix::Signal>,
        mut term: Option<tokio::signal::unix::Signal>,
    ) {
        async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    if s.recv().await.is_none() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        }
        loop {
            let kind = tokio::select! {
                () = next(&mut int) => INT,
                () = next(&mut term) => TERM,
            };
            self.received(kind);
        }
    }

    #[cfg(not(unix))]
    async fn listen_ctrl_c(self) {
        while tokio::signal::ctrl_c().await.is_ok() {
            self.received(INT);
        }
    }

    fn received(&self, kind: u8) {
        let second = self.cancel.swap(true, Ordering::SeqCst);
        self.kind.store(kind, Ordering::SeqCst);
        if second {
            let _ = std::io::stdout().flush();
            // A newline so the shell prompt starts on a fresh line after ^C.
            let _ = std::io::stderr().write_all(b"\n");
            exit_for(kind).exit_now();
        }
        self.notify.notify_waiters();
    }

    /// Resolves when a signal has arrived (at once if one already has).
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
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
