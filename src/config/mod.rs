//! Settings: configuration files + `INFERNO_*` environment + flags → one validated [`Settings`].
//!
//! Each source is parsed into a [`Layer`] of optional values; layers are merged by precedence
//! (flags > environment > `--config PATH` or `./.inferno.toml` > user config
//! `$XDG_CONFIG_HOME/inferno/config.toml` > built-in defaults) and the result is validated once.
//! Commands receive the immutable [`Settings`] and never look at files or variables themselves.
//!
//! Parsing is strict on purpose: an unknown key, an unknown `INFERNO_*` variable or a wrong type
//! is an error naming the file (or variable), line and key, never silently ignored.
//!
//! - [`defaults`]: every built-in default, defined once (help texts and README quote these).
//! - [`settings`]: the layer and settings types, and how layers merge.
//! - [`file`]: TOML files, with errors that name the key in plain words.
//! - [`env`]: the `INFERNO_*` variables.
//! - [`validate`]: ranges and cross-field rules.

pub mod defaults;
mod env;
mod file;
pub mod gpu;
pub mod models;
mod overlay;
mod settings;
mod validate;

use std::path::PathBuf;

use env::from_env;
use file::parse_file;
pub use gpu::{GpuLayers, Shares, parse_list, parse_split_mode, parse_tensor_split};
pub use settings::*;

use crate::error::{Exit, fail};

/// Where configuration files are looked for.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--config PATH` (or `INFERNO_CONFIG`): replaces `./.inferno.toml` and must exist.
    pub explicit: Option<PathBuf>,
    /// The working directory, for `./.inferno.toml`.
    pub cwd: PathBuf,
    /// The user config directory (`$XDG_CONFIG_HOME` or `~/.config`).
    pub user_dir: Option<PathBuf>,
}

impl Sources {
    /// The standard locations for this process.
    pub fn from_process(explicit: Option<PathBuf>) -> Sources {
        let user_dir = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        let explicit = explicit.or_else(|| std::env::var_os("INFERNO_CONFIG").map(PathBuf::from));
        Sources {
            explicit,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            user_dir,
        }
    }
}

/// Build the settings from all sources. `env` is the process environment (passed in so tests
/// need not mutate it); `flags` is what the command line set.
pub fn resolve(
    sources: &Sources,
    env: &[(String, String)],
    flags: Layer,
) -> anyhow::Result<Settings> {
    let mut read = Vec::new();
    let mut merged = Layer::default();
    if let Some(dir) = &sources.user_dir {
        let path = dir.join("inferno").join("config.toml");
        if path.is_file() {
            merged = merged.overlay(parse_file(&path)?);
            read.push(path);
        }
    }
    let project = match &sources.explicit {
        Some(p) => {
            if !p.exists() {
                return Err(fail(
                    Exit::Config,
                    format!(
                        "config file {} does not exist; fix --config/INFERNO_CONFIG",
                        p.display()
                    ),
                ));
            }
            Some(p.clone())
        }
        None => Some(sources.cwd.join(".inferno.toml")).filter(|p| p.is_file()),
    };
    if let Some(path) = project {
        merged = merged.overlay(parse_file(&path)?);
        read.push(path);
    }
    merged = merged.overlay(from_env(env)?);
    let gpu_layers_flag = flags.backend_config.as_ref().and_then(|b| b.gpu_layers);
    merged = merged.overlay(flags);
    settings::finish(merged, gpu_layers_flag, read)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn no_files() -> Sources {
        Sources {
            explicit: None,
            cwd: PathBuf::from("/nonexistent-dir"),
            user_dir: None,
        }
    }

    /// With nothing set anywhere, every setting is its constant in `defaults` (whose
    /// llama.cpp values are checked against llama.cpp's header in `defaults::tests`).
    #[test]
    fn unset_keys_take_the_defined_defaults() {
        let s = resolve(&no_files(), &[], Layer::default()).unwrap();
        assert_eq!(s.sampling.temp, defaults::TEMP);
        assert_eq!(s.sampling.top_k, defaults::TOP_K);
        assert_eq!(s.sampling.top_p, defaults::TOP_P);
        assert_eq!(s.sampling.min_p, defaults::MIN_P);
        assert_eq!(s.sampling.repeat_penalty, defaults::REPEAT_PENALTY);
        assert_eq!(s.sampling.repeat_last_n, defaults::REPEAT_LAST_N);
        assert_eq!(s.sampling.seed, None);
        assert_eq!(s.backend.context_size, defaults::CONTEXT_SIZE);
        assert_eq!(s.backend.batch_size, defaults::BATCH_SIZE);
        assert_eq!(s.backend.ubatch_size, defaults::UBATCH_SIZE);
        assert_eq!(s.backend.flash_attn, defaults::FLASH_ATTN);
        assert_eq!(s.backend.threads, defaults::threads());
        assert!(s.sources.is_empty());
    }

    #[test]
    fn precedence_flags_over_env_over_files() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("xdg");
        std::fs::create_dir_all(user.join("inferno")).unwrap();
        std::fs::write(
            user.join("inferno/config.toml"),
            "default_model = \"u.gguf\"\n[backend_config]\ncontext_size = 100\nbatch_size = 10\nthreads = 3\n[sampling]\ntop_k = 7\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".inferno.toml"),
            "[backend_config]\ncontext_size = 200\nbatch_size = 20\n",
        )
        .unwrap();
        let sources = Sources {
            explicit: None,
            cwd: dir.path().into(),
            user_dir: Some(user.clone()),
        };
        let flags = Layer {
            backend_config: Some(BackendLayer {
                context_size: Some(400),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = resolve(
            &sources,
            &env(&[
                ("INFERNO_CONTEXT_SIZE", "300"),
                ("INFERNO_BATCH_SIZE", "30"),
            ]),
            flags,
        )
        .unwrap();
        assert_eq!(s.backend.context_size, 400, "flag wins");
        assert_eq!(s.backend.batch_size, 30, "env beats files");
        assert_eq!(s.backend.threads, 3, "user file beats default");
        assert_eq!(s.sampling.top_k, 7);
        assert_eq!(
            s.model,
            Some(user.join("inferno/u.gguf")),
            "relative to its file"
        );
        assert_eq!(s.sources.len(), 2);
    }

    #[test]
    fn validation_rejects_out_of_range() {
        for (k, v) in [
            ("INFERNO_TEMP", "-1"),
            ("INFERNO_TOP_P", "1.5"),
            ("INFERNO_THREADS", "0"),
            ("INFERNO_SEED", "4294967295"),
        ] {
            let e = resolve(&no_files(), &env(&[(k, v)]), Layer::default()).unwrap_err();
            assert_eq!(crate::error::exit_of(&e), Exit::Usage, "{k}={v}: {e}");
        }
    }

    #[test]
    fn gpu_layers_follow_gpu_enabled_unless_flag() {
        let off = env(&[("INFERNO_GPU_ENABLED", "false")]);
        let s = resolve(&no_files(), &off, Layer::default()).unwrap();
        assert_eq!(s.backend.gpu_layers, 0);
        let flags = Layer {
            backend_config: Some(BackendLayer {
                gpu_layers: Some(crate::config::GpuLayers::Count(5)),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = resolve(&no_files(), &off, flags).unwrap();
        assert_eq!(s.backend.gpu_layers, 5);
        assert!(s.backend.gpu_requested);
        let on = env(&[("INFERNO_GPU_ENABLED", "true")]);
        let s = resolve(&no_files(), &on, Layer::default()).unwrap();
        assert_eq!(s.backend.gpu_layers, defaults::ALL_LAYERS);
        assert!(s.backend.gpu_auto, "auto is the default with a GPU");
        assert!(s.backend.gpu_requested);
    }

    #[test]
    fn explicit_config_must_exist() {
        let sources = Sources {
            explicit: Some("/nonexistent/x.toml".into()),
            ..no_files()
        };
        let e = resolve(&sources, &[], Layer::default()).unwrap_err();
        assert_eq!(crate::error::exit_of(&e), Exit::Config);
        assert!(e.to_string().contains("/nonexistent/x.toml"));
    }
}
