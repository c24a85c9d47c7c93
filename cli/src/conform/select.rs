//! Which cases run and how their results are read: `--case` and
//! `--section` (ids, sections, globs), and the lists of `--expect`
//! (expected failures) and `--exclude` (cases not run).
//!
//! The combination rule: a case runs when it matches one of the `--case`
//! patterns (or none was given) AND lies in one of the `--section`
//! patterns (or none was given), and is not matched by `--exclude`.
//! Repeating a flag widens; giving both kinds narrows. A pattern that
//! matches no case is an error, so a typo is not a silent empty run.

use std::path::Path;

use anyhow::{anyhow, bail, Result};

use super::case::Case;

/// `*` matches any run of characters (`/` included), `?` any one;
/// everything else matches itself (`#` too).
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // The classic backtracking matcher: on a mismatch, let the last `*`
    // swallow one more character.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// A case id matched by `pattern` (an id or a glob).
pub(crate) fn matches_id(pattern: &str, case: &Case) -> bool {
    if is_glob(pattern) {
        glob(pattern, &case.id)
    } else {
        pattern == case.id
    }
}

/// A case in section `s`: `typed` (a format), `typed/5` (a section and its
/// subsections), `typed/5.2`, or a glob over the section (`reqres/5.*`).
pub(crate) fn in_section(case: &Case, s: &str) -> bool {
    if is_glob(s) {
        // The id's section part too: `typed/8/*` picks the hostile-peer
        // cases, whose section is `security/<n>`.
        let id_section = case.id.rsplit_once('/').map_or("", |(s, _)| s);
        return glob(s, &case.section) || glob(s, id_section);
    }
    // `--section typed/8` or `--section typed` also picks the
    // hostile-peer cases, whose section is `security/<n>`.
    case.id.starts_with(&format!("{s}/"))
        || case.section == *s
        || case.section.starts_with(&format!("{s}."))
        || case.section.starts_with(&format!("{s}/"))
}

/// The `--case` / `--section` rule above.
pub(crate) fn selected(cases: &[String], sections: &[String], case: &Case) -> bool {
    let by_case = cases.is_empty() || cases.iter().any(|p| matches_id(p, case));
    let by_section = sections.is_empty() || sections.iter().any(|s| in_section(case, s));
    by_case && by_section
}

/// One line of an `--expect` or `--exclude` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// A case id or a glob.
    pub pattern: String,
    /// Why it is listed.
    pub reason: String,
    /// Its line in the file, for messages.
    pub line: usize,
}

/// A list of cases with reasons, read from a file: one entry a line, the id
/// or glob first, then whitespace and the reason (a `#` before the reason
/// is allowed). Blank lines and lines starting with `#` are skipped; a `#`
/// inside an id is part of it (`reqres/5.5/request#23`).
pub struct CaseList {
    /// The file, for messages.
    pub path: String,
    /// Its entries.
    pub entries: Vec<Entry>,
}

impl CaseList {
    /// Reads `path`; `need_reason` makes a bare id an error.
    ///
    /// # Errors
    /// An unreadable file, or an entry without a reason when one is needed.
    pub fn read(path: &Path, need_reason: bool) -> Result<CaseList> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
        CaseList::parse(&path.display().to_string(), &text, need_reason)
    }

    /// Parses the text of a list.
    ///
    /// # Errors
    /// As [`CaseList::read`].
    pub fn parse(path: &str, text: &str, need_reason: bool) -> Result<CaseList> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let (pattern, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            let reason = reason.trim().trim_start_matches('#').trim();
            if need_reason && reason.is_empty() {
                bail!(
                    "{path}:{}: {pattern} has no reason (write one after the id)",
                    i + 1
                );
            }
            entries.push(Entry {
                pattern: pattern.to_string(),
                reason: reason.to_string(),
                line: i + 1,
            });
        }
        Ok(CaseList {
            path: path.to_string(),
            entries,
        })
    }

    /// The first entry that matches `case`.
    pub fn find(&self, case: &Case) -> Option<&Entry> {
        self.entries.iter().find(|e| matches_id(&e.pattern, case))
    }

    /// Entries that match none of `cases`: stale, an error, so the list
    /// shrinks with the bugs it records.
    ///
    /// # Errors
    /// Names every stale entry.
    pub fn check_all_match(&self, cases: &[Case]) -> Result<()> {
        let stale: Vec<String> = self
            .entries
            .iter()
            .filter(|e| !cases.iter().any(|c| matches_id(&e.pattern, c)))
            .map(|e| format!("{}:{}: {}", self.path, e.line, e.pattern))
            .collect();
        if stale.is_empty() {
            Ok(())
        } else {
            bail!(
                "{} no case (see `wireforms conform --list`): {}",
                if stale.len() == 1 {
                    "an entry matches"
                } else {
                    "entries match"
                },
                stale.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::conform::case::{Check, Level};

    fn case(id: &str, section: &str) -> Case {
        Case {
            id: id.into(),
            section: section.into(),
            level: Level::Must,
            what: String::new(),
            check: Check::NotApplicable(String::new()),
        }
    }

    #[test]
    fn globs() {
        assert!(glob("reqres/5.*", "reqres/5.5"));
        assert!(glob("reqres/5.*", "reqres/5.5/request#23"));
        assert!(!glob("reqres/5.*", "reqres/5"));
        assert!(glob("*#23", "reqres/5.5/request#23"));
        assert!(glob("typed/?/101", "typed/3/101"));
        assert!(!glob("typed/?/101", "typed/5.2/101"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
    }

    #[test]
    fn sections_and_ids_combine() {
        let c = case("reqres/5.5/request#23", "reqres/5.5");
        let h = case("typed/8/201", "security/2");
        assert!(in_section(&c, "reqres/5.*"));
        assert!(in_section(&c, "reqres/5"));
        assert!(in_section(&h, "typed/8"));
        assert!(in_section(&h, "typed/8*"));
        assert!(in_section(&h, "security/*"));
        let none: [String; 0] = [];
        assert!(selected(&["*#23".into()], &["reqres/5.*".into()], &c));
        assert!(!selected(&["*#24".into()], &["reqres/5.*".into()], &c));
        assert!(!selected(&["*#23".into()], &["typed".into()], &c));
        assert!(selected(&none, &none, &c));
    }

    #[test]
    fn list_keeps_hash_ids_and_reasons() {
        let text = "# a comment\n\nreqres/5.5/request#23  # lower-cases ß\ntyped/5.2/*   waits for the payload\nbare\n";
        let l = CaseList::parse("x", text, false).unwrap();
        assert_eq!(l.entries[0].pattern, "reqres/5.5/request#23");
        assert_eq!(l.entries[0].reason, "lower-cases ß");
        assert_eq!(l.entries[1].reason, "waits for the payload");
        assert_eq!(l.entries[2].line, 5);
        let e = CaseList::parse("x", text, true).err().unwrap().to_string();
        assert_eq!(e, "x:5: bare has no reason (write one after the id)");
        let cases = [case("reqres/5.5/request#23", "reqres/5.5")];
        let e = l.check_all_match(&cases).err().unwrap().to_string();
        assert!(
            e.contains("x:4: typed/5.2/*") && e.contains("x:5: bare"),
            "{e}"
        );
    }
}
