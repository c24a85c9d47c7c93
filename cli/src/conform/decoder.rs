//! Running a decoder case: the vector sent over the harness protocol
//! through [`Testee`](super::driver::Testee), its verdict graded.

use super::driver::{Testee, TesteeError};
use super::report::{Evidence, Outcome};
use crate::vectors::{grade, HarnessCase, Test, Verdict};

/// One vector and the harness case that carries it.
pub struct VectorCase {
    /// Sent to the decoder.
    pub case: HarnessCase,
    /// What it must answer.
    pub test: Test,
}

impl VectorCase {
    /// Sends the case to `testee` and grades the verdict; `unsupported`
    /// skips it.
    ///
    /// # Errors
    /// `CannotStart`: the command cannot run at all (reported once by the
    /// caller, not as a failure of every case).
    pub async fn run(
        &self,
        testee: &mut Testee,
        evidence: &mut Evidence,
    ) -> Result<Outcome, TesteeError> {
        evidence.sent = crate::hex::decode(self.case.input.as_bytes()).unwrap_or_default();
        let verdict: Verdict = match testee.call(&self.case.id, &self.case).await {
            Ok(v) => v,
            Err(e @ TesteeError::CannotStart(_)) => return Err(e),
            Err(e) => return Ok(Outcome::Failed(e.to_string())),
        };
        evidence.received_decoded = serde_json::to_string(&verdict).unwrap_or_default();
        Ok(if verdict.result == "unsupported" {
            Outcome::Unimplemented("the decoder does not support this case".into())
        } else {
            match grade(&self.test, &verdict) {
                Ok(()) => Outcome::Passed,
                Err(seen) => Outcome::Failed(seen),
            }
        })
    }
}
