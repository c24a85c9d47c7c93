//! Running an encoder case: the vector's messages sent over the harness
//! protocol through [`Testee`](super::driver::Testee), the bytes (or the
//! refusal) graded.

use super::driver::{Testee, TesteeError};
use super::report::{Evidence, Outcome};
use crate::vectors::{grade_encoding, EncodeAnswer, EncodeCase, Test};

/// One vector's messages and the encode request that carries them.
pub struct EncoderCase {
    /// Sent to the encoder.
    pub case: EncodeCase,
    /// What it must give.
    pub test: Test,
}

impl EncoderCase {
    /// Sends the request to `testee` and grades the answer; `unsupported`
    /// is unimplemented.
    ///
    /// # Errors
    /// `CannotStart`, reported once by the caller.
    pub async fn run(
        &self,
        testee: &mut Testee,
        evidence: &mut Evidence,
    ) -> Result<Outcome, TesteeError> {
        evidence.sent_decoded = serde_json::to_string(&self.case).unwrap_or_default();
        let answer: EncodeAnswer = match testee.call(&self.case.id, &self.case).await {
            Ok(a) => a,
            Err(e @ TesteeError::CannotStart(_)) => return Err(e),
            Err(e) => return Ok(Outcome::Failed(e.to_string())),
        };
        evidence.received_decoded = serde_json::to_string(&answer).unwrap_or_default();
        if let Some(out) = &answer.output {
            evidence.received = crate::hex::decode(out.as_bytes()).unwrap_or_default();
        }
        Ok(if answer.result == "unsupported" {
            Outcome::Unimplemented("the testee does not encode this format".into())
        } else {
            match grade_encoding(&self.test, &answer) {
                Ok(()) => Outcome::Passed,
                Err(seen) => Outcome::Failed(seen),
            }
        })
    }
}
