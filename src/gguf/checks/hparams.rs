//! Hyperparameters: the values llama.cpp's loader asserts on (`llama-model.cpp`
//! `load_hparams`), the ones its graph and CPU kernels assert on later (head counts and sizes,
//! epsilons), and their agreement with the tensors in the file.

use std::collections::BTreeSet;

use super::{Ctx, Problem, describe};
use crate::gguf::value::Value;

/// llama.cpp's `LLAMA_MAX_LAYERS` and `LLAMA_MAX_EXPERTS` (llama-hparams.h).
const MAX_LAYERS: u32 = 512;
const MAX_EXPERTS: u32 = 1024;

/// llama.cpp accepts these and asserts on anything else (`llama_rope_scaling_type_from_string`).
const ROPE_SCALING_TYPES: &[&str] = &["none", "linear", "yarn", "longrope"];

/// Architectures whose graph uses layer 0's head counts and sizes for every layer and asserts
/// that the value and key heads (and the rotary dimensions) have one size.
const UNIFORM_HEADS: &[&str] = &["llama", "qwen2", "gemma3"];

pub(super) fn check(c: &Ctx<'_>, out: &mut Vec<Problem>) {
    let Some(n_layer) = layers(c, out) else {
        return;
    };
    for result in [
        required_sizes(c),
        experts(c, n_layer),
        rope(c),
        epsilons(c),
        attention(c, n_layer),
        pooling(c),
    ] {
        if let Err(p) = result {
            out.push(p);
        }
    }
}

/// `block_count`: a u32 in 1..=512 (llama.cpp asserts), equal to the number of `blk.N`
/// tensor groups; `nextn_predict_layers` at most that. Returns the layer count when usable.
fn layers(c: &Ctx<'_>, out: &mut Vec<Problem>) -> Option<usize> {
    let key = c.key("block_count");
    let n = match c.u32("block_count") {
        Err(p) => {
            out.push(p);
            return None;
        }
        // Nothing to check: llama.cpp refuses such a file cleanly, with the better message
        // (an architecture it does not know, or a missing key).
        Ok(None) => return None,
        Ok(Some(n)) => n,
    };
    if !(1..=MAX_LAYERS).contains(&n) {
        out.push(Problem::new(
            &key,
            format!("1 to {MAX_LAYERS} layers (llama.cpp's limit)"),
            n.to_string(),
        ));
        return None;
    }
    let blocks: BTreeSet<u64> =
        c.g.tensors
            .iter()
            .filter_map(|t| t.name.strip_prefix("blk.")?.split('.').next()?.parse().ok())
            .collect();
    if let Some(&last) = blocks.last() {
        if last >= u64::from(n) {
            out.push(Problem::new(
                format!("tensor blk.{last}.*"),
                format!("layers 0 to {} ({key} = {n})", n - 1),
                format!("layer {last}"),
            ));
        } else if blocks.len() as u64 != u64::from(n) {
            out.push(Problem::new(
                &key,
                format!("{} (the blk.N tensor groups in the file)", blocks.len()),
                n.to_string(),
            ));
        }
    }
    match c.u32("nextn_predict_layers") {
        Err(p) => out.push(p),
        Ok(Some(nextn)) if nextn > n => out.push(Problem::new(
            c.key("nextn_predict_layers"),
            format!("at most {key} ({n})"),
            nextn.to_string(),
        )),
        Ok(_) => {}
    }
    Some(n as usize)
}

/// `context_length` and `embedding_length` are u32 values; the embedding is not 0.
fn required_sizes(c: &Ctx<'_>) -> Result<(), Problem> {
    // Both are required by llama.cpp, which refuses a file without them cleanly.
    c.u32("context_length")?;
    match c.u32("embedding_length")? {
        Some(0) => Err(Problem::new(c.key("embedding_length"), "at least 1", "0")),
        _ => Ok(()),
    }
}

/// Experts: at most 1024; a model with experts uses some per token and has expert tensors; a
/// dense model names none (llama.cpp asserts on each of these).
fn experts(c: &Ctx<'_>, n_layer: usize) -> Result<(), Problem> {
    let count = c.u32("expert_count")?.unwrap_or(0);
    let used = c
        .per_layer("expert_used_count", n_layer)?
        .map_or(0, |v| v.into_iter().max().unwrap_or(0));
    let groups = c.u32("expert_group_count")?.unwrap_or(0);
    let count_key = c.key("expert_count");
    if count > MAX_EXPERTS {
        return Err(Problem::new(
            count_key,
            format!("at most {MAX_EXPERTS} experts"),
            count.to_string(),
        ));
    }
    if count == 0 {
        if used > 0 || groups > 0 {
            let key = if used > 0 {
                "expert_used_count"
            } else {
                "expert_group_count"
            };
            return Err(Problem::new(
                c.key(key),
                format!("0 or no such key on a model without experts ({count_key} is 0 or absent)"),
                (if used > 0 { used } else { i64::from(groups) }).to_string(),
            ));
        }
        return Ok(());
    }
    if !c.has_tensor("_exps.") {
        return Err(Problem::new(
            count_key,
            "no such key: the model has no expert tensors (blk.N.ffn_*_exps)",
            count.to_string(),
        ));
    }
    if used < 1 || used > i64::from(count) {
        return Err(Problem::new(
            c.key("expert_used_count"),
            format!("1 to {count} experts per token"),
            used.to_string(),
        ));
    }
    if groups > 0 && groups >= count {
        return Err(Problem::new(
            c.key("expert_group_count"),
            format!("fewer than {count}"),
            groups.to_string(),
        ));
    }
    if groups > 1 {
        let group_used = c.u32("expert_group_used_count")?.unwrap_or(0);
        if count % groups != 0 || group_used == 0 || group_used >= groups {
            return Err(Problem::new(
                c.key("expert_group_used_count"),
                format!(
                    "1 to {} with {groups} groups dividing {count} experts",
                    groups - 1
                ),
                group_used.to_string(),
            ));
        }
    }
    Ok(())
}

/// `rope.scaling.type`: one of the names llama.cpp knows (anything else is an assert there).
fn rope(c: &Ctx<'_>) -> Result<(), Problem> {
    let key = c.key("rope.scaling.type");
    let Some(v) = c.g.get(&key) else {
        return Ok(());
    };
    match v {
        Value::String(s) if ROPE_SCALING_TYPES.contains(&s.as_str()) => Ok(()),
        other => Err(Problem::new(
            key,
            format!("one of {}", ROPE_SCALING_TYPES.join(", ")),
            describe(Some(other)),
        )),
    }
}

/// Norm epsilons: finite and not negative (the CPU norm kernels assert `eps >= 0`; NaN fails).
fn epsilons(c: &Ctx<'_>) -> Result<(), Problem> {
    for suffix in [
        "attention.layer_norm_rms_epsilon",
        "attention.layer_norm_epsilon",
    ] {
        if let Some(eps) = c.f32(suffix)?
            && !(eps.is_finite() && eps >= 0.0)
        {
            return Err(Problem::new(
                c.key(suffix),
                "a finite number of 0 or more",
                eps.to_string(),
            ));
        }
    }
    Ok(())
}

/// Head counts and sizes of a model with attention: heads and KV heads at least 1, KV heads
/// dividing heads (grouped-query attention; 0 divides by zero), head sizes that the embedding
/// and the rotary dimensions agree with.
fn attention(c: &Ctx<'_>, n_layer: usize) -> Result<(), Problem> {
    if !(c.has_tensor(".attn_q.") || c.has_tensor(".attn_qkv.") || c.has_tensor(".attn_k.")) {
        return Ok(());
    }
    let heads = c
        .per_layer("attention.head_count", n_layer)?
        .ok_or_else(|| {
            Problem::new(
                c.key("attention.head_count"),
                "the number of attention heads",
                "no such key",
            )
        })?;
    let kv_heads = c
        .per_layer("attention.head_count_kv", n_layer)?
        .unwrap_or_else(|| heads.clone());
    let uniform = UNIFORM_HEADS.contains(&c.arch);
    for (il, (&h, &kv)) in heads.iter().zip(&kv_heads).enumerate() {
        if h < 1 {
            return Err(Problem::new(
                c.key("attention.head_count"),
                "at least 1 head in every layer",
                format!("{h} in layer {il}"),
            ));
        }
        if kv < 1 || kv > h || h % kv != 0 {
            return Err(Problem::new(
                c.key("attention.head_count_kv"),
                format!("a divisor of the {h} attention heads (grouped-query attention)"),
                format!("{kv} in layer {il}"),
            ));
        }
        if uniform && (h != heads[0] || kv != kv_heads[0]) {
            return Err(Problem::new(
                c.key("attention.head_count"),
                format!(
                    "the same head counts in every layer ({} uses layer 0's)",
                    c.arch
                ),
                format!(
                    "{h}/{kv} in layer {il}, {}/{} in layer 0",
                    heads[0], kv_heads[0]
                ),
            ));
        }
    }
    head_sizes(c, heads[0] as u64)
}

/// Key and value head sizes (`attention.key_length`/`value_length`, or the embedding divided
/// by the heads) and the rotary dimensions, as the architecture's graph needs them.
fn head_sizes(c: &Ctx<'_>, heads: u64) -> Result<(), Problem> {
    let embd = u64::from(c.u32("embedding_length")?.unwrap_or(0));
    let k = c
        .u32("attention.key_length")?
        .map_or(embd / heads, u64::from);
    let v = c
        .u32("attention.value_length")?
        .map_or(embd / heads, u64::from);
    let rot = c.u32("rope.dimension_count")?.map_or(k, u64::from);
    let key_key = c.key("attention.key_length");
    if k == 0 {
        return Err(Problem::new(
            key_key,
            "a head size of at least 1",
            format!("0 (embedding {embd} / {heads} heads)"),
        ));
    }
    let rot_key = c.key("rope.dimension_count");
    // The CPU rope kernel asserts even dimensions within the head.
    if rot > k || rot % 2 != 0 {
        return Err(Problem::new(
            rot_key,
            format!("an even number up to the head size {k}"),
            rot.to_string(),
        ));
    }
    if !UNIFORM_HEADS.contains(&c.arch) {
        return Ok(());
    }
    if v != k {
        return Err(Problem::new(
            c.key("attention.value_length"),
            format!("the key head size {k} ({} asserts they are equal)", c.arch),
            v.to_string(),
        ));
    }
    if matches!(c.arch, "llama" | "qwen2") && rot != k {
        return Err(Problem::new(
            rot_key,
            format!("the head size {k} ({} asserts it)", c.arch),
            rot.to_string(),
        ));
    }
    if c.arch == "qwen2" && k * heads != embd {
        return Err(Problem::new(
            c.key("embedding_length"),
            format!("{heads} heads x head size {k} = {}", k * heads),
            embd.to_string(),
        ));
    }
    if c.arch == "gemma3" {
        for (suffix, full) in [
            ("attention.key_length_swa", k),
            ("attention.value_length_swa", v),
            ("rope.dimension_count_swa", rot),
        ] {
            if let Some(x) = c.u32(suffix)?
                && u64::from(x) != full
            {
                return Err(Problem::new(
                    c.key(suffix),
                    format!(
                        "{full}, the same as the full-attention layers (the KV cache is shared)"
                    ),
                    x.to_string(),
                ));
            }
        }
    }
    Ok(())
}

/// `pooling_type`: one of llama.cpp's five (0..=4).
fn pooling(c: &Ctx<'_>) -> Result<(), Problem> {
    match c.u32("pooling_type")? {
        Some(p) if p > 4 => Err(Problem::new(c.key("pooling_type"), "0 to 4", p.to_string())),
        _ => Ok(()),
    }
}
