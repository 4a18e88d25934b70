//! Grammars for constrained output: llama.cpp's GBNF, from a JSON schema with llama.cpp's own
//! converter (common/json-schema-to-grammar), checked before a request is accepted.

use llama_cpp_2::sampling::LlamaSampler;

use super::model::LoadedModel;
use crate::error::{Exit, fail};

/// The grammar for any JSON object (OpenAI's `response_format: json_object`), as llama.cpp's
/// server builds it: the converter applied to `{"type": "object"}`.
pub fn json_object() -> anyhow::Result<String> {
    from_json_schema(r#"{"type":"object"}"#)
}

/// The grammar for documents that validate against `schema` (a JSON Schema, as text).
pub fn from_json_schema(schema: &str) -> anyhow::Result<String> {
    llama_cpp_2::json_schema_to_grammar(schema).map_err(|e| {
        fail(
            Exit::Prompt,
            format!("llama.cpp cannot turn this JSON schema into a grammar: {e}"),
        )
    })
}

/// Parse `grammar` against the model's vocabulary once, so a bad one is refused before the
/// request is queued (the scheduler builds the real sampler on its own thread).
pub fn validate(model: &LoadedModel, grammar: &str) -> anyhow::Result<()> {
    LlamaSampler::grammar(&model.model, grammar, "root")
        .map(drop)
        .map_err(|e| {
            fail(
                Exit::Prompt,
                format!("llama.cpp cannot use this grammar: {e}"),
            )
        })
}
