//! From parameter lists to test instances, as llama-bench does: every combination of the
//! model parameters, and for each: the pp tests, the tg tests, then the pg tests.

use std::path::PathBuf;

use super::TestSpec;
use crate::config::FlashAttn;

/// Parameter lists (each non-empty).
#[derive(Debug, Clone)]
pub struct Lists {
    pub models: Vec<PathBuf>,
    pub n_prompt: Vec<u32>,
    pub n_gen: Vec<u32>,
    pub pg: Vec<(u32, u32)>,
    pub depth: Vec<u32>,
    pub threads: Vec<u32>,
    pub batch: Vec<u32>,
    pub ubatch: Vec<u32>,
    pub gpu_layers: Vec<u32>,
    pub flash_attn: Vec<FlashAttn>,
    pub n_ctx: Vec<u32>,
    pub op_offload: bool,
}

/// llama-bench's list syntax: `a,b,c`, ranges `first-last`, `first-last+step`, `first-last*mult`.
pub fn parse_list(s: &str) -> Result<Vec<u32>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |t: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| format!("'{t}' in '{s}' is not a whole number"))
        };
        let Some((first, rest)) = part.split_once('-') else {
            out.push(num(part)?);
            continue;
        };
        let first = num(first)?;
        let (last, step) = if let Some((l, st)) = rest.split_once('+') {
            (num(l)?, Step::Add(num(st)?))
        } else if let Some((l, st)) = rest.split_once('*') {
            (num(l)?, Step::Mul(num(st)?))
        } else {
            (num(rest)?, Step::Add(1))
        };
        match step {
            Step::Add(0) | Step::Mul(0 | 1) => {
                return Err(format!("range '{part}' never advances"));
            }
            Step::Mul(_) if first == 0 => {
                return Err(format!("range '{part}' starts at 0 and multiplies"));
            }
            _ => {}
        }
        if last < first {
            return Err(format!("range '{part}' ends before it starts"));
        }
        let mut v = first;
        while v <= last {
            out.push(v);
            if out.len() > 10_000 {
                return Err(format!("range '{part}' has more than 10000 values"));
            }
            v = match step {
                Step::Add(d) => v.checked_add(d),
                Step::Mul(m) => v.checked_mul(m),
            }
            .unwrap_or(u32::MAX);
            if v == u32::MAX {
                break;
            }
        }
    }
    if out.is_empty() {
        return Err(format!("'{s}' has no values"));
    }
    Ok(out)
}

enum Step {
    Add(u32),
    Mul(u32),
}

/// `512,128` pairs for `--pg`.
pub fn parse_pair(s: &str) -> Result<(u32, u32), String> {
    let (p, g) = s
        .split_once(',')
        .ok_or_else(|| format!("--pg '{s}' must be two numbers: PROMPT,GEN"))?;
    let n = |t: &str| {
        t.trim()
            .parse::<u32>()
            .map_err(|_| format!("--pg '{s}': '{t}' is not a whole number"))
    };
    Ok((n(p)?, n(g)?))
}

/// Every test instance, in llama-bench's order.
pub fn instances(l: &Lists) -> Vec<TestSpec> {
    let mut out = Vec::new();
    for model in &l.models {
        for &gpu_layers in &l.gpu_layers {
            for &threads in &l.threads {
                for &n_batch in &l.batch {
                    for &n_ubatch in &l.ubatch {
                        for &flash_attn in &l.flash_attn {
                            for &n_depth in &l.depth {
                                for &n_ctx in &l.n_ctx {
                                    let base = TestSpec {
                                        model: model.clone(),
                                        n_prompt: 0,
                                        n_gen: 0,
                                        n_depth,
                                        threads,
                                        n_batch,
                                        n_ubatch: n_ubatch.min(n_batch),
                                        gpu_layers,
                                        flash_attn,
                                        op_offload: l.op_offload,
                                        n_ctx,
                                    };
                                    let pp = l.n_prompt.iter().filter(|&&p| p > 0).map(|&p| (p, 0));
                                    let tg = l.n_gen.iter().filter(|&&g| g > 0).map(|&g| (0, g));
                                    let pg = l.pg.iter().copied().filter(|&(p, g)| p > 0 || g > 0);
                                    for (n_prompt, n_gen) in pp.chain(tg).chain(pg) {
                                        out.push(TestSpec {
                                            n_prompt,
                                            n_gen,
                                            ..base.clone()
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_ranges() {
        assert_eq!(parse_list("512").unwrap(), vec![512]);
        assert_eq!(parse_list("1,2, 4").unwrap(), vec![1, 2, 4]);
        assert_eq!(parse_list("1-4").unwrap(), vec![1, 2, 3, 4]);
        assert_eq!(parse_list("8-32+8").unwrap(), vec![8, 16, 24, 32]);
        assert_eq!(parse_list("16-128*2").unwrap(), vec![16, 32, 64, 128]);
        assert_eq!(parse_list("1,4-5").unwrap(), vec![1, 4, 5]);
        assert!(parse_list("x").is_err());
        assert!(parse_list("4-1").is_err());
        assert!(parse_list("1-8*1").is_err());
        assert!(parse_list("").is_err());
        assert_eq!(parse_pair("512,128").unwrap(), (512, 128));
        assert!(parse_pair("512").is_err());
    }

    #[test]
    fn every_combination_in_llama_bench_order() {
        let l = Lists {
            models: vec!["a.gguf".into()],
            n_prompt: vec![512],
            n_gen: vec![128],
            pg: vec![(64, 16)],
            depth: vec![0],
            threads: vec![1, 2],
            batch: vec![512],
            ubatch: vec![512],
            gpu_layers: vec![0],
            flash_attn: vec![FlashAttn::Auto],
            n_ctx: vec![0],
            op_offload: true,
        };
        let names: Vec<(u32, String)> = instances(&l)
            .iter()
            .map(|t| (t.threads, t.name()))
            .collect();
        assert_eq!(
            names,
            vec![
                (1, "pp512".into()),
                (1, "tg128".into()),
                (1, "pp64+tg16".into()),
                (2, "pp512".into()),
                (2, "tg128".into()),
                (2, "pp64+tg16".into())
            ]
        );
        let t = &instances(&l)[0];
        assert_eq!(t.context(), 512);
    }
}
