//! Settings: configuration files + `INFERNO_*` environment + flags → one validated [`Settings`].
//!
//! Each source is parsed into a [`Layer`] of optional values; layers are merged by precedence
//! (flags > environment > `--config PATH` or `./.inferno.toml` > user config
//! `$XDG_CONFIG_HOME/inferno/config.toml` > built-in defaults) and the result is validated once.
//! Commands receive the immutable [`Settings`] and never look at files or variables themselves.
//!
//! Parsing is strict on purpose: an unknown key, an unknown `INFERNO_*` variable or a wrong type
//! is an error naming the file (or variable), line and key, never silently ignored.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Exit, fail};

/// Whether this build can offload to a GPU without run-time plugins.
pub const BUILD_HAS_GPU: bool = cfg!(any(
    feature = "cuda",
    feature = "vulkan",
    feature = "metal",
    target_os = "macos"
));

/// "All layers" for llama.cpp's `n_gpu_layers` (it clamps to the model's count).
pub const ALL_LAYERS: u32 = 999;

pub const DEFAULT_CONTEXT_SIZE: u32 = 2048;
pub const DEFAULT_BATCH_SIZE: u32 = 512;

/// One source of settings; `None` means "not set here".
#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub default_model: Option<PathBuf>,
    pub backend_config: Option<BackendLayer>,
    pub sampling: Option<SamplingLayer>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackendLayer {
    pub gpu_enabled: Option<bool>,
    pub gpu_layers: Option<u32>,
    pub context_size: Option<u32>,
    pub batch_size: Option<u32>,
    pub ubatch_size: Option<u32>,
    pub threads: Option<u32>,
    pub flash_attn: Option<FlashAttn>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SamplingLayer {
    pub temp: Option<f32>,
    pub top_k: Option<i32>,
    pub top_p: Option<f32>,
    pub min_p: Option<f32>,
    pub repeat_penalty: Option<f32>,
    pub repeat_last_n: Option<i32>,
    pub seed: Option<u32>,
}

/// llama.cpp's flash-attention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FlashAttn {
    #[default]
    Auto,
    On,
    Off,
}

impl std::str::FromStr for FlashAttn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" | "-1" => Ok(FlashAttn::Auto),
            "on" | "1" | "true" => Ok(FlashAttn::On),
            "off" | "0" | "false" => Ok(FlashAttn::Off),
            _ => Err(format!("'{s}' is not one of auto, on, off")),
        }
    }
}

impl fmt::Display for FlashAttn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlashAttn::Auto => "auto",
            FlashAttn::On => "on",
            FlashAttn::Off => "off",
        })
    }
}

/// The resolved, validated settings every command works from.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub model: Option<PathBuf>,
    pub backend: BackendSettings,
    pub sampling: SamplingSettings,
    /// Configuration files that were read, lowest precedence first.
    pub sources: Vec<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendSettings {
    pub gpu_enabled: bool,
    /// Whether a GPU was asked for explicitly (config, variable or flag) rather than by default:
    /// then the lack of a usable GPU is reported instead of passing silently.
    pub gpu_requested: bool,
    /// Layers to offload: 0 when the GPU is disabled.
    pub gpu_layers: u32,
    pub context_size: u32,
    pub batch_size: u32,
    pub ubatch_size: u32,
    pub threads: u32,
    pub flash_attn: FlashAttn,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SamplingSettings {
    pub temp: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    pub repeat_penalty: f32,
    pub repeat_last_n: i32,
    /// `None`: a fresh random seed per run (reported in `--json`).
    pub seed: Option<u32>,
}

impl Default for SamplingSettings {
    /// llama.cpp's defaults (common/common.h).
    fn default() -> Self {
        SamplingSettings {
            temp: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: None,
        }
    }
}

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
    finish(merged, gpu_layers_flag, read)
}

/// Parse one TOML file strictly. Relative `default_model` paths are relative to the file.
pub fn parse_file(path: &Path) -> anyhow::Result<Layer> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        fail(
            Exit::Config,
            format!("cannot read config file {}: {e}", path.display()),
        )
    })?;
    let mut layer = parse_str(&text).map_err(|msg| {
        fail(
            Exit::Config,
            format!("invalid config file {}: {msg}", path.display()),
        )
    })?;
    if let (Some(m), Some(dir)) = (&layer.default_model, path.parent())
        && m.is_relative()
    {
        layer.default_model = Some(dir.join(m));
    }
    Ok(layer)
}

/// Parse TOML text; the error is one line: "line L, column C: message".
pub fn parse_str(text: &str) -> Result<Layer, String> {
    toml::from_str::<Layer>(text).map_err(|e| {
        // toml's messages can span lines; errors are one line.
        let msg = e
            .message()
            .trim()
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; ");
        match e.span() {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!("line {line}, column {col}: {msg}")
            }
            None => msg,
        }
    })
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The `INFERNO_*` variables that map to settings, with the key each sets.
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("INFERNO_MODEL", "default_model"),
    ("INFERNO_GPU_ENABLED", "backend_config.gpu_enabled"),
    ("INFERNO_GPU_LAYERS", "backend_config.gpu_layers"),
    ("INFERNO_CONTEXT_SIZE", "backend_config.context_size"),
    ("INFERNO_BATCH_SIZE", "backend_config.batch_size"),
    ("INFERNO_UBATCH_SIZE", "backend_config.ubatch_size"),
    ("INFERNO_THREADS", "backend_config.threads"),
    ("INFERNO_FLASH_ATTN", "backend_config.flash_attn"),
    ("INFERNO_TEMP", "sampling.temp"),
    ("INFERNO_TOP_K", "sampling.top_k"),
    ("INFERNO_TOP_P", "sampling.top_p"),
    ("INFERNO_MIN_P", "sampling.min_p"),
    ("INFERNO_REPEAT_PENALTY", "sampling.repeat_penalty"),
    ("INFERNO_REPEAT_LAST_N", "sampling.repeat_last_n"),
    ("INFERNO_SEED", "sampling.seed"),
];

/// `INFERNO_*` variables that are not settings but are read elsewhere.
const ENV_OTHER: &[&str] = &["INFERNO_CONFIG", "INFERNO_BACKENDS_DIR"];

/// Read the settings variables. An `INFERNO_*` variable we do not know is an error (a typo
/// would otherwise be silently ignored).
pub fn from_env(env: &[(String, String)]) -> anyhow::Result<Layer> {
    let mut layer = Layer::default();
    for (name, value) in env {
        if !name.starts_with("INFERNO_") || ENV_OTHER.contains(&name.as_str()) {
            continue;
        }
        let Some(&(_, key)) = ENV_KEYS.iter().find(|(n, _)| n == name) else {
            let known: Vec<&str> = ENV_KEYS
                .iter()
                .map(|(n, _)| *n)
                .chain(ENV_OTHER.iter().copied())
                .collect();
            return Err(fail(
                Exit::Config,
                format!(
                    "unknown environment variable {name}; known ones are {}",
                    known.join(", ")
                ),
            ));
        };
        let bad = |why: String| {
            fail(
                Exit::Config,
                format!("environment variable {name}={value:?}: {why}"),
            )
        };
        let b = layer.backend_config.get_or_insert_with(Default::default);
        let s = layer.sampling.get_or_insert_with(Default::default);
        match key {
            "default_model" => layer.default_model = Some(PathBuf::from(value)),
            "backend_config.gpu_enabled" => b.gpu_enabled = Some(parse_bool(value).map_err(bad)?),
            "backend_config.gpu_layers" => b.gpu_layers = Some(parse_num(value).map_err(bad)?),
            "backend_config.context_size" => b.context_size = Some(parse_num(value).map_err(bad)?),
            "backend_config.batch_size" => b.batch_size = Some(parse_num(value).map_err(bad)?),
            "backend_config.ubatch_size" => b.ubatch_size = Some(parse_num(value).map_err(bad)?),
            "backend_config.threads" => b.threads = Some(parse_num(value).map_err(bad)?),
            "backend_config.flash_attn" => b.flash_attn = Some(value.parse().map_err(bad)?),
            "sampling.temp" => s.temp = Some(parse_num(value).map_err(bad)?),
            "sampling.top_k" => s.top_k = Some(parse_num(value).map_err(bad)?),
            "sampling.top_p" => s.top_p = Some(parse_num(value).map_err(bad)?),
            "sampling.min_p" => s.min_p = Some(parse_num(value).map_err(bad)?),
            "sampling.repeat_penalty" => s.repeat_penalty = Some(parse_num(value).map_err(bad)?),
            "sampling.repeat_last_n" => s.repeat_last_n = Some(parse_num(value).map_err(bad)?),
            "sampling.seed" => s.seed = Some(parse_num(value).map_err(bad)?),
            _ => unreachable!("every ENV_KEYS entry is handled"),
        }
    }
    Ok(layer)
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn parse_num<T: std::str::FromStr>(v: &str) -> Result<T, String>
where
    T::Err: fmt::Display,
{
    v.trim().parse::<T>().map_err(|e| format!("{e}"))
}

impl Layer {
    /// `self` with every value that `higher` sets replaced by `higher`'s.
    pub fn overlay(self, higher: Layer) -> Layer {
        Layer {
            default_model: higher.default_model.or(self.default_model),
            backend_config: merge_opt(self.backend_config, higher.backend_config, |lo, hi| {
                BackendLayer {
                    gpu_enabled: hi.gpu_enabled.or(lo.gpu_enabled),
                    gpu_layers: hi.gpu_layers.or(lo.gpu_layers),
                    context_size: hi.context_size.or(lo.context_size),
                    batch_size: hi.batch_size.or(lo.batch_size),
                    ubatch_size: hi.ubatch_size.or(lo.ubatch_size),
                    threads: hi.threads.or(lo.threads),
                    flash_attn: hi.flash_attn.or(lo.flash_attn),
                }
            }),
            sampling: merge_opt(self.sampling, higher.sampling, |lo, hi| SamplingLayer {
                temp: hi.temp.or(lo.temp),
                top_k: hi.top_k.or(lo.top_k),
                top_p: hi.top_p.or(lo.top_p),
                min_p: hi.min_p.or(lo.min_p),
                repeat_penalty: hi.repeat_penalty.or(lo.repeat_penalty),
                repeat_last_n: hi.repeat_last_n.or(lo.repeat_last_n),
                seed: hi.seed.or(lo.seed),
            }),
        }
    }
}

fn merge_opt<T>(lo: Option<T>, hi: Option<T>, f: impl FnOnce(T, T) -> T) -> Option<T> {
    match (lo, hi) {
        (Some(lo), Some(hi)) => Some(f(lo, hi)),
        (lo, hi) => hi.or(lo),
    }
}

/// Physical cores, as llama.cpp's own default thread count.
pub fn default_threads() -> u32 {
    u32::try_from(num_cpus::get_physical().max(1)).unwrap_or(1)
}

fn finish(
    layer: Layer,
    gpu_layers_flag: Option<u32>,
    sources: Vec<PathBuf>,
) -> anyhow::Result<Settings> {
    let b = layer.backend_config.unwrap_or_default();
    let s = layer.sampling.unwrap_or_default();
    let d = SamplingSettings::default();
    let gpu_enabled = b
        .gpu_enabled
        .unwrap_or(BUILD_HAS_GPU || cfg!(feature = "dynamic-backends"));
    // An explicit --gpu-layers on the command line wins over gpu_enabled from any layer.
    let gpu_layers = match gpu_layers_flag {
        Some(n) => n,
        None if gpu_enabled => b.gpu_layers.unwrap_or(ALL_LAYERS),
        None => 0,
    };
    let gpu_requested = b.gpu_enabled == Some(true) || gpu_layers_flag.is_some_and(|n| n > 0);
    let batch_size = b.batch_size.unwrap_or(DEFAULT_BATCH_SIZE);
    let settings = Settings {
        model: layer.default_model,
        backend: BackendSettings {
            gpu_enabled: gpu_enabled || gpu_layers > 0,
            gpu_requested,
            gpu_layers,
            context_size: b.context_size.unwrap_or(DEFAULT_CONTEXT_SIZE),
            batch_size,
            // llama.cpp's default physical batch is 512, never larger than the logical batch.
            ubatch_size: b.ubatch_size.unwrap_or(batch_size.min(DEFAULT_BATCH_SIZE)),
            threads: b.threads.unwrap_or_else(default_threads),
            flash_attn: b.flash_attn.unwrap_or_default(),
        },
        sampling: SamplingSettings {
            temp: s.temp.unwrap_or(d.temp),
            top_k: s.top_k.unwrap_or(d.top_k),
            top_p: s.top_p.unwrap_or(d.top_p),
            min_p: s.min_p.unwrap_or(d.min_p),
            repeat_penalty: s.repeat_penalty.unwrap_or(d.repeat_penalty),
            repeat_last_n: s.repeat_last_n.unwrap_or(d.repeat_last_n),
            seed: s.seed,
        },
        sources,
    };
    validate(&settings)?;
    Ok(settings)
}

/// Range checks. Messages name the flag and the config key, since either may have set it.
fn validate(s: &Settings) -> anyhow::Result<()> {
    let b = &s.backend;
    let p = &s.sampling;
    let bad = |flag: &str, key: &str, why: String| {
        Err(fail(
            Exit::Usage,
            format!("invalid {flag} (config key {key}): {why}"),
        ))
    };
    if b.context_size == 0 {
        return bad(
            "-c/--context-size",
            "backend_config.context_size",
            "must be at least 1".into(),
        );
    }
    if b.batch_size == 0 {
        return bad(
            "-b/--batch-size",
            "backend_config.batch_size",
            "must be at least 1".into(),
        );
    }
    if b.ubatch_size == 0 || b.ubatch_size > b.batch_size {
        return bad(
            "--ubatch-size",
            "backend_config.ubatch_size",
            format!(
                "{} must be between 1 and the batch size ({})",
                b.ubatch_size, b.batch_size
            ),
        );
    }
    if b.threads == 0 || b.threads > 1024 {
        return bad(
            "-t/--threads",
            "backend_config.threads",
            format!("{} must be between 1 and 1024", b.threads),
        );
    }
    if !p.temp.is_finite() || p.temp < 0.0 {
        return bad(
            "--temp",
            "sampling.temp",
            format!("{} must be 0 (greedy) or more", p.temp),
        );
    }
    if !(0.0..=1.0).contains(&p.top_p) {
        return bad(
            "--top-p",
            "sampling.top_p",
            format!("{} must be between 0 and 1", p.top_p),
        );
    }
    if !(0.0..=1.0).contains(&p.min_p) {
        return bad(
            "--min-p",
            "sampling.min_p",
            format!("{} must be between 0 and 1", p.min_p),
        );
    }
    if p.top_k < 0 {
        return bad(
            "--top-k",
            "sampling.top_k",
            format!("{} must be 0 (off) or more", p.top_k),
        );
    }
    if !p.repeat_penalty.is_finite() || p.repeat_penalty <= 0.0 {
        return bad(
            "--repeat-penalty",
            "sampling.repeat_penalty",
            format!("{} must be above 0 (1 = off)", p.repeat_penalty),
        );
    }
    if p.repeat_last_n < -1 {
        return bad(
            "--repeat-last-n",
            "sampling.repeat_last_n",
            format!(
                "{} must be -1 (whole context), 0 (off) or more",
                p.repeat_last_n
            ),
        );
    }
    Ok(())
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

    #[test]
    fn defaults_match_llama_cpp() {
        let s = resolve(&no_files(), &[], Layer::default()).unwrap();
        assert_eq!(s.sampling, SamplingSettings::default());
        assert_eq!(s.sampling.temp, 0.8);
        assert_eq!(s.sampling.top_k, 40);
        assert_eq!(s.backend.context_size, 2048);
        assert_eq!(s.backend.batch_size, 512);
        assert_eq!(s.backend.ubatch_size, 512);
        assert_eq!(s.backend.threads, default_threads());
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
    fn strict_parse_names_line_and_key() {
        let e = parse_str("[backend_config]\ncontext_size = 1\nbogus = 2\n").unwrap_err();
        assert!(e.starts_with("line 3, column 1:"), "{e}");
        assert!(e.contains("bogus"), "{e}");
        let e = parse_str("[backend_config]\ncontext_size = \"big\"\n").unwrap_err();
        assert!(e.starts_with("line 2, column 16:"), "{e}");
        let e = parse_str("[sampling\n").unwrap_err();
        assert!(e.starts_with("line 1,"), "{e}");
    }

    #[test]
    fn env_errors_name_the_variable() {
        let e = from_env(&env(&[("INFERNO_TEMPERATURE", "1")])).unwrap_err();
        assert!(e.to_string().contains("INFERNO_TEMPERATURE"));
        let e = from_env(&env(&[("INFERNO_THREADS", "many")])).unwrap_err();
        assert!(e.to_string().contains("INFERNO_THREADS=\"many\""), "{e}");
        assert!(from_env(&env(&[("INFERNO_CONFIG", "x"), ("PATH", "/bin")])).is_ok());
    }

    #[test]
    fn validation_rejects_out_of_range() {
        for (k, v) in [
            ("INFERNO_TEMP", "-1"),
            ("INFERNO_TOP_P", "1.5"),
            ("INFERNO_THREADS", "0"),
            ("INFERNO_CONTEXT_SIZE", "0"),
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
                gpu_layers: Some(5),
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = resolve(&no_files(), &off, flags).unwrap();
        assert_eq!(s.backend.gpu_layers, 5);
        assert!(s.backend.gpu_requested);
        let on = env(&[("INFERNO_GPU_ENABLED", "true")]);
        let s = resolve(&no_files(), &on, Layer::default()).unwrap();
        assert_eq!(s.backend.gpu_layers, ALL_LAYERS);
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
