//! JSON (one document: the build, then every result) and JSONL (one result per line, each
//! carrying the build so lines stand alone).

use serde::Serialize;

use super::{Record, record};
use crate::bench::{BuildInfo, TestResult};

pub fn json(build: &BuildInfo, results: &[TestResult]) -> String {
    #[derive(Serialize)]
    struct Doc<'a> {
        build: &'a BuildInfo,
        results: Vec<Record<'a>>,
    }
    let doc = Doc {
        build,
        results: results.iter().map(record).collect(),
    };
    serde_json::to_string_pretty(&doc).expect("serializable") + "\n"
}

/// One object per line; each carries the build fields so lines stand alone.
pub fn jsonl(build: &BuildInfo, results: &[TestResult]) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        build: &'a BuildInfo,
        #[serde(flatten)]
        record: Record<'a>,
    }
    results
        .iter()
        .map(|r| {
            serde_json::to_string(&Line {
                build,
                record: record(r),
            })
            .expect("serializable")
                + "\n"
        })
        .collect()
}
