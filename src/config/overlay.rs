//! Merging layers: a higher-precedence layer's set values replace a lower one's.

use super::settings::{BackendLayer, Layer, SamplingLayer, ServerLayer, SpeculativeLayer};

impl Layer {
    /// `self` with every value that `higher` sets replaced by `higher`'s.
    pub fn overlay(self, higher: Layer) -> Layer {
        Layer {
            default_model: higher.default_model.or(self.default_model),
            skip_model_checks: higher.skip_model_checks.or(self.skip_model_checks),
            server: merge_opt(self.server, higher.server, |lo, hi| ServerLayer {
                host: hi.host.or(lo.host),
                port: hi.port.or(lo.port),
                parallel: hi.parallel.or(lo.parallel),
                api_key: hi.api_key.or(lo.api_key),
                cors_origins: hi.cors_origins.or(lo.cors_origins),
                max_queue: hi.max_queue.or(lo.max_queue),
                body_limit: hi.body_limit.or(lo.body_limit),
                request_timeout: hi.request_timeout.or(lo.request_timeout),
                shutdown_grace: hi.shutdown_grace.or(lo.shutdown_grace),
                keep_alive: hi.keep_alive.or(lo.keep_alive),
                max_loaded: hi.max_loaded.or(lo.max_loaded),
                max_memory: hi.max_memory.or(lo.max_memory),
                models_dir: hi.models_dir.or(lo.models_dir),
            }),
            models: higher.models.or(self.models),
            speculative: merge_opt(self.speculative, higher.speculative, |lo, hi| {
                SpeculativeLayer {
                    draft_model: hi.draft_model.or(lo.draft_model),
                    draft_max: hi.draft_max.or(lo.draft_max),
                    draft_min: hi.draft_min.or(lo.draft_min),
                    draft_p_min: hi.draft_p_min.or(lo.draft_p_min),
                    draft_gpu_layers: hi.draft_gpu_layers.or(lo.draft_gpu_layers),
                    lookup: hi.lookup.or(lo.lookup),
                    lookup_ngram: hi.lookup_ngram.or(lo.lookup_ngram),
                    adaptive: hi.adaptive.or(lo.adaptive),
                }
            }),
            backend_config: merge_opt(self.backend_config, higher.backend_config, |lo, hi| {
                BackendLayer {
                    gpu_enabled: hi.gpu_enabled.or(lo.gpu_enabled),
                    gpu_layers: hi.gpu_layers.or(lo.gpu_layers),
                    gpu_margin: hi.gpu_margin.or(lo.gpu_margin),
                    split_mode: hi.split_mode.or(lo.split_mode),
                    tensor_split: hi.tensor_split.or(lo.tensor_split),
                    main_gpu: hi.main_gpu.or(lo.main_gpu),
                    no_repack: hi.no_repack.or(lo.no_repack),
                    rpc: hi.rpc.or(lo.rpc),
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
                frequency_penalty: hi.frequency_penalty.or(lo.frequency_penalty),
                presence_penalty: hi.presence_penalty.or(lo.presence_penalty),
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
