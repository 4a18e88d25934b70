//! ggml backend plugins (builds with the `dynamic-backends` feature).
//!
//! Such a build ships `libggml-cpu-<variant>.so` files (and optionally `libggml-cuda.so`) beside
//! the binary. ggml's own loader also searches the current working directory, so a library
//! planted there would be loaded and run. We never call it: plugins come only from
//! `INFERNO_BACKENDS_DIR` (when set) and the executable's own directory, in that order. Each backend family (`cpu`, `cuda`, ...)
//! comes from the first directory that has it; among CPU variants the one scoring best on this
//! CPU is chosen, as ggml does. A plugin that cannot be opened is reported and skipped.
//!
//! Loading happens before llama.cpp initializes; if nothing could be loaded we refuse to
//! initialize, because llama.cpp would then fall back to ggml's default search (working
//! directory included).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by [`cpu_only`] before the backend initializes.
static CPU_ONLY: AtomicBool = AtomicBool::new(false);

/// Load no GPU plugin in this process (`--no-gpu`): even with its layers on the CPU, a loaded
/// CUDA backend creates a context, pins host buffers and holds device memory. Only the CPU
/// family (and RPC, which is not a local device) may load afterwards. Effective only before
/// the backend's first use.
pub fn cpu_only() {
    CPU_ONLY.store(true, Ordering::SeqCst);
}

/// Whether `family` may be loaded in this process.
#[cfg_attr(not(feature = "dynamic-backends"), allow(dead_code))]
fn allowed(family: &str) -> bool {
    !CPU_ONLY.load(Ordering::SeqCst) || family == "cpu" || family == "rpc"
}

/// What plugin loading found (empty for static builds).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PluginReport {
    /// Directories searched, in order.
    pub dirs: Vec<PathBuf>,
    /// The plugin files that were loaded.
    pub loaded: Vec<PathBuf>,
    /// Plugins that could not be loaded, with the reason.
    pub failed: Vec<(PathBuf, String)>,
}

/// The directories plugins may come from: `INFERNO_BACKENDS_DIR`, then the executable's
/// directory. Never the working directory (nor the build tree: a bundle must be complete).
pub fn backend_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("INFERNO_BACKENDS_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .and_then(|p| p.parent().map(PathBuf::from))
    {
        dirs.push(exe_dir);
    }
    let mut unique = Vec::new();
    for d in dirs {
        if !unique.contains(&d) {
            unique.push(d);
        }
    }
    unique
}

/// `libggml-cpu-haswell.so` → `cpu`; `libggml-cuda.so` → `cuda`. `None` for other files
/// (including `libggml-base.so`, a library, not a plugin).
// Used by the loader of dynamic-backends builds; kept for all builds so CI tests the naming.
#[cfg_attr(not(feature = "dynamic-backends"), allow(dead_code))]
pub fn plugin_family(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_prefix("libggml-")?.strip_suffix(".so")?;
    let family = stem.split('-').next()?;
    (!family.is_empty() && family != "base").then(|| family.to_string())
}

#[cfg_attr(not(feature = "dynamic-backends"), allow(dead_code))]
fn plugin_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && plugin_family(p).is_some())
        .collect();
    files.sort();
    files
}

/// Load plugins from the allowed directories (static builds: only report what is there).
pub fn load() -> PluginReport {
    let dirs = backend_search_dirs();
    #[cfg_attr(not(feature = "dynamic-backends"), allow(unused_mut))]
    let mut report = PluginReport {
        dirs,
        ..Default::default()
    };
    #[cfg(feature = "dynamic-backends")]
    dl::load_families(&mut report);
    report
}

#[cfg(feature = "dynamic-backends")]
mod dl {
    use std::collections::BTreeMap;
    use std::ffi::CString;
    use std::path::{Path, PathBuf};

    use super::{PluginReport, allowed, plugin_family, plugin_files};

    /// ggml's plugin score: 0 = cannot run on this machine, higher = better. Only plugins
    /// built as variants (the CPU ones) export a score; a plugin without one scores 1, as
    /// ggml's own loader then falls back to it.
    fn score(path: &Path) -> Result<i32, String> {
        // SAFETY: loading a ggml backend plugin runs its initializers; these files come only
        // from the allowed directories. The symbol has ggml's `int (void)` signature.
        unsafe {
            let lib = libloading::Library::new(path).map_err(|e| e.to_string())?;
            if lib
                .get::<unsafe extern "C" fn() -> *mut std::ffi::c_void>(b"ggml_backend_init")
                .is_err()
            {
                return Err("not a ggml backend plugin (no ggml_backend_init)".into());
            }
            match lib.get::<unsafe extern "C" fn() -> i32>(b"ggml_backend_score") {
                Ok(f) => Ok(f()),
                Err(_) => Ok(1),
            }
        }
    }

    fn register(path: &Path) -> Result<(), String> {
        let c = CString::new(path.to_string_lossy().as_bytes()).map_err(|e| e.to_string())?;
        // SAFETY: a NUL-terminated path; ggml returns null when it cannot load the file.
        let reg = unsafe { llama_cpp_sys_2::ggml_backend_load(c.as_ptr()) };
        if reg.is_null() {
            Err("ggml could not load it (not a ggml backend plugin?)".into())
        } else {
            Ok(())
        }
    }

    pub fn load_families(report: &mut PluginReport) {
        // family → candidate files from the first directory that has that family
        let mut chosen: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
        for dir in &report.dirs {
            let mut here: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
            for f in plugin_files(dir) {
                if let Some(fam) = plugin_family(&f) {
                    here.entry(fam).or_default().push(f);
                }
            }
            for (fam, files) in here {
                if !allowed(&fam) {
                    continue;
                }
                chosen.entry(fam).or_insert(files);
            }
        }
        for files in chosen.values() {
            // Variants (cpu-haswell, cpu-zen4, ...): the best scoring; a single file: itself.
            let mut best: Option<(i32, &PathBuf)> = None;
            for f in files {
                match score(f) {
                    Ok(0) => {}
                    Ok(s) if best.is_none_or(|(b, _)| s > b) => best = Some((s, f)),
                    Ok(_) => {}
                    Err(e) => report.failed.push((f.clone(), e)),
                }
            }
            if let Some((_, f)) = best {
                match register(f) {
                    Ok(()) => report.loaded.push(f.clone()),
                    Err(e) => report.failed.push((f.clone(), e)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert_eq!(
            plugin_family(Path::new("/x/libggml-cpu-haswell.so")).as_deref(),
            Some("cpu")
        );
        assert_eq!(
            plugin_family(Path::new("libggml-cuda.so")).as_deref(),
            Some("cuda")
        );
        assert_eq!(plugin_family(Path::new("libggml-base.so")), None);
        assert_eq!(plugin_family(Path::new("libggml.so.0")), None);
        assert_eq!(plugin_family(Path::new("libllama.so")), None);
    }

    #[test]
    fn never_the_working_directory() {
        let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
        let exe_dir = std::env::current_exe()
            .unwrap()
            .canonicalize()
            .unwrap()
            .parent()
            .unwrap()
            .to_path_buf();
        // The test binary's own directory is allowed; the working directory only if it is that.
        for d in backend_search_dirs() {
            assert!(d != cwd || d == exe_dir, "{} searched", d.display());
        }
    }
}
