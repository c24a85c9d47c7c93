//! The driver side of the harness protocol (`spec/harness.md`): runs a
//! testee command and exchanges length-framed JSON with it over its
//! standard input and output, one request and one answer at a time.
//!
//! The API is small so that anything that needs a testee (conformance,
//! differential fuzzing) reuses it:
//!
//! ```text
//! let mut t = Testee::new("wireforms harness", Duration::from_secs(5));
//! let answer: serde_json::Value = t.call(&id, &request).await?;
//! t.finish().await;
//! ```
//!
//! A testee that does not answer in time, answers out of step, writes bytes
//! that are not a frame, or exits is killed; the next call starts a new
//! one. A command that cannot be started is [`TesteeError::CannotStart`],
//! which callers report once rather than once per request.

use std::fmt;
use std::process::Stdio;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

use crate::harness::MAX_FRAME_LEN;

/// Why a call got no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TesteeError {
    /// The command could not be started (empty, not found, not executable).
    CannotStart(String),
    /// No answer within the limit.
    Timeout(Duration),
    /// The testee exited, or wrote something that is not a harness frame.
    Broken(String),
    /// A frame came, but not the answer to this request.
    BadAnswer(String),
}

impl fmt::Display for TesteeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TesteeError::CannotStart(why) => write!(f, "{why}"),
            TesteeError::Timeout(limit) => write!(f, "no answer within {limit:?}"),
            TesteeError::Broken(why) | TesteeError::BadAnswer(why) => write!(f, "{why}"),
        }
    }
}

struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

/// A testee command, started on first use and restarted after a failure.
pub struct Testee {
    program: Option<std::ffi::OsString>,
    args: Vec<std::ffi::OsString>,
    limit: Duration,
    /// Boxed: a `Testee` stays small to hold in an enum.
    process: Option<Box<Process>>,
    /// Processes started so far (1 when nothing went wrong).
    pub starts: usize,
}

impl Testee {
    /// A testee running `command` (split at whitespace; no shell), each
    /// answer awaited at most `limit`.
    pub fn new(command: &str, limit: Duration) -> Testee {
        let mut words = command.split_whitespace().map(std::ffi::OsString::from);
        Testee {
            program: words.next(),
            args: words.collect(),
            limit,
            process: None,
            starts: 0,
        }
    }

    /// A testee running `program` with `args` (no splitting: a path with
    /// spaces is fine).
    pub fn with_program(
        program: impl Into<std::ffi::OsString>,
        args: &[&str],
        limit: Duration,
    ) -> Testee {
        Testee {
            program: Some(program.into()),
            args: args.iter().map(Into::into).collect(),
            limit,
            process: None,
            starts: 0,
        }
    }

    fn spawn(&mut self) -> Result<Process, TesteeError> {
        let program = self
            .program
            .clone()
            .ok_or_else(|| TesteeError::CannotStart("the command is empty".into()))?;
        let shown = program.to_string_lossy().into_owned();
        let mut child = Command::new(&program)
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| TesteeError::CannotStart(format!("cannot start {shown}: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let (Some(stdin), Some(stdout)) = (stdin, stdout) else {
            return Err(TesteeError::CannotStart("no pipes to the testee".into()));
        };
        self.starts += 1;
        Ok(Process {
            child,
            stdin,
            stdout,
        })
    }

    /// Sends `request` and returns the answer, which must echo `id` in its
    /// `id` field.
    ///
    /// # Errors
    /// See [`TesteeError`]; after any but `CannotStart` the testee has been
    /// killed and the next call starts a new one.
    pub async fn call<Q: Serialize, A: DeserializeOwned>(
        &mut self,
        id: &str,
        request: &Q,
    ) -> Result<A, TesteeError> {
        let value = self.call_value(request).await?;
        let echoed = value.get("id").and_then(Value::as_str).unwrap_or("");
        if echoed != id {
            self.kill().await;
            return Err(TesteeError::BadAnswer(format!(
                "answer for {echoed:?} (expected {id:?}): the testee is out of step"
            )));
        }
        match serde_json::from_value(value) {
            Ok(a) => Ok(a),
            Err(e) => Err(TesteeError::BadAnswer(format!("bad answer: {e}"))),
        }
    }

    /// Sends `request` and returns whatever JSON comes back.
    ///
    /// # Errors
    /// As [`Testee::call`], without the `id` check.
    pub async fn call_value<Q: Serialize>(&mut self, request: &Q) -> Result<Value, TesteeError> {
        if self.process.is_none() {
            self.process = Some(Box::new(self.spawn()?));
        }
        let body = serde_json::to_vec(request)
            .map_err(|e| TesteeError::CannotStart(format!("cannot encode a request: {e}")))?;
        let frame = crate::harness::frame(&body)
            .map_err(|e| TesteeError::CannotStart(format!("cannot frame a request: {e}")))?;
        let limit = self.limit;
        let exchange = async {
            let p = self
                .process
                .as_mut()
                .ok_or_else(|| TesteeError::Broken("no testee".into()))?;
            // A testee that exits at once may have said why on standard
            // output: read it even when the write fails.
            let written = match p.stdin.write_all(&frame).await {
                Ok(()) => p.stdin.flush().await,
                Err(e) => Err(e),
            };
            match (read_answer(&mut p.stdout).await, written) {
                (Err(TesteeError::Broken(why)), Err(e)) if why.ends_with("without an answer") => {
                    Err(TesteeError::Broken(format!(
                        "cannot write to the testee: {e}"
                    )))
                }
                (answer, _) => answer,
            }
        };
        let result = match timeout(limit, exchange).await {
            Ok(r) => r,
            Err(_) => Err(TesteeError::Timeout(limit)),
        };
        if result.is_err() {
            self.kill().await;
        }
        result
    }

    async fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.child.kill().await;
        }
    }

    /// Closes the testee's input and lets it exit (briefly), else kills it.
    pub async fn finish(&mut self) {
        if let Some(mut p) = self.process.take() {
            drop(p.stdin);
            if timeout(Duration::from_secs(2), p.child.wait())
                .await
                .is_err()
            {
                let _ = p.child.kill().await;
            }
        }
    }
}

/// Bytes that are plainly text: shown as text, so a testee that prints to
/// standard output by mistake is told so.
fn as_text(bytes: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(bytes).ok()?;
    let printable = s
        .chars()
        .all(|c| !c.is_control() || c == '\n' || c == '\r' || c == '\t');
    printable.then(|| s.chars().take(80).collect())
}

fn stray(head: &[u8], what: &str) -> TesteeError {
    match as_text(head) {
        Some(text) => TesteeError::Broken(format!(
            "{what}: the testee wrote text to standard output ({text:?}), not a length frame; \
             logs belong on standard error"
        )),
        None => TesteeError::Broken(what.to_string()),
    }
}

async fn read_answer(stdout: &mut ChildStdout) -> Result<Value, TesteeError> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match stdout.read(&mut head[got..]).await {
            Ok(0) | Err(_) if got == 0 => {
                return Err(TesteeError::Broken(
                    "the testee ended without an answer".into(),
                ))
            }
            Ok(0) | Err(_) => {
                return Err(stray(
                    &head[..got],
                    "the testee ended inside a frame header",
                ))
            }
            Ok(n) => got += n,
        }
    }
    let len = u32::from_be_bytes(head);
    if len > MAX_FRAME_LEN {
        // Likely text: read a little more (briefly), to show the line.
        let mut seen = head.to_vec();
        if as_text(&head).is_some() {
            let mut more = [0u8; 76];
            if let Ok(Ok(n)) = timeout(Duration::from_millis(100), stdout.read(&mut more)).await {
                seen.extend_from_slice(&more[..n]);
            }
        }
        return Err(stray(
            &seen,
            &format!("answer frame of {len} bytes is over the harness limit"),
        ));
    }
    let mut body = vec![0; len as usize];
    if stdout.read_exact(&mut body).await.is_err() {
        return Err(TesteeError::Broken(format!(
            "the testee ended inside a {len}-byte frame"
        )));
    }
    serde_json::from_slice(&body).map_err(|e| {
        let mut all = head.to_vec();
        all.extend_from_slice(&body);
        match as_text(&all) {
            Some(text) => TesteeError::Broken(format!(
                "not a JSON answer ({e}): the testee wrote {text:?}..."
            )),
            None => TesteeError::Broken(format!("not a JSON answer: {e}")),
        }
    })
}
