//! The process-wide llama.cpp backend. `LlamaBackend::init` fails if called twice, so everything
//! (tests included) shares this one, initialized on first use: llama.cpp's log hooked first,
//! then backend plugins loaded from the allowed directories only ([`super::plugins`]).

use std::sync::OnceLock;

use llama_cpp_2::llama_backend::LlamaBackend;

use super::logs;
use super::plugins::{self, PluginReport};
use crate::error::{Exit, fail};
use crate::gguf::checks::Support;

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
            super::crash::install();
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

/// What the CPU backend can compute, for the model checks ([`crate::gguf::checks`]): the
/// ggml types with a `vec_dot` kernel in its type traits (a weight of another type would be
/// multiplied through a null function pointer). Read from the ggml this process runs: the
/// linked one, or in a plugin build the CPU plugin that was loaded.
pub fn type_support() -> anyhow::Result<Support> {
    let b = backend()?;
    let traits = cpu_type_traits(&b.plugins)?;
    // ggml's type ids run below GGML_TYPE_COUNT; removed ids have no traits.
    let matmul_types = (0..llama_cpp_sys_2::GGML_TYPE_COUNT)
        .filter(|&t| {
            // SAFETY: the function returns a pointer into ggml's static table for any id
            // below GGML_TYPE_COUNT.
            let p = unsafe { traits(t as llama_cpp_sys_2::ggml_type) };
            !p.is_null() && unsafe { (*p).vec_dot.is_some() }
        })
        .collect();
    Ok(Support { matmul_types })
}

type TraitsFn = unsafe extern "C" fn(
    llama_cpp_sys_2::ggml_type,
) -> *const llama_cpp_sys_2::ggml_type_traits_cpu;

#[cfg(not(feature = "dynamic-backends"))]
fn cpu_type_traits(_: &PluginReport) -> anyhow::Result<TraitsFn> {
    Ok(llama_cpp_sys_2::ggml_get_type_traits_cpu)
}

#[cfg(feature = "dynamic-backends")]
fn cpu_type_traits(plugins: &PluginReport) -> anyhow::Result<TraitsFn> {
    use std::sync::OnceLock;
    static LIB: OnceLock<Option<libloading::Library>> = OnceLock::new();
    let lib = LIB.get_or_init(|| {
        let path = plugins
            .loaded
            .iter()
            .find(|p| plugins::plugin_family(p).as_deref() == Some("cpu"))?;
        // SAFETY: the CPU plugin is already loaded by ggml; this takes another reference.
        unsafe { libloading::Library::new(path) }.ok()
    });
    let lib = lib
        .as_ref()
        .ok_or_else(|| fail(Exit::ModelLoad, "no CPU backend plugin is loaded"))?;
    // SAFETY: the symbol has this signature in ggml-cpu.h.
    let f: libloading::Symbol<'_, TraitsFn> = unsafe { lib.get(b"ggml_get_type_traits_cpu\0") }
        .map_err(|e| {
            fail(
                Exit::ModelLoad,
                format!("the CPU plugin has no type traits: {e}"),
            )
        })?;
    Ok(*f)
}

#[cfg(test)]
mod tests {
    /// The kernels this build's ggml has are the ones read from its sources (a new ggml with
    /// more or fewer kernels shows up here, and the reference list is updated with it).
    #[test]
    fn cpu_support_is_the_reference_list() {
        assert_eq!(
            super::type_support().unwrap(),
            crate::gguf::checks::Support::cpu_reference()
        );
    }
}
