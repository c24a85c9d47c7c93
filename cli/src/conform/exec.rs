//! `conform --exec CMD`: every vector sent to a decoder through the harness
//! protocol (`spec/harness.md`), its verdicts graded.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

use super::{Case, Check, Level, Outcome};
use crate::formats::Format;
use crate::harness::MAX_FRAME_LEN;
use crate::vectors::{self, grade, HarnessCase, Test, Verdict};

/// One vector and the harness case that carries it.
pub struct VectorCase {
    /// Sent to the decoder.
    pub case: HarnessCase,
    /// What it must answer.
    pub test: Test,
}

/// The vector cases of `format`.
pub fn cases(format: Format, dir: Option<&Path>) -> Result<Vec<Case>> {
    let file = vectors::load(format, dir)?;
    let mut out = Vec::new();
    for group in &file.groups {
        for test in &group.tests {
            let id = vectors::case_id(format, test);
            let expect = match (test.result.as_str(), &test.error) {
                ("valid", _) => super::plural(test.messages.len(), "message", "messages"),
                (_, Some(e)) => e.clone(),
                (r, None) => r.to_string(),
            };
            let what = format!(
                "{} {}: {} -> {expect}",
                format.name(),
                group.mode,
                test.comment
            );
            out.push(Case {
                id: id.clone(),
                section: test.section.clone(),
                level: Level::Must,
                what,
                check: Check::Vector(Box::new(VectorCase {
                    case: HarnessCase {
                        id,
                        format: format.name().into(),
                        mode: group.mode.clone(),
                        limits: group.limits.clone(),
                        input: test.input.clone(),
                    },
                    test: test.clone(),
                })),
            });
        }
    }
    Ok(out)
}

struct Decoder {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

/// Runs the decoder command, restarting it after a case it failed to answer.
pub struct Runner {
    command: Option<String>,
    limit: Duration,
    decoder: Option<Decoder>,
}

impl Runner {
    /// A runner for `command` (split at whitespace; no shell).
    pub fn new(command: Option<String>, limit: Duration) -> Runner {
        Runner {
            command,
            limit,
            decoder: None,
        }
    }

    fn spawn(&self) -> Result<Decoder, String> {
        let command = self.command.as_deref().unwrap_or("");
        let mut words = command.split_whitespace();
        let program = words.next().ok_or("--exec is empty")?;
        let mut child = Command::new(program)
            .args(words)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        Ok(Decoder {
            child,
            stdin,
            stdout,
        })
    }

    /// Sends one case and grades the verdict; `unsupported` skips it.
    pub async fn run(&mut self, v: &VectorCase) -> Outcome {
        match self.exchange(v).await {
            Ok(verdict) if verdict.result == "unsupported" => {
                Outcome::Skipped("the decoder does not support this case".into())
            }
            Ok(verdict) => match grade(&v.test, &verdict) {
                Ok(()) => Outcome::Passed,
                Err(seen) => Outcome::Failed(seen),
            },
            Err(seen) => Outcome::Failed(seen),
        }
    }

    async fn exchange(&mut self, v: &VectorCase) -> Result<Verdict, String> {
        if self.decoder.is_none() {
            self.decoder = Some(self.spawn()?);
        }
        let limit = self.limit;
        let exchange = async {
            let d = self.decoder.as_mut().ok_or("no decoder")?;
            let body = serde_json::to_vec(&v.case).map_err(|e| e.to_string())?;
            let frame = crate::harness::frame(&body).map_err(|e| e.to_string())?;
            d.stdin
                .write_all(&frame)
                .await
                .map_err(|e| format!("cannot write to the decoder: {e}"))?;
            d.stdin.flush().await.map_err(|e| e.to_string())?;
            read_verdict(&mut d.stdout).await
        };
        let verdict = match timeout(limit, exchange).await {
            Ok(Ok(verdict)) => verdict,
            Ok(Err(e)) => {
                self.kill().await;
                return Err(e);
            }
            Err(_) => {
                self.kill().await;
                return Err(format!("no verdict within {limit:?}"));
            }
        };
        if verdict.id != v.case.id {
            self.kill().await;
            return Err(format!(
                "verdict for {:?} (expected {:?}): the decoder is out of step",
                verdict.id, v.case.id
            ));
        }
        Ok(verdict)
    }

    async fn kill(&mut self) {
        if let Some(mut d) = self.decoder.take() {
            let _ = d.child.kill().await;
        }
    }

    /// Closes the decoder's input and lets it exit (briefly).
    pub async fn finish(&mut self) {
        if let Some(mut d) = self.decoder.take() {
            drop(d.stdin);
            if timeout(Duration::from_secs(2), d.child.wait())
                .await
                .is_err()
            {
                let _ = d.child.kill().await;
            }
        }
    }
}

async fn read_verdict(stdout: &mut ChildStdout) -> Result<Verdict, String> {
    let mut head = [0u8; 4];
    stdout
        .read_exact(&mut head)
        .await
        .map_err(|_| "the decoder ended without a verdict".to_string())?;
    let len = u32::from_be_bytes(head);
    if len > MAX_FRAME_LEN {
        return Err(format!(
            "verdict frame of {len} bytes is over the harness limit"
        ));
    }
    let mut body = vec![0; len as usize];
    stdout
        .read_exact(&mut body)
        .await
        .map_err(|_| "the decoder ended inside a verdict".to_string())?;
    serde_json::from_slice(&body).map_err(|e| format!("bad verdict: {e}"))
}
