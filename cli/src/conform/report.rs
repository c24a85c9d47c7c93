//! Case results, the closing line, and the JSON and JUnit reports.

use std::time::Duration;

use serde_json::{json, Value};

use super::case::{plural, Case, Level};
use crate::hex;

/// What running a case gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The implementation did what the spec says.
    Passed,
    /// It did not; what was seen.
    Failed(String),
    /// Not run; why.
    Skipped(String),
    /// The testee said it does not implement this case.
    Unimplemented(String),
}

/// How a case's outcome counts, after its level and `--expect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Passed.
    Pass,
    /// A MUST failed (or a SHOULD with `--strict`): fails the run.
    Fail,
    /// A SHOULD failed: reported, does not fail the run.
    Warn,
    /// Failed, and listed in `--expect`: does not fail the run.
    ExpectedFailure,
    /// Passed, but listed in `--expect`: fails the run, so the list shrinks.
    UnexpectedPass,
    /// Not run (not applicable here, or `--exclude`).
    Skip,
    /// The testee does not implement it.
    Unimplemented,
}

impl Status {
    /// Every status, in report order.
    pub const ALL: [Status; 7] = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::ExpectedFailure,
        Status::UnexpectedPass,
        Status::Skip,
        Status::Unimplemented,
    ];

    /// The word that starts a case's line and names it in the reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Warn => "WARN",
            Status::ExpectedFailure => "XFAIL",
            Status::UnexpectedPass => "XPASS",
            Status::Skip => "SKIP",
            Status::Unimplemented => "UNIMPL",
        }
    }

    /// In words, for the JSON and HTML reports.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::ExpectedFailure => "expected failure",
            Status::UnexpectedPass => "unexpected pass",
            Status::Skip => "skipped",
            Status::Unimplemented => "unimplemented",
        }
    }

    /// Whether it fails the run.
    pub fn fails_run(self) -> bool {
        matches!(self, Status::Fail | Status::UnexpectedPass)
    }
}

/// Bytes a case sent and received, for the reports.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Written to the implementation.
    pub sent: Vec<u8>,
    /// Read from it.
    pub received: Vec<u8>,
    /// What they decode to, one message a line.
    pub sent_decoded: String,
    /// What they decode to, one message a line.
    pub received_decoded: String,
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
    /// How it counts.
    pub status: Status,
    /// The `--expect` reason, when listed.
    pub expected: Option<String>,
    /// How long it ran.
    pub time: Duration,
    /// What went over the wire (or the harness pipe).
    pub evidence: Evidence,
}

impl Verdict {
    /// Grades `outcome` for `case`; `expected` is its `--expect` reason.
    pub fn new(case: &Case, outcome: Outcome, strict: bool, expected: Option<&str>) -> Verdict {
        let status = match (&outcome, case.level, expected) {
            (Outcome::Skipped(_), _, _) => Status::Skip,
            (Outcome::Unimplemented(_), _, _) => Status::Unimplemented,
            (Outcome::Passed, _, Some(_)) => Status::UnexpectedPass,
            (Outcome::Failed(_), _, Some(_)) => Status::ExpectedFailure,
            (Outcome::Passed, _, None) => Status::Pass,
            (Outcome::Failed(_), Level::Should, None) if !strict => Status::Warn,
            (Outcome::Failed(_), _, None) => Status::Fail,
        };
        Verdict {
            id: case.id.clone(),
            section: case.section.clone(),
            level: case.level,
            what: case.what.clone(),
            outcome,
            status,
            expected: expected.map(str::to_string),
            time: Duration::ZERO,
            evidence: Evidence::default(),
        }
    }

    /// The human line.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} {:<24} {:<11} {:<6} {}",
            self.status.as_str(),
            self.id,
            self.section,
            self.level.as_str(),
            self.what
        );
        let why = self.expected.as_deref().unwrap_or("");
        match (&self.outcome, self.status) {
            (Outcome::Passed, Status::UnexpectedPass) => line.push_str(&format!(
                " (listed as an expected failure, but passed: remove it from the list; it said: {why})"
            )),
            (Outcome::Failed(seen), Status::ExpectedFailure) => {
                line.push_str(&format!(" (expected failure, {why}: {seen})"))
            }
            (Outcome::Failed(seen), _) => line.push_str(&format!(": {seen}")),
            (Outcome::Skipped(why), _) => line.push_str(&format!(" (skipped: {why})")),
            (Outcome::Unimplemented(why), _) => {
                line.push_str(&format!(" (unimplemented: {why})"))
            }
            (Outcome::Passed, _) => {}
        }
        line
    }

    /// What was seen, or why it did not run.
    pub fn seen(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Failed(s) | Outcome::Skipped(s) | Outcome::Unimplemented(s) => Some(s),
            Outcome::Passed => None,
        }
    }
}

/// Counts per status.
pub struct Summary {
    counts: [usize; 7],
}

impl Summary {
    /// Counts `verdicts`.
    pub fn of<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Summary {
        let mut counts = [0; 7];
        for v in verdicts {
            counts[v.status as usize] += 1;
        }
        Summary { counts }
    }

    /// How many have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.counts[status as usize]
    }

    /// `passed` of the closing line: PASS and WARN.
    pub fn passed(&self) -> usize {
        self.count(Status::Pass) + self.count(Status::Warn)
    }

    /// `failed` of the closing line: FAIL and XPASS, what fails the run.
    pub fn failed(&self) -> usize {
        Status::ALL
            .iter()
            .filter(|s| s.fails_run())
            .map(|s| self.count(*s))
            .sum()
    }

    /// `N passed, N failed`, `, N skipped` when some were, then expected
    /// failures and unimplemented cases when there are any.
    pub fn closing_line(&self) -> String {
        let mut line = format!("{} passed, {} failed", self.passed(), self.failed());
        let mut more = |n: usize, what: &str| {
            if n > 0 {
                line.push_str(&format!(", {n} {what}"));
            }
        };
        more(self.count(Status::Skip), "skipped");
        more(
            self.count(Status::ExpectedFailure),
            if self.count(Status::ExpectedFailure) == 1 {
                "expected failure"
            } else {
                "expected failures"
            },
        );
        more(self.count(Status::Unimplemented), "unimplemented");
        line
    }

    /// Lines printed before the closing line, explaining its parts.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.count(Status::Warn) > 0 {
            out.push(format!(
                "{} failed as warnings (--strict makes them failures)",
                plural(self.count(Status::Warn), "SHOULD case", "SHOULD cases")
            ));
        }
        if self.count(Status::UnexpectedPass) > 0 {
            out.push(format!(
                "{} listed in --expect passed: counted as failed until the list drops them",
                plural(self.count(Status::UnexpectedPass), "case", "cases")
            ));
        }
        out
    }
}

/// The `--json` report: the closing line's counts, a count per status,
/// and every case with its status, time and evidence.
pub fn json(verdicts: &[Verdict], summary: &Summary) -> Value {
    let cases: Vec<Value> = verdicts
        .iter()
        .map(|v| {
            json!({
                "id": v.id,
                "section": v.section,
                "level": v.level.as_str(),
                "status": v.status.as_str(),
                "outcome": v.status.name(),
                "what": v.what,
                "seen": v.seen(),
                "expected": v.expected,
                "time_ms": v.time.as_secs_f64() * 1000.0,
                "sent": hex::encode(&v.evidence.sent),
                "received": hex::encode(&v.evidence.received),
            })
        })
        .collect();
    let counts: serde_json::Map<String, Value> = Status::ALL
        .iter()
        .map(|s| (s.name().to_string(), Value::from(summary.count(*s))))
        .collect();
    json!({
        "passed": summary.passed(),
        "failed": summary.failed(),
        "warned": summary.count(Status::Warn),
        "skipped": summary.count(Status::Skip),
        "expected_failures": summary.count(Status::ExpectedFailure),
        "unexpected_passes": summary.count(Status::UnexpectedPass),
        "unimplemented": summary.count(Status::Unimplemented),
        "counts": counts,
        "cases": cases,
    })
}

/// The `--junit` report: one test suite per spec document, each case with
/// its `time`. FAIL and XPASS are failures; SKIP, UNIMPL and XFAIL are
/// skipped (XFAIL with the reason and what was seen); WARN passes with its
/// finding on `system-out`. quick-junit writes the XML (escaping, and the
/// control characters XML 1.0 cannot carry).
pub fn junit(verdicts: &[Verdict]) -> anyhow::Result<String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

    let mut suites: Vec<TestSuite> = Vec::new();
    for v in verdicts {
        let doc = v.section.split('/').next().unwrap_or("");
        let seen = v.seen().unwrap_or("");
        let why = v.expected.as_deref().unwrap_or("");
        let status = match v.status {
            Status::Fail => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(seen).set_type(v.level.as_str());
                s
            }
            Status::UnexpectedPass => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!(
                    "unexpected pass: listed in --expect ({why}) but passed"
                ))
                .set_type("XPASS");
                s
            }
            Status::Skip | Status::Unimplemented => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!("{}: {seen}", v.status.name()));
                s
            }
            Status::ExpectedFailure => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!("expected failure ({why}): {seen}"));
                s
            }
            Status::Pass | Status::Warn => TestCaseStatus::success(),
        };
        let name = format!("{} [{}] {}", v.id, v.level.as_str(), v.what);
        let mut case = TestCase::new(name, status);
        case.set_classname(v.section.as_str());
        case.set_time(v.time);
        if v.status == Status::Warn {
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
        suite.time = Some(suite.time.unwrap_or_default() + v.time);
    }
    let mut report = Report::new("wireforms conform");
    report.set_time(verdicts.iter().map(|v| v.time).sum());
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
        let mut v = Verdict::new(&case, outcome, false, None);
        v.time = Duration::from_millis(12);
        v
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
        assert!(xml.contains("time=\"0.012\""), "{xml}");
    }
}
