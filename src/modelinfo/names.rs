//! llama.cpp's names for file types, and the one-line model description llama-bench shows.

use crate::gguf::GgufFile;

/// llama.cpp's `llama_ftype` names.
pub fn file_type_name(ft: u64) -> String {
    let name = match ft {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        4 => "Q4_1_SOME_F16",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        39 => "NVFP4",
        40 => "Q1_0",
        41 => "Q2_0",
        _ => return format!("unknown ({ft})"),
    };
    name.to_string()
}

/// llama.cpp's long file-type names (`llama_model_ftype_name`), as llama-bench shows them.
fn file_type_desc(ft: u64) -> String {
    let name = match ft {
        0 => "all F32",
        2 => "Q4_0",
        10 => "Q2_K - Medium",
        11 => "Q3_K - Small",
        12 => "Q3_K - Medium",
        13 => "Q3_K - Large",
        14 => "Q4_K - Small",
        15 => "Q4_K - Medium",
        16 => "Q5_K - Small",
        17 => "Q5_K - Medium",
        21 => "Q2_K - Small",
        38 => "MXFP4 MoE",
        _ => return file_type_name(ft),
    };
    name.to_string()
}

/// A one-line description like llama-bench's model column: architecture, size label (or the
/// parameter count) and file type, e.g. `qwen2 494M Q4_K - Medium`.
pub fn description(g: &GgufFile, n_params: u64) -> String {
    let arch = g.architecture().unwrap_or("unknown");
    let size = g
        .get_str("general.size_label")
        .map(str::to_string)
        .unwrap_or_else(|| {
            if n_params >= 1_000_000_000 {
                format!("{:.1}B", n_params as f64 / 1e9)
            } else {
                format!("{}M", n_params / 1_000_000)
            }
        });
    let ft = g
        .get_u64("general.file_type")
        .map_or_else(|| "unknown type".to_string(), file_type_desc);
    format!("{arch} {size} {ft}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_type_names() {
        assert_eq!(file_type_name(15), "Q4_K_M");
        assert_eq!(file_type_name(999), "unknown (999)");
        assert_eq!(file_type_desc(15), "Q4_K - Medium");
    }
}
