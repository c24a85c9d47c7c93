//! Case results, the closing line, and the JSON and JUnit reports.

use serde_json::{json, Value};

use super::case::{Case, Level};

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

/// The `--junit` report: one test suite per spec document. quick-junit
/// writes the XML (escaping, and the control characters XML 1.0 cannot
/// carry).
pub fn junit(verdicts: &[Verdict]) -> anyhow::Result<String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

    let mut suites: Vec<TestSuite> = Vec::new();
    for v in verdicts {
        let doc = v.section.split('/').next().unwrap_or("");
        let seen = v.seen().unwrap_or("");
        let status = match v.status {
            "FAIL" => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(seen).set_type(v.level.as_str());
                s
            }
            "SKIP" => {
                let mut s = TestCaseStatus::skipped();
                if v.excluded {
                    s.set_message(format!("excluded: {seen}"));
                } else {
                    s.set_message(seen);
                }
                s
            }
            _ => TestCaseStatus::success(),
        };
        let name = format!("{} [{}] {}", v.id, v.level.as_str(), v.what);
        let mut case = TestCase::new(name, status);
        case.set_classname(v.section.as_str());
        if v.status == "WARN" {
            case.set_system_out(format!("WARN (SHOULD): {seen}"));
        }
        let suite = match suites.iter_mut().position(|s| s.name.as_str() == doc) {
            Some(i) => &mut suites[i],
            None => {
                suites.push(TestSuite::new(doc));
                let last = suites.len() - 1;
                &mut suites[last]
            }
        };
        suite.add_test_case(case);
    }
    let mut report = Report::new("wireforms conform");
    report.add_test_suites(suites);
    report
        .to_string()
        .map_err(|e| anyhow::anyhow!("cannot write the JUnit report: {e}"))
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::conform::case::{Case, Check, Level};

    fn verdict(id: &str, outcome: Outcome, level: Level) -> Verdict {
        let case = Case {
            id: id.into(),
            section: id.rsplit_once('/').map_or(id, |(s, _)| s).to_string(),
            level,
            what: "a <b> & \"c\" \u{1}".into(),
            check: Check::NotApplicable(String::new()),
        };
        Verdict::new(&case, outcome, false, false)
    }

    #[test]
    fn junit_groups_by_document_and_escapes() {
        let xml = junit(&[
            verdict("typed/3/101", Outcome::Passed, Level::Must),
            verdict(
                "typed/5/1",
                Outcome::Failed("saw <none> & more".into()),
                Level::Must,
            ),
            verdict("magic/5/1", Outcome::Failed("late".into()), Level::Should),
            verdict("magic/6/1", Outcome::Skipped("n/a".into()), Level::Must),
        ])
        .unwrap();
        assert!(xml.starts_with("<?xml"), "{xml}");
        assert!(
            xml.contains("<testsuite name=\"typed\" tests=\"2\""),
            "{xml}"
        );
        assert!(
            xml.contains("<testsuite name=\"magic\" tests=\"2\""),
            "{xml}"
        );
        assert!(
            xml.contains("message=\"saw &lt;none&gt; &amp; more\""),
            "{xml}"
        );
        assert!(xml.contains("a &lt;b&gt; &amp;"), "{xml}");
        assert!(xml.contains("WARN (SHOULD): late"), "{xml}");
        assert!(xml.contains("<skipped"), "{xml}");
        assert!(!xml.contains('\u{1}'), "{xml}");
    }
}
