//! Case results, the closing line, and the JSON and JUnit reports.

use serde_json::{json, Value};

use super::{Case, Level};

/// What running a case gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server or decoder did what the spec says.
    Passed,
    /// It did not; what was seen.
    Failed(String),
    /// Not run; why.
    Skipped(String),
}

/// A case's result, graded.
pub struct Verdict {
    /// Case id.
    pub id: String,
    /// Spec section.
    pub section: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// What was checked.
    pub what: String,
    /// What happened.
    pub outcome: Outcome,
    /// `PASS`, `FAIL`, `WARN` or `SKIP`.
    pub status: &'static str,
    /// Named in `--exclude`: reported, not counted.
    pub excluded: bool,
}

impl Verdict {
    /// Grades `outcome` for `case`.
    pub fn new(case: &Case, outcome: Outcome, strict: bool, excluded: bool) -> Verdict {
        let status = match (&outcome, case.level) {
            _ if excluded => "SKIP",
            (Outcome::Passed, _) => "PASS",
            (Outcome::Skipped(_), _) => "SKIP",
            (Outcome::Failed(_), Level::Should) if !strict => "WARN",
            (Outcome::Failed(_), _) => "FAIL",
        };
        Verdict {
            id: case.id.clone(),
            section: case.section.clone(),
            level: case.level,
            what: case.what.clone(),
            outcome,
            status,
            excluded,
        }
    }

    /// The human line.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} {:<24} {:<11} {:<6} {}",
            self.status,
            self.id,
            self.section,
            self.level.as_str(),
            self.what
        );
        match (&self.outcome, self.excluded) {
            (Outcome::Passed, true) => {
                line.push_str(" (excluded as an expected failure, but passed)")
            }
            (Outcome::Failed(seen), true) => line.push_str(&format!(" (expected failure: {seen})")),
            (Outcome::Failed(seen), false) => line.push_str(&format!(": {seen}")),
            (Outcome::Skipped(why), _) => line.push_str(&format!(" (skipped: {why})")),
            (Outcome::Passed, false) => {}
        }
        line
    }

    fn seen(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Failed(s) | Outcome::Skipped(s) => Some(s),
            Outcome::Passed => None,
        }
    }
}

/// Counts.
pub struct Summary {
    /// PASS and WARN.
    pub passed: usize,
    /// FAIL.
    pub failed: usize,
    /// WARN (also in `passed`).
    pub warned: usize,
    /// SKIP: not applicable or excluded.
    pub skipped: usize,
}

impl Summary {
    /// Counts `verdicts`.
    pub fn of<'a>(verdicts: impl IntoIterator<Item = &'a Verdict> + Clone) -> Summary {
        let count = |s: &str| {
            verdicts
                .clone()
                .into_iter()
                .filter(|v| v.status == s)
                .count()
        };
        Summary {
            passed: count("PASS") + count("WARN"),
            failed: count("FAIL"),
            warned: count("WARN"),
            skipped: count("SKIP"),
        }
    }

    /// `N passed, N failed` and `, N skipped` when some were.
    pub fn closing_line(&self) -> String {
        let mut line = format!("{} passed, {} failed", self.passed, self.failed);
        if self.skipped > 0 {
            line.push_str(&format!(", {} skipped", self.skipped));
        }
        line
    }
}

/// The `--json` report.
pub fn json(verdicts: &[Verdict], summary: &Summary) -> Value {
    let cases: Vec<Value> = verdicts
        .iter()
        .map(|v| {
            json!({
                "id": v.id,
                "section": v.section,
                "level": v.level.as_str(),
                "status": v.status,
                "what": v.what,
                "seen": v.seen(),
                "excluded": v.excluded,
            })
        })
        .collect();
    json!({
        "passed": summary.passed,
        "failed": summary.failed,
        "warned": summary.warned,
        "skipped": summary.skipped,
        "cases": cases,
    })
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 cannot carry most control characters at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The `--junit` report: one test suite per spec document.
pub fn junit(verdicts: &[Verdict]) -> String {
    let mut suites: Vec<(&str, Vec<&Verdict>)> = Vec::new();
    for v in verdicts {
        let doc = v.section.split('/').next().unwrap_or("");
        match suites.iter_mut().find(|(d, _)| *d == doc) {
            Some((_, list)) => list.push(v),
            None => suites.push((doc, vec![v])),
        }
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let s = Summary::of(verdicts);
    out.push_str(&format!(
        "<testsuites name=\"wireforms conform\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n",
        verdicts.len(),
        s.failed,
        s.skipped
    ));
    for (doc, list) in suites {
        let s = Summary::of(list.iter().copied());
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n",
            xml_escape(doc),
            list.len(),
            s.failed,
            s.skipped
        ));
        for v in list {
            let name = xml_escape(&format!("{} [{}] {}", v.id, v.level.as_str(), v.what));
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml_escape(&v.section),
                name
            ));
            let seen = xml_escape(v.seen().unwrap_or(""));
            match v.status {
                "FAIL" => out.push_str(&format!(
                    ">\n      <failure message=\"{seen}\" type=\"{}\"/>\n    </testcase>\n",
                    v.level.as_str()
                )),
                "WARN" => out.push_str(&format!(
                    ">\n      <system-out>WARN (SHOULD): {seen}</system-out>\n    </testcase>\n"
                )),
                "SKIP" => out.push_str(&format!(
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                    if v.excluded {
                        format!("excluded: {seen}")
                    } else {
                        seen
                    }
                )),
                _ => out.push_str("/>\n"),
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
