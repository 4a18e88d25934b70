//! Facts about this machine and this build: OS, CPU, memory, llama.cpp's view of the CPU
//! features and compute devices. Everything is read or queried at run time; nothing is
//! guessed.

use std::ffi::CStr;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct SystemFacts {
    pub os: String,
    pub kernel: Option<String>,
    pub arch: &'static str,
    pub cpu: Option<String>,
    pub physical_cores: Option<usize>,
    pub logical_cores: usize,
    pub memory_total_bytes: u64,
    pub memory_available_bytes: u64,
}

pub fn system() -> SystemFacts {
    use sysinfo::{CpuRefreshKind, MemoryRefreshKind, System};
    let mut sys = System::new();
    sys.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
    sys.refresh_cpu_list(CpuRefreshKind::nothing());
    SystemFacts {
        os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.to_string()),
        kernel: System::kernel_version(),
        arch: std::env::consts::ARCH,
        cpu: sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .filter(|b| !b.is_empty()),
        physical_cores: System::physical_core_count(),
        logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_total_bytes: sys.total_memory(),
        memory_available_bytes: sys.available_memory(),
    }
}

/// What llama.cpp reports about each backend's features, from `llama_print_system_info`:
/// `CPU : SSE3 = 1 | AVX = 1 | ... |` → `[("CPU", ["SSE3", "AVX", ...])]`, features set to 0
/// left out.
pub fn backend_features() -> Vec<(String, Vec<String>)> {
    // SAFETY: returns a pointer to a static, NUL-terminated buffer.
    let text = unsafe { CStr::from_ptr(llama_cpp_sys_2::llama_print_system_info()) }
        .to_string_lossy()
        .into_owned();
    parse_system_info(&text)
}

pub fn parse_system_info(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for part in text.split('|').map(str::trim).filter(|p| !p.is_empty()) {
        // A backend starts with "NAME : FEATURE = VALUE".
        let (backend, feature) = match part.split_once(" : ") {
            Some((b, f)) => (Some(b.trim()), f.trim()),
            None => (None, part),
        };
        if let Some(b) = backend {
            out.push((b.to_string(), Vec::new()));
        }
        let Some((name, value)) = feature.split_once('=') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if value != "0"
            && let Some(last) = out.last_mut()
        {
            last.1.push(if value == "1" {
                name.to_string()
            } else {
                format!("{name}={value}")
            });
        }
    }
    out
}

/// llama.cpp and ggml versions of the linked library.
pub fn library_versions() -> (String, String) {
    // SAFETY: both return static NUL-terminated strings.
    unsafe {
        (
            CStr::from_ptr(llama_cpp_sys_2::llama_version())
                .to_string_lossy()
                .into_owned(),
            CStr::from_ptr(llama_cpp_sys_2::ggml_version())
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// Registered ggml backends (CPU, CUDA, Metal, ...), in registration order.
pub fn backend_names() -> Vec<String> {
    // SAFETY: indices below the count are valid; names are static strings.
    unsafe {
        (0..llama_cpp_sys_2::ggml_backend_reg_count())
            .map(|i| llama_cpp_sys_2::ggml_backend_reg_get(i))
            // A backend without devices does no work here: the RPC backend of every build
            // until `--rpc` adds workers (each its own entry, "RPC[host:port]").
            .filter(|&reg| llama_cpp_sys_2::ggml_backend_reg_dev_count(reg) > 0)
            .map(|reg| {
                CStr::from_ptr(llama_cpp_sys_2::ggml_backend_reg_name(reg))
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Device {
    pub index: usize,
    pub name: String,
    pub description: String,
    pub backend: String,
    /// `cpu`, `gpu`, `igpu` or `accel`.
    #[serde(rename = "type")]
    pub kind: String,
    pub memory_total_bytes: u64,
    pub memory_free_bytes: u64,
}

pub fn devices() -> Vec<Device> {
    use llama_cpp_2::LlamaBackendDeviceType as T;
    // ggml's CPU device reports all of the host's memory as free; the host's available
    // memory is what a CPU model can still use.
    let mut available = None;
    llama_cpp_2::list_llama_ggml_backend_devices()
        .into_iter()
        .map(|d| {
            let free = if d.device_type == T::Cpu && d.memory_free == d.memory_total {
                *available.get_or_insert_with(|| {
                    let mut sys = sysinfo::System::new();
                    sys.refresh_memory_specifics(sysinfo::MemoryRefreshKind::nothing().with_ram());
                    sys.available_memory()
                })
            } else {
                d.memory_free as u64
            };
            (d, free)
        })
        .map(|(d, free)| Device {
            index: d.index,
            name: d.name,
            description: d.description,
            backend: d.backend,
            kind: match d.device_type {
                T::Cpu => "cpu",
                T::Gpu => "gpu",
                T::IntegratedGpu => "igpu",
                _ => "accel",
            }
            .to_string(),
            memory_total_bytes: d.memory_total as u64,
            memory_free_bytes: free,
        })
        .collect()
}

/// Peak resident memory of this process so far, in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    // SAFETY: getrusage fills the struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let max = u64::try_from(usage.ru_maxrss).ok()?;
    // Linux reports KiB, macOS bytes.
    Some(if cfg!(target_os = "macos") {
        max
    } else {
        max * 1024
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_llama_system_info() {
        let s = "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AMX_INT8 = 0 | AVX512 = 1 | REPACK = 1 | CUDA : ARCHS = 900 | USE_GRAPHS = 1 | ";
        let parsed = parse_system_info(s);
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].0, "CPU");
        assert_eq!(
            parsed[0].1,
            vec!["SSE3", "SSSE3", "AVX", "AVX512", "REPACK"]
        );
        assert_eq!(parsed[1].0, "CUDA");
        assert_eq!(parsed[1].1, vec!["ARCHS=900", "USE_GRAPHS"]);
    }
}
