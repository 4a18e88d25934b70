//! `inferno serve` flags.

use clap::Args;
use const_format::formatcp;

use super::{ModelArgs, SamplingArgs};
use crate::config::defaults::{self, text as default};

#[derive(Debug, Args)]
#[command(mut_arg("context_size", |a| a.help(formatcp!(
    "Context size in tokens PER SLOT: every one of the --parallel requests gets this much \
     (the server holds parallel x this); 0 = the largest that fits free memory, up to the \
     trained size [config: backend_config.context_size, default {}]",
    default::CONTEXT_SIZE
))))]
pub struct ServeArgs {
    #[command(flatten)]
    pub model: ModelArgs,

    /// Sampling defaults for requests that do not set them
    #[command(flatten)]
    pub sampling: SamplingArgs,

    #[arg(long, value_name = "ADDR", help = formatcp!(
        "Address to listen on; only this machine by default [config: server.host, default {}]",
        defaults::HOST
    ))]
    pub host: Option<String>,

    #[arg(long, value_name = "PORT", help = formatcp!(
        "Port to listen on [config: server.port, default {}]",
        default::PORT
    ))]
    pub port: Option<u16>,

    #[arg(long, value_name = "N", help = formatcp!(
        "Requests served at once (slots), sharing each decode step [config: server.parallel, default {}]",
        default::PARALLEL
    ))]
    pub parallel: Option<u32>,

    /// Require 'Authorization: Bearer KEY' on every endpoint but /health [config: server.api_key, env INFERNO_API_KEY]
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,

    /// Let browser pages from this origin call the API (repeatable; "*" for any) [config: server.cors_origins]
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,

    #[arg(long, value_name = "N", help = formatcp!(
        "Requests that may wait for a slot; more get 503 with Retry-After [config: server.max_queue, default {}]",
        default::MAX_QUEUE
    ))]
    pub max_queue: Option<u32>,

    #[arg(long, value_name = "SECONDS", help = formatcp!(
        "Longest a request may take, queueing included; then it ends with what it has [config: server.request_timeout, default {}]",
        default::REQUEST_TIMEOUT
    ))]
    pub request_timeout: Option<u64>,

    #[arg(long, value_name = "BYTES", help = formatcp!(
        "Largest request body (413 above) [config: server.body_limit, default {}]",
        default::BODY_LIMIT
    ))]
    pub body_limit: Option<u64>,

    /// Offer every .gguf file in DIR as a model named by its file stem [config: server.models_dir]
    #[arg(long, value_name = "DIR")]
    pub models_dir: Option<std::path::PathBuf>,

    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, help = formatcp!(
        "Seconds an idle model stays loaded (-1: forever, 0: unload when idle); a request's keep_alive overrides it [config: server.keep_alive, default {}]",
        default::KEEP_ALIVE
    ))]
    pub keep_alive: Option<i64>,

    #[arg(long, value_name = "N", help = formatcp!(
        "Most models loaded at once; the least recently used idle one is unloaded first [config: server.max_loaded, default {}]",
        default::MAX_LOADED
    ))]
    pub max_loaded: Option<u32>,

    /// Bytes all loaded models may take together (weights, KV cache, compute); default: the memory free on the machine [config: server.max_memory]
    #[arg(long, value_name = "BYTES")]
    pub max_memory: Option<u64>,

    /// Speculative decoding (needs --parallel 1)
    #[command(flatten)]
    pub spec: super::SpecArgs,
}
