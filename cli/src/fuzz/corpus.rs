//! The corpus mutation starts from: every input of the format's spec
//! vectors, and each file of a corpus directory the user gives (raw
//! bytes, one input a file).

use std::path::Path;

use anyhow::{anyhow, Result};

use super::generate::Plan;
use super::input::Input;
use crate::vectors;

/// Files of a corpus directory above this size are skipped.
const MAX_FILE_LEN: u64 = 1 << 20;

/// The seeds for `plan`: the vectors (from `vectors_dir` or built in) and
/// the files of `dir`.
///
/// # Errors
/// A vector file that cannot be read, or a `dir` that is not a directory.
pub fn seeds(plan: &Plan, vectors_dir: Option<&Path>, dir: Option<&Path>) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    let file = vectors::load(plan.format, vectors_dir)?;
    for group in &file.groups {
        let datagram = group.mode == "datagram";
        if (datagram && !plan.datagrams) || (!datagram && plan.only_datagrams) {
            continue;
        }
        let limit = vectors::limit_args(&group.limits);
        let limit = limit.max_payload.or(limit.max_line.map(|n| n as u64));
        for test in &group.tests {
            let Ok(bytes) = crate::hex::decode(test.input.as_bytes()) else {
                continue;
            };
            // Under its own limit the vector's verdict holds; under the one
            // limit of a server it is judged afresh.
            let own = limit.filter(|l| plan.limits.contains(l));
            out.push(Input {
                bytes,
                datagram,
                limit: own.unwrap_or(plan.limits[0]),
                expect: own.map(|_| Box::new(test.clone())),
            });
        }
    }
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| anyhow!("cannot read the corpus {}: {e}", dir.display()))?;
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        // Sorted, so the same directory gives the same campaign.
        paths.sort();
        for path in paths {
            let small = std::fs::metadata(&path)
                .map(|m| m.is_file() && m.len() <= MAX_FILE_LEN)
                .unwrap_or(false);
            if !small {
                continue;
            }
            let bytes =
                std::fs::read(&path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
            out.push(Input {
                bytes,
                datagram: plan.only_datagrams,
                limit: plan.limits[0],
                expect: None,
            });
        }
    }
    Ok(out)
}
