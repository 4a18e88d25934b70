//! `gpu_layers`: a number of layers, or `auto` (as many as fit the GPUs' free memory; see
//! [`crate::modelinfo::placement`]). Written `--gpu-layers auto|N`, `gpu_layers = "auto"` or
//! a number in config, `INFERNO_GPU_LAYERS=auto|N`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuLayers {
    Auto,
    Count(u32),
}

impl FromStr for GpuLayers {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("auto") {
            return Ok(GpuLayers::Auto);
        }
        s.parse::<u32>()
            .map(GpuLayers::Count)
            .map_err(|_| format!("'{s}' is not a number of layers or 'auto'"))
    }
}

impl fmt::Display for GpuLayers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GpuLayers::Auto => f.write_str("auto"),
            GpuLayers::Count(n) => write!(f, "{n}"),
        }
    }
}

impl Serialize for GpuLayers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            GpuLayers::Auto => s.serialize_str("auto"),
            GpuLayers::Count(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for GpuLayers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = GpuLayers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number of layers or \"auto\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<GpuLayers, E> {
                u32::try_from(v)
                    .map(GpuLayers::Count)
                    .map_err(|_| E::custom(format!("{v} is not a number of layers (0 or more)")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<GpuLayers, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<GpuLayers, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::GpuLayers;

    #[test]
    fn forms() {
        assert_eq!("auto".parse(), Ok(GpuLayers::Auto));
        assert_eq!("AUTO".parse(), Ok(GpuLayers::Auto));
        assert_eq!("12".parse(), Ok(GpuLayers::Count(12)));
        assert!("-1".parse::<GpuLayers>().is_err());
        assert!("all".parse::<GpuLayers>().is_err());
        let l =
            crate::config::file::parse_str("[backend_config]\ngpu_layers = \"auto\"\n").unwrap();
        assert_eq!(l.backend_config.unwrap().gpu_layers, Some(GpuLayers::Auto));
        let l = crate::config::file::parse_str("[backend_config]\ngpu_layers = 7\n").unwrap();
        assert_eq!(
            l.backend_config.unwrap().gpu_layers,
            Some(GpuLayers::Count(7))
        );
        let e = crate::config::file::parse_str("[backend_config]\ngpu_layers = \"most\"\n")
            .unwrap_err();
        assert!(e.contains("gpu_layers") && e.contains("'most'"), "{e}");
    }
}

/// `--split-mode none|layer|row`.
pub fn parse_split_mode(s: &str) -> Result<crate::engine::SplitMode, String> {
    use crate::engine::SplitMode;
    match s.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(SplitMode::None),
        "layer" => Ok(SplitMode::Layer),
        "row" => Ok(SplitMode::Row),
        _ => Err(format!("'{s}' is not one of none, layer, row")),
    }
}

/// `--tensor-split 3,1`: one non-negative share per device (not all zero).
pub fn parse_tensor_split(s: &str) -> Result<Vec<f32>, String> {
    let v: Vec<f32> = s
        .split([',', '/'])
        .map(|x| {
            x.trim()
                .parse::<f32>()
                .ok()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .ok_or_else(|| format!("'{x}' in '{s}' is not a share (a number, 0 or more)"))
        })
        .collect::<Result<_, _>>()?;
    if v.iter().all(|x| *x == 0.0) {
        return Err(format!("'{s}' gives every device 0"));
    }
    Ok(v)
}

/// `--tensor-split` as clap takes it (one value that holds the whole list).
#[derive(Debug, Clone, PartialEq)]
pub struct Shares(pub Vec<f32>);

impl FromStr for Shares {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_tensor_split(s).map(Shares)
    }
}

/// A comma-separated list (`INFERNO_RPC=host:50052,host2:50052`), blanks dropped.
pub fn parse_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod split_tests {
    #[test]
    fn split_values() {
        assert_eq!(super::parse_tensor_split("3,1"), Ok(vec![3.0, 1.0]));
        assert!(super::parse_tensor_split("1,x").is_err());
        assert!(super::parse_tensor_split("0,0").is_err());
        assert!(super::parse_tensor_split("-1,2").is_err());
        assert!(super::parse_split_mode("ROW").is_ok());
        assert!(super::parse_split_mode("tensor").is_err());
        assert_eq!(super::parse_list(" a:1, ,b:2"), ["a:1", "b:2"]);
    }
}
