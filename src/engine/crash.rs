//! What slips past the model checks must still not be a crash: llama.cpp's aborts and the
//! signals of a fault inside it become one line on stderr and a distinct exit code, with
//! stdout left as it was (the text stream scripts read) and no core dump.
//!
//! - `GGML_ASSERT`/`GGML_ABORT`: ggml calls our abort callback instead of printing its own
//!   message and attaching gdb for a backtrace (whose output went to stdout). The callback
//!   writes "llama.cpp rejected this model: ..." and ends the process with exit 5.
//! - SIGSEGV, SIGBUS, SIGFPE, SIGILL (a null kernel pointer, a division by zero, a CPU
//!   without an instruction the build uses) and SIGABRT (a C++ exception that crossed into
//!   Rust, an abort outside ggml's checks): an async-signal-safe handler writes a fixed line
//!   and exits with 9 (5 for SIGABRT).
//!
//! Both end the process with `_exit`: another thread may be inside llama.cpp, and nothing of
//! ours needs flushing (stdout is written through and flushed piece by piece).
//! `GGML_NO_BACKTRACE` (set by `main` before any thread starts) keeps ggml's terminate hook
//! from running gdb too.

use std::ffi::{CStr, c_char, c_int};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Exit;

/// Install the abort callback and the signal handlers (once, before llama.cpp runs).
pub fn install() {
    // SAFETY: a plain function valid for the whole process.
    unsafe { llama_cpp_sys_2::ggml_set_abort_callback(Some(on_abort)) };
    for sig in [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGILL,
        libc::SIGABRT,
    ] {
        // SAFETY: the handler only calls async-signal-safe functions (write, _exit).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            action.sa_flags = libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// ggml's abort callback: called with "file:line: message" on a failed check, instead of
/// ggml's own report; `abort()` would follow if it returned.
unsafe extern "C" fn on_abort(message: *const c_char) {
    first_only();
    let text = if message.is_null() {
        "an internal check failed".into()
    } else {
        // SAFETY: ggml passes a NUL-terminated buffer valid during the call.
        unsafe { CStr::from_ptr(message) }.to_string_lossy()
    };
    // "/home/.../llama.cpp/src/llama-model.cpp:1330: GGML_ASSERT(...)": from llama.cpp's tree on.
    let text = text.trim();
    let text = text
        .find("llama.cpp/")
        .map_or(text, |i| &text[i + "llama.cpp/".len()..]);
    if text.contains("RPC") {
        // A worker that went away (or answered garbage) mid-run: not the model's fault.
        let workers = super::rpc::endpoints().join(", ");
        let line = format!(
            "inferno: lost the RPC worker ({workers}): {text}; check that `inferno rpc-worker` is still running there\n"
        );
        write_stderr(line.as_bytes());
        Exit::Remote.exit_now();
    }
    let line = format!(
        "inferno: llama.cpp rejected this model: {text} (the file is damaged or not supported by this llama.cpp)\n"
    );
    write_stderr(line.as_bytes());
    Exit::ModelLoad.exit_now();
}

extern "C" fn on_signal(sig: c_int) {
    first_only();
    let (line, exit): (&[u8], Exit) = match sig {
        libc::SIGSEGV => (
            b"inferno: llama.cpp crashed (SIGSEGV, invalid memory access); the model file is probably damaged or uses something this build cannot run\n",
            Exit::Crashed,
        ),
        libc::SIGBUS => (
            b"inferno: llama.cpp crashed (SIGBUS, bad memory access; was the model file changed or truncated while in use?)\n",
            Exit::Crashed,
        ),
        libc::SIGFPE => (
            b"inferno: llama.cpp crashed (SIGFPE, arithmetic error such as a division by zero); the model's hyperparameters are probably damaged\n",
            Exit::Crashed,
        ),
        libc::SIGILL => (
            b"inferno: crashed on an illegal instruction (SIGILL): this binary or a backend plugin was built for a different CPU\n",
            Exit::Crashed,
        ),
        _ => (
            b"inferno: llama.cpp aborted (SIGABRT); the model file is probably damaged or not supported\n",
            Exit::ModelLoad,
        ),
    };
    write_stderr(line);
    exit.exit_now();
}

/// Several threads may fail at once (llama.cpp computes on a thread pool): the first reports
/// and ends the process; the others wait for that (returning from a fault would only repeat it).
fn first_only() {
    static REPORTING: AtomicBool = AtomicBool::new(false);
    if REPORTING.swap(true, Ordering::SeqCst) {
        loop {
            // SAFETY: pause is async-signal-safe; the reporting thread's _exit ends us.
            unsafe { libc::pause() };
        }
    }
}

/// `write(2)` until done: async-signal-safe, and independent of Rust's stderr lock (another
/// thread may hold it when llama.cpp fails).
fn write_stderr(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writes from a valid buffer to fd 2.
        let n = unsafe { libc::write(2, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}
