//! `[[models]]` entries: the models one `inferno serve` offers, each with its own defaults.
//!
//! ```toml
//! [[models]]
//! name = "coder"            # what requests put in "model"; default: the file stem
//! path = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
//! context_size = 4096       # per slot, as -c
//! parallel = 2              # slots, as --parallel
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One model a server offers. Unset values come from the server's own settings.
#[derive(Debug, Default, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub name: Option<String>,
    pub path: PathBuf,
    pub context_size: Option<u32>,
    pub parallel: Option<u32>,
    pub gpu_layers: Option<u32>,
}

impl ModelEntry {
    /// The name requests use: `name`, or the file stem.
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| stem(&self.path))
    }
}

/// `dir/qwen.gguf` → `qwen`.
pub fn stem(path: &std::path::Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn entries_parse_strictly() {
        let l = crate::config::file::parse_str(
            "[[models]]\npath = \"a.gguf\"\n[[models]]\nname = \"b\"\npath = \"x/b2.gguf\"\nparallel = 2\n",
        )
        .unwrap();
        let m = l.models.unwrap();
        assert_eq!(m[0].name(), "a");
        assert_eq!(m[1].name(), "b");
        assert_eq!(m[1].parallel, Some(2));
        let e =
            crate::config::file::parse_str("[[models]]\npath = \"a\"\nslots = 2\n").unwrap_err();
        assert!(e.contains("slots"), "{e}");
    }
}
