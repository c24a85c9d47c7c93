//! Which cases run: `--case`, `--section`, and the `--exclude` list.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{anyhow, Result};

use super::case::Case;

pub(crate) fn in_section(case: &Case, s: &str) -> bool {
    // `--section typed/8` or `--section typed` also picks the
    // hostile-peer cases, whose section is `security/<n>`.
    case.id.starts_with(&format!("{s}/"))
        || case.section == *s
        || case.section.starts_with(&format!("{s}."))
        || case.section.starts_with(&format!("{s}/"))
}

pub(crate) fn selected(cases: &[String], sections: &[String], case: &Case) -> bool {
    let by_case = cases.is_empty() || cases.contains(&case.id);
    let by_section = sections.is_empty() || sections.iter().any(|s| in_section(case, s));
    by_case && by_section
}

pub(crate) fn read_exclusions(path: &Path) -> Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}
