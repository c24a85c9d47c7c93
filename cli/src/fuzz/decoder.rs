//! The decoder oracle: each input sent to the decoder under test as a
//! harness case (`spec/harness.md`), its verdict graded, exactly as
//! `conform --exec` grades a vector, against this crate's verdict on the
//! same input (or against the vector's own, for an unmutated vector).

use anyhow::Result;
use serde_json::Value;

use super::finding::{short_verdict, verdict_key, Difference};
use super::input::Input;
use super::Check;
use crate::formats::Format;
use crate::vectors::{self, grade, HarnessCase, Test, Verdict};

/// The spec section a verdict is filed under in a vector: the one its
/// error cites, else the message layout (§2.2).
pub fn section_of(format: Format, v: &Verdict) -> String {
    v.section
        .clone()
        .unwrap_or_else(|| format!("{}/2.2", format.spec_prefix()))
}

/// The vector test that says what `reference` says of `input`.
pub fn test_of(format: Format, input: &Input, reference: &Verdict) -> Test {
    if let Some(t) = &input.expect {
        return (**t).clone();
    }
    let invalid = reference.result == "invalid";
    Test {
        id: 0,
        comment: String::new(),
        section: section_of(format, reference),
        input: crate::hex::encode(&input.bytes),
        result: reference.result.clone(),
        messages: reference.messages.clone(),
        error: reference.error.clone(),
        error_offset: reference.error_offset,
        needed: if reference.error.as_deref() == Some("incomplete") {
            Some(reference.needed.clone().unwrap_or(Value::Null))
        } else {
            None
        },
        error_detail: if invalid {
            reference.error_detail.clone()
        } else {
            None
        },
        flags: Vec::new(),
        canonical: None,
    }
}

/// The reference's verdict on `input`: this crate's decoder, run as the
/// spec's "Running a vector" says.
pub fn reference(format: Format, input: &Input) -> Verdict {
    vectors::judge(&input.case(format, String::new()), None)
}

use crate::conform::driver::{Testee, TesteeError};

/// The decoder oracle of one campaign job.
pub struct DecoderOracle {
    /// The format.
    pub format: Format,
    /// The decoder under test, through the conform driver.
    pub testee: Testee,
    next: u64,
}

impl DecoderOracle {
    /// An oracle for `decoder`.
    pub fn new(format: Format, testee: Testee) -> DecoderOracle {
        DecoderOracle {
            format,
            testee,
            next: 0,
        }
    }

    async fn verdict(&mut self, case: &HarnessCase) -> Result<Verdict, TesteeError> {
        self.testee.call(&case.id, case).await
    }

    /// Sends `input` and grades the answer.
    ///
    /// # Errors
    /// The decoder cannot be started at all.
    pub async fn check(&mut self, input: &Input) -> Result<Check> {
        self.next += 1;
        let case = input.case(self.format, format!("fuzz/{}", self.next));
        let reference = reference(self.format, input);
        let test = test_of(self.format, input, &reference);
        let mode = input.mode();
        let broke = |key: &str, why: String| {
            Check::Differ(Difference {
                key: format!("{mode}: {key}"),
                reference: short_verdict(&reference),
                testee: why.clone(),
                detail: why,
            })
        };
        match self.verdict(&case).await {
            Ok(v) if v.result == "unsupported" => Ok(Check::Skipped),
            Ok(v) => Ok(match grade(&test, &v) {
                Ok(()) => Check::Agree,
                Err(detail) => Check::Differ(Difference {
                    key: verdict_key(mode, &reference, &v),
                    reference: short_verdict(&reference),
                    testee: short_verdict(&v),
                    detail,
                }),
            }),
            Err(TesteeError::CannotStart(why)) => Err(anyhow::anyhow!(why)),
            Err(TesteeError::Timeout(limit)) => {
                Ok(broke("hang", format!("no verdict within {limit:?}")))
            }
            Err(TesteeError::Broken(why)) => Ok(broke("crash or non-protocol output", why)),
            Err(TesteeError::BadAnswer(why)) => Ok(broke("bad answer", why)),
        }
    }

    /// Lets a decoder process exit.
    pub async fn finish(&mut self) {
        self.testee.finish().await;
    }
}
