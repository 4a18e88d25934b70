//! Configuration files: strict TOML, with errors that name the key in plain words.
//!
//! toml's own messages speak serde (`invalid type: string "big", expected u32`); a user wants
//! `backend_config.context_size: expected a whole number, found the string "big"`. The key path
//! comes from `serde_path_to_error`, the line and column from toml's span, and the wording from
//! [`plain`].

use std::path::Path;

use super::settings::Layer;
use crate::error::{Exit, fail};

/// Parse one TOML file strictly. Relative model paths are relative to the file.
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
    if let Some(spec) = &mut layer.speculative
        && let (Some(m), Some(dir)) = (&spec.draft_model, path.parent())
        && m.is_relative()
    {
        spec.draft_model = Some(dir.join(m));
    }
    if let Some(dir) = path.parent() {
        let anchor = |p: &mut std::path::PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        for m in layer.models.iter_mut().flatten() {
            anchor(&mut m.path);
        }
        if let Some(d) = layer.server.as_mut().and_then(|s| s.models_dir.as_mut()) {
            anchor(d);
        }
    }
    Ok(layer)
}

/// Parse TOML text; the error is one line: "line L, column C: key: message".
pub fn parse_str(text: &str) -> Result<Layer, String> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize::<_, Layer>(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // toml's messages can span lines; errors are one line.
        let msg = inner
            .message()
            .trim()
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("; ");
        let msg = plain(&path, &msg);
        match inner.span() {
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

/// serde's messages in plain words, led by the key: `invalid type: string "big", expected u32`
/// at `backend_config.context_size` → `backend_config.context_size: expected a whole number of
/// 0 or more, found the string "big"`; an unknown field names the whole key.
fn plain(path: &str, msg: &str) -> String {
    let path = if path == "." { "" } else { path };
    if let Some(rest) = msg.strip_prefix("unknown field `")
        && let Some((name, expected)) = rest.split_once('`')
    {
        // serde_path_to_error's path already ends with the unknown key.
        let key = if path.is_empty() { name } else { path };
        let expected = expected
            .trim_start_matches(", ")
            .replace("expected one of", "known keys here are");
        return format!("unknown key {key}; {expected}");
    }
    let described = describe_type_error(msg);
    if path.is_empty() {
        described
    } else {
        format!("{path}: {described}")
    }
}

/// `invalid type: string "big", expected u32` → `expected a whole number of 0 or more, found
/// the string "big"`. Other messages pass unchanged.
fn describe_type_error(msg: &str) -> String {
    let rest = msg
        .strip_prefix("invalid type: ")
        .or_else(|| msg.strip_prefix("invalid value: "));
    let Some((found, expected)) = rest.and_then(|r| r.rsplit_once(", expected ")) else {
        return msg.to_string();
    };
    let expected = match expected {
        "u8" | "u16" | "u32" | "u64" => "a whole number of 0 or more".to_string(),
        "i8" | "i16" | "i32" | "i64" => "a whole number".to_string(),
        "f32" | "f64" => "a number".to_string(),
        "a boolean" => "true or false".to_string(),
        "a string" => "a string in quotes".to_string(),
        other => other.to_string(),
    };
    let found = if let Some(s) = found.strip_prefix("string ") {
        format!("the string {s}")
    } else if let Some(n) = found
        .strip_prefix("integer ")
        .or_else(|| found.strip_prefix("floating point "))
    {
        format!("the number {}", n.trim_matches('`'))
    } else if let Some(b) = found.strip_prefix("boolean ") {
        b.trim_matches('`').to_string()
    } else {
        found.to_string()
    };
    format!("expected {expected}, found {found}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parse_names_line_and_key() {
        let e = parse_str("[backend_config]\ncontext_size = 1\nbogus = 2\n").unwrap_err();
        assert!(
            e.starts_with("line 3, column 1: unknown key backend_config.bogus; known keys here are `gpu_enabled`, "),
            "{e}"
        );
        let e = parse_str("bogus = 2\n").unwrap_err();
        assert!(
            e.starts_with("line 1, column 1: unknown key bogus; "),
            "{e}"
        );
        let e = parse_str("[sampling\n").unwrap_err();
        assert!(e.starts_with("line 1,"), "{e}");
    }

    #[test]
    fn type_errors_name_the_key_in_plain_words() {
        let e = parse_str("[backend_config]\ncontext_size = \"big\"\n").unwrap_err();
        assert_eq!(
            e,
            "line 2, column 16: backend_config.context_size: expected a whole number of 0 or more, found the string \"big\""
        );
        let e = parse_str("[sampling]\ntemp = true\n").unwrap_err();
        assert_eq!(
            e,
            "line 2, column 8: sampling.temp: expected a number, found true"
        );
        let e = parse_str("[backend_config]\nthreads = -1\n").unwrap_err();
        assert!(
            e.ends_with(
                "backend_config.threads: expected a whole number of 0 or more, found the number -1"
            ),
            "{e}"
        );
        let e = parse_str("[backend_config]\ngpu_enabled = 1\n").unwrap_err();
        assert!(
            e.ends_with("backend_config.gpu_enabled: expected true or false, found the number 1"),
            "{e}"
        );
        let e = parse_str("default_model = 3\n").unwrap_err();
        assert!(e.contains("default_model: "), "{e}");
    }
}
