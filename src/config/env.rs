//! The `INFERNO_*` environment variables: each maps to one settings key. An `INFERNO_*`
//! variable we do not know is an error (a typo would otherwise be silently ignored).

use std::fmt;
use std::path::PathBuf;

use super::settings::Layer;
use crate::error::{Exit, fail};

/// The `INFERNO_*` variables that map to settings, with the key each sets.
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("INFERNO_MODEL", "default_model"),
    ("INFERNO_GPU_ENABLED", "backend_config.gpu_enabled"),
    ("INFERNO_GPU_LAYERS", "backend_config.gpu_layers"),
    ("INFERNO_GPU_MARGIN", "backend_config.gpu_margin"),
    ("INFERNO_SPLIT_MODE", "backend_config.split_mode"),
    ("INFERNO_TENSOR_SPLIT", "backend_config.tensor_split"),
    ("INFERNO_MAIN_GPU", "backend_config.main_gpu"),
    ("INFERNO_NO_REPACK", "backend_config.no_repack"),
    ("INFERNO_RPC", "backend_config.rpc"),
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
    ("INFERNO_FREQUENCY_PENALTY", "sampling.frequency_penalty"),
    ("INFERNO_PRESENCE_PENALTY", "sampling.presence_penalty"),
    ("INFERNO_SEED", "sampling.seed"),
    ("INFERNO_SKIP_MODEL_CHECKS", "skip_model_checks"),
    ("INFERNO_SERVER_HOST", "server.host"),
    ("INFERNO_SERVER_PORT", "server.port"),
    ("INFERNO_SERVER_PARALLEL", "server.parallel"),
    ("INFERNO_API_KEY", "server.api_key"),
    ("INFERNO_SERVER_CORS_ORIGINS", "server.cors_origins"),
    ("INFERNO_SERVER_MAX_QUEUE", "server.max_queue"),
    ("INFERNO_SERVER_BODY_LIMIT", "server.body_limit"),
    ("INFERNO_SERVER_REQUEST_TIMEOUT", "server.request_timeout"),
    ("INFERNO_SERVER_SHUTDOWN_GRACE", "server.shutdown_grace"),
    ("INFERNO_SERVER_KEEP_ALIVE", "server.keep_alive"),
    ("INFERNO_SERVER_MAX_LOADED", "server.max_loaded"),
    ("INFERNO_SERVER_MAX_MEMORY", "server.max_memory"),
    ("INFERNO_SERVER_MODELS_DIR", "server.models_dir"),
    ("INFERNO_DRAFT_MODEL", "speculative.draft_model"),
    ("INFERNO_DRAFT_MAX", "speculative.draft_max"),
    ("INFERNO_LOOKUP", "speculative.lookup"),
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
            "backend_config.gpu_layers" => b.gpu_layers = Some(value.parse().map_err(bad)?),
            "backend_config.gpu_margin" => b.gpu_margin = Some(parse_num(value).map_err(bad)?),
            "backend_config.split_mode" => {
                b.split_mode = Some(crate::config::parse_split_mode(value).map_err(bad)?);
            }
            "backend_config.tensor_split" => {
                b.tensor_split = Some(crate::config::parse_tensor_split(value).map_err(bad)?);
            }
            "backend_config.main_gpu" => b.main_gpu = Some(parse_num(value).map_err(bad)?),
            "backend_config.no_repack" => b.no_repack = Some(parse_bool(value).map_err(bad)?),
            "backend_config.rpc" => b.rpc = Some(crate::config::parse_list(value)),
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
            "sampling.frequency_penalty" => {
                s.frequency_penalty = Some(parse_num(value).map_err(bad)?);
            }
            "sampling.presence_penalty" => {
                s.presence_penalty = Some(parse_num(value).map_err(bad)?)
            }
            "sampling.seed" => s.seed = Some(parse_num(value).map_err(bad)?),
            "skip_model_checks" => {
                layer.skip_model_checks = Some(parse_bool(value).map_err(bad)?);
            }
            key if key.starts_with("server.") => {
                let sv = layer.server.get_or_insert_with(Default::default);
                match key {
                    "server.host" => sv.host = Some(value.clone()),
                    "server.port" => sv.port = Some(parse_num(value).map_err(bad)?),
                    "server.parallel" => sv.parallel = Some(parse_num(value).map_err(bad)?),
                    "server.api_key" => sv.api_key = Some(value.clone()),
                    "server.cors_origins" => {
                        sv.cors_origins = Some(
                            value
                                .split(',')
                                .map(str::trim)
                                .filter(|o| !o.is_empty())
                                .map(String::from)
                                .collect(),
                        );
                    }
                    "server.max_queue" => sv.max_queue = Some(parse_num(value).map_err(bad)?),
                    "server.body_limit" => sv.body_limit = Some(parse_num(value).map_err(bad)?),
                    "server.request_timeout" => {
                        sv.request_timeout = Some(parse_num(value).map_err(bad)?);
                    }
                    "server.keep_alive" => sv.keep_alive = Some(parse_num(value).map_err(bad)?),
                    "server.max_loaded" => sv.max_loaded = Some(parse_num(value).map_err(bad)?),
                    "server.max_memory" => sv.max_memory = Some(parse_num(value).map_err(bad)?),
                    "server.models_dir" => sv.models_dir = Some(PathBuf::from(value)),
                    _ => sv.shutdown_grace = Some(parse_num(value).map_err(bad)?),
                }
            }
            "speculative.draft_model" => {
                let sp = layer.speculative.get_or_insert_with(Default::default);
                sp.draft_model = Some(PathBuf::from(value));
            }
            "speculative.draft_max" => {
                let sp = layer.speculative.get_or_insert_with(Default::default);
                sp.draft_max = Some(parse_num(value).map_err(bad)?);
            }
            "speculative.lookup" => {
                let sp = layer.speculative.get_or_insert_with(Default::default);
                sp.lookup = Some(parse_bool(value).map_err(bad)?);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_errors_name_the_variable() {
        let e = from_env(&env(&[("INFERNO_TEMPERATURE", "1")])).unwrap_err();
        assert!(e.to_string().contains("INFERNO_TEMPERATURE"));
        let e = from_env(&env(&[("INFERNO_THREADS", "many")])).unwrap_err();
        assert!(e.to_string().contains("INFERNO_THREADS=\"many\""), "{e}");
        assert!(from_env(&env(&[("INFERNO_CONFIG", "x"), ("PATH", "/bin")])).is_ok());
    }
}
