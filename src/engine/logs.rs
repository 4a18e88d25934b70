//! llama.cpp's log output: routed into `tracing` (target `llama_cpp`) and captured for the facts
//! llama.cpp only reports in its log.
//!
//! llama.cpp writes about 1,500 lines per model load straight to stderr unless a callback is
//! installed. Ours forwards complete lines to tracing, where the default filter drops them
//! (`-v` or `RUST_LOG` shows them), and, while a [`Capture`] is alive, keeps them so the loader
//! can read buffer sizes and offloaded layers, which llama.cpp does not return as data.

use std::ffi::{CStr, c_char, c_void};
use std::sync::Mutex;

use llama_cpp_sys_2 as sys;

/// Lines kept while a capture is active; `None` when nobody is capturing.
static CAPTURED: Mutex<Option<Vec<String>>> = Mutex::new(None);
/// A line llama.cpp has started but not finished (it logs some lines in pieces).
static PARTIAL: Mutex<(i32, String)> = Mutex::new((0, String::new()));

/// Install the callback for llama.cpp and ggml. Call once, before the backend is initialized.
pub fn install() {
    // SAFETY: the callback is a plain function valid for the whole process; no user data.
    unsafe { sys::llama_log_set(Some(callback), std::ptr::null_mut()) };
}

unsafe extern "C" fn callback(level: sys::ggml_log_level, text: *const c_char, _: *mut c_void) {
    if text.is_null() {
        return;
    }
    // SAFETY: llama.cpp passes a NUL-terminated string valid for the duration of the call.
    let text = unsafe { CStr::from_ptr(text) }.to_string_lossy();
    let mut partial = PARTIAL.lock().unwrap_or_else(|e| e.into_inner());
    if level != sys::GGML_LOG_LEVEL_CONT {
        partial.0 = level as i32;
    }
    partial.1.push_str(&text);
    while let Some(end) = partial.1.find('\n') {
        let line: String = partial.1.drain(..=end).collect();
        emit(partial.0, line.trim_end());
    }
}

fn emit(level: i32, line: &str) {
    if line.is_empty() {
        return;
    }
    if let Some(lines) = CAPTURED.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        lines.push(line.to_string());
    }
    match level as sys::ggml_log_level {
        sys::GGML_LOG_LEVEL_ERROR => tracing::error!(target: "llama_cpp", "{line}"),
        sys::GGML_LOG_LEVEL_WARN => tracing::warn!(target: "llama_cpp", "{line}"),
        sys::GGML_LOG_LEVEL_INFO => tracing::info!(target: "llama_cpp", "{line}"),
        _ => tracing::debug!(target: "llama_cpp", "{line}"),
    }
}

/// Keeps every llama.cpp log line from creation until [`Capture::finish`]. One at a time: the
/// CLI loads one model and creates one context at a time.
pub struct Capture(());

impl Capture {
    pub fn start() -> Capture {
        *CAPTURED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Vec::new());
        Capture(())
    }

    pub fn finish(self) -> Vec<String> {
        CAPTURED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_default()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Ok(mut c) = CAPTURED.lock() {
            c.take();
        }
    }
}

/// What kind of memory a buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BufferKind {
    Model,
    Kv,
    Compute,
}

/// One buffer llama.cpp allocated, as it reported it (MiB with two decimals, so exact to 10 KiB).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Buffer {
    /// The ggml buffer name: `CPU`, `CPU_Mapped`, `CUDA0`, ...
    pub device: String,
    pub kind: BufferKind,
    pub bytes: u64,
}

/// Buffers reported in log lines such as
/// `load_tensors:   CPU_Mapped model buffer size =   253.11 MiB`,
/// `llama_kv_cache:        CPU KV buffer size =    18.00 MiB`,
/// `sched_reserve:        CPU compute buffer size =   514.25 MiB`.
pub fn parse_buffers(lines: &[String]) -> Vec<Buffer> {
    let kinds = [
        (" model buffer size = ", BufferKind::Model),
        (" KV buffer size = ", BufferKind::Kv),
        (" compute buffer size = ", BufferKind::Compute),
    ];
    lines
        .iter()
        .filter_map(|line| {
            let (marker, kind) = kinds.iter().find(|(m, _)| line.contains(m))?;
            let (head, tail) = line.split_once(marker)?;
            // "load_tensors:   CUDA0" → CUDA0; the device is the last word, which for an RPC
            // device holds colons of its own ("RPC0[127.0.0.1:50052]").
            let device = head.split_whitespace().last()?.to_string();
            let mib: f64 = tail.trim().strip_suffix("MiB")?.trim().parse().ok()?;
            Some(Buffer {
                device,
                kind: *kind,
                bytes: (mib * 1024.0 * 1024.0).round() as u64,
            })
        })
        .collect()
}

/// `load_tensors: offloaded 19/19 layers to GPU` → (19, 19). Absent when no GPU backend exists.
pub fn parse_offloaded(lines: &[String]) -> Option<(u32, u32)> {
    lines.iter().find_map(|line| {
        let rest = line.split("offloaded ").nth(1)?;
        let (frac, _) = rest.split_once(" layers to GPU")?;
        let (a, b) = frac.split_once('/')?;
        Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_device_names_keep_their_address() {
        let b = parse_buffers(&[
            "load_tensors: RPC0[127.0.0.1:50101] model buffer size =   129.37 MiB".to_string(),
            "llama_kv_cache:        CPU KV buffer size =    18.00 MiB".to_string(),
        ]);
        assert_eq!(b[0].device, "RPC0[127.0.0.1:50101]");
        assert_eq!(b[1].device, "CPU");
    }

    #[test]
    fn parses_llama_cpp_report_lines() {
        let lines: Vec<String> = [
            "load_tensors: offloaded 19/19 layers to GPU",
            "load_tensors:   CPU_Mapped model buffer size =   253.11 MiB",
            "load_tensors:        CUDA0 model buffer size =   200.50 MiB",
            "llama_kv_cache:        CPU KV buffer size =    18.00 MiB",
            "sched_reserve:        CPU compute buffer size =   514.25 MiB",
            "something else entirely",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(parse_offloaded(&lines), Some((19, 19)));
        let b = parse_buffers(&lines);
        assert_eq!(b.len(), 4);
        assert_eq!(b[0].device, "CPU_Mapped");
        assert_eq!(b[0].kind, BufferKind::Model);
        assert_eq!(b[0].bytes, (253.11f64 * 1048576.0).round() as u64);
        assert_eq!(b[1].device, "CUDA0");
        assert_eq!(b[2].kind, BufferKind::Kv);
        assert_eq!(b[3].kind, BufferKind::Compute);
        assert_eq!(b[3].bytes, 539_230_208);
    }
}
