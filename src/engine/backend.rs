//! The process-wide llama.cpp backend. `LlamaBackend::init` fails if called twice, so everything
//! (tests included) shares this one, initialized on first use: llama.cpp's log hooked first,
//! then backend plugins loaded from the allowed directories only ([`super::plugins`]).

use std::sync::OnceLock;

use llama_cpp_2::llama_backend::LlamaBackend;

use super::logs;
use super::plugins::{self, PluginReport};
use crate::error::{Exit, fail};

static BACKEND: OnceLock<Result<Backend, String>> = OnceLock::new();

/// The initialized llama.cpp backend and what was found while initializing it.
pub struct Backend {
    pub llama: LlamaBackend,
    pub plugins: PluginReport,
}

/// The process-wide backend, initialized on first use (logging hooked first, plugins loaded
/// from the allowed directories only).
pub fn backend() -> anyhow::Result<&'static Backend> {
    BACKEND
        .get_or_init(|| {
            logs::install();
            let plugins = plugins::load();
            // SAFETY: a plain count of registered backends.
            if unsafe { llama_cpp_sys_2::ggml_backend_reg_count() } == 0 {
                // llama.cpp would now search ggml's default places, the working directory
                // among them; refuse instead.
                let dirs: Vec<String> = plugins.dirs.iter().map(|d| d.display().to_string()).collect();
                return Err(format!(
                    "no ggml backend plugin (libggml-cpu-*.so) found in {}; keep the bundle's files together or set INFERNO_BACKENDS_DIR",
                    dirs.join(", ")
                ));
            }
            LlamaBackend::init()
                .map(|llama| Backend { llama, plugins })
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| fail(Exit::ModelLoad, format!("cannot initialize llama.cpp: {e}")))
}
