//! ggml backend plugins (builds with the `dynamic-backends` feature).
//!
//! Such a build ships `libggml-cpu-<variant>.so` files (and optionally `libggml-cuda.so`) beside
//! the binary; ggml picks the best CPU variant at run time. ggml's default search also looks in
//! the current working directory, so a library planted there would be loaded and run. We load
//! plugins only from `INFERNO_BACKENDS_DIR` (when set) and the executable's own directory,
//! before llama.cpp initializes, so its default search never runs.

use std::path::PathBuf;

/// What plugin loading found (empty for static builds).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PluginReport {
    /// Directories searched, in order.
    pub dirs: Vec<PathBuf>,
    /// Plugin files present in those directories (`libggml-*.so`), loaded or not.
    pub files: Vec<PathBuf>,
}

/// The directories plugins may come from: `INFERNO_BACKENDS_DIR`, then the executable's
/// directory. Never the working directory.
pub fn backend_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("INFERNO_BACKENDS_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .and_then(|p| p.parent().map(PathBuf::from))
        && !dirs.contains(&exe_dir)
    {
        dirs.push(exe_dir);
    }
    dirs
}

fn plugin_files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("libggml-") && n.ends_with(".so") && !n.starts_with("libggml-base")
            })
        })
        .collect();
    files.sort();
    files
}

/// Load plugins from the allowed directories (no-op for static builds).
pub fn load() -> PluginReport {
    let dirs = backend_search_dirs();
    let files = plugin_files(&dirs);
    #[cfg(feature = "dynamic-backends")]
    for dir in &dirs {
        if dir.is_dir() {
            llama_cpp_2::llama_backend::load_backends_from_path(dir);
        }
    }
    PluginReport { dirs, files }
}
