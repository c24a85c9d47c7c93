//! `conform`: a conformance suite in the manner of h2spec and Autobahn.
//!
//! Cases are named `<format>/<section>/<n>` after the spec section they
//! check (vector-derived cases keep the vector's `tcId`; cases of their own
//! are numbered from 101; hostile-peer cases are `<format>/8/<n>`, see
//! `hostile.rs`). Each is a MUST or a SHOULD and has a bounded
//! time. Server cases drive a server over TCP; with `--exec`, vector cases
//! drive a decoder through the harness protocol (`spec/harness.md`).

mod exec;
mod hostile;
mod report;
mod server;

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;

use crate::formats::{Format, LimitArgs};

pub use report::{Outcome, Verdict};

/// MUST or SHOULD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Required: a failure fails the run.
    Must,
    /// Recommended: a failure is a warning unless `--strict`.
    Should,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
        }
    }
}

/// What a case does.
pub enum Check {
    /// Drives a server.
    Server(server::Script),
    /// Drives a decoder with one vector.
    Vector(Box<exec::VectorCase>),
    /// Drives a server as a hostile peer (`spec/security.md`).
    Hostile(hostile::Probe),
    /// Cannot run here; the reason.
    NotApplicable(String),
}

/// One conformance case.
pub struct Case {
    /// `<format>/<section>/<n>`.
    pub id: String,
    /// The spec section, e.g. `typed/5.2`.
    pub section: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// What is checked, in a few words.
    pub what: String,
    /// How.
    pub check: Check,
}

/// Options of `conform`.
pub struct ConformArgs {
    /// `None`: every format.
    pub format: Option<Format>,
    /// A server to test instead of the built-in ones.
    pub target: Option<String>,
    /// A decoder to test through the harness protocol.
    pub exec: Option<String>,
    /// The limits the target server enforces.
    pub limits: LimitArgs,
    /// JSON report on standard output.
    pub json: bool,
    /// JUnit XML report to this file.
    pub junit: Option<PathBuf>,
    /// SHOULD failures fail the run.
    pub strict: bool,
    /// List the cases and stop.
    pub list: bool,
    /// Only these case ids.
    pub cases: Vec<String>,
    /// Only these sections (or formats).
    pub sections: Vec<String>,
    /// Expected failures.
    pub exclude: Option<PathBuf>,
    /// Longest time a case may take.
    pub timeout: Duration,
    /// How soon a server must close (or stay silent) after bad input.
    pub prompt: Duration,
    /// Vector files directory.
    pub vectors: Option<PathBuf>,
    /// What the server enforces, for the hostile-peer cases.
    pub expect: ExpectArgs,
}

/// What a server is expected to enforce, checked by the hostile-peer cases
/// (`spec/security.md`). The built-in servers are started with these.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct ExpectArgs {
    /// The server's idle timeout: a peer silent or stuck in one message is
    /// closed after it (plus --prompt slack). Built-in servers: default 1s.
    /// For --target, absent or 0 skips the idle cases.
    #[arg(long, value_parser = crate::serve::parse_duration, value_name = "DURATION")]
    pub idle_timeout: Option<Duration>,
    /// The server's connection limit: connections beyond it are closed at
    /// once. Built-in servers: default 16. For --target, absent or 0 skips
    /// the flood case.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
}

/// Formats with a server.
const SERVER_FORMATS: [Format; 5] = [
    Format::Typed,
    Format::Magic,
    Format::Frame,
    Format::Mux,
    Format::Request,
];

/// `1 case`, `2 cases`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

fn in_section(case: &Case, s: &str) -> bool {
    // `--section typed/8` or `--section typed` also picks the
    // hostile-peer cases, whose section is `security/<n>`.
    case.id.starts_with(&format!("{s}/"))
        || case.section == *s
        || case.section.starts_with(&format!("{s}."))
        || case.section.starts_with(&format!("{s}/"))
}

fn selected(args: &ConformArgs, case: &Case) -> bool {
    let by_case = args.cases.is_empty() || args.cases.contains(&case.id);
    let by_section = args.sections.is_empty() || args.sections.iter().any(|s| in_section(case, s));
    by_case && by_section
}

fn read_exclusions(path: &std::path::Path) -> Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Runs `conform`; returns the exit status.
pub async fn conform(args: ConformArgs) -> Result<i32> {
    let formats: Vec<Format> = match args.format {
        Some(f) => vec![f],
        None if args.exec.is_some() => Format::ALL.to_vec(),
        None => SERVER_FORMATS.to_vec(),
    };
    if args.exec.is_some() && args.target.is_some() {
        bail!("--exec tests a decoder and --target a server: give one of them");
    }
    if args.target.is_some() && args.format.is_none() {
        bail!("--target needs --format: one address serves one format");
    }
    if args.exec.is_none() && formats == [Format::Response] {
        bail!("there is no response server to test: use --format request (or --exec for a response decoder)");
    }
    if args.target.is_none()
        && (args.limits.max_payload.is_some() || args.limits.max_line.is_some())
    {
        bail!("--max-payload and --max-line describe a --target server; the built-in servers use the spec defaults");
    }
    let builtin = args.target.is_none();
    let expect = hostile::Expect {
        idle_timeout: match args.expect.idle_timeout {
            None if builtin => Some(hostile::BUILTIN_IDLE_TIMEOUT),
            Some(d) if builtin && d.is_zero() => {
                bail!("--idle-timeout 0: the built-in servers need an idle timeout")
            }
            other => other,
        },
        max_connections: match args.expect.max_connections {
            None if builtin => Some(hostile::BUILTIN_MAX_CONNECTIONS),
            Some(0) if builtin => {
                bail!("--max-connections 0: the built-in servers need a connection limit")
            }
            other => other,
        },
        prompt: args.prompt,
    };
    let exclusions = match &args.exclude {
        Some(path) => read_exclusions(path)?,
        None => BTreeSet::new(),
    };

    let mut cases = Vec::new();
    for &format in &formats {
        if args.exec.is_some() {
            cases.extend(exec::cases(format, args.vectors.as_deref())?);
        } else if format != Format::Response {
            cases.extend(server::cases(
                format,
                &args.limits,
                &expect,
                args.vectors.as_deref(),
            )?);
        }
    }
    // A --case or --section that names nothing is a typo, not a selection.
    let unmatched: Vec<&str> = args
        .cases
        .iter()
        .filter(|id| !cases.iter().any(|c| &c.id == *id))
        .chain(
            args.sections
                .iter()
                .filter(|s| !cases.iter().any(|c| in_section(c, s))),
        )
        .map(String::as_str)
        .collect();
    if !unmatched.is_empty() {
        bail!(
            "no case matches {} (see `wireforms conform --list`)",
            unmatched.join(", ")
        );
    }
    cases.retain(|c| selected(&args, c));
    if cases.is_empty() {
        bail!("no case matches the given --case / --section");
    }
    if args.list {
        let mut out = String::new();
        for c in &cases {
            out.push_str(&format!(
                "{:<24} {:<11} {:<6} {}\n",
                c.id,
                c.section,
                c.level.as_str(),
                c.what
            ));
        }
        out.push_str(&format!("{}\n", plural(cases.len(), "case", "cases")));
        print!("{out}");
        return Ok(0);
    }

    // The servers under test: the given one, or the built-in ones.
    let shutdown = CancellationToken::new();
    let mut addrs: Vec<(Format, SocketAddr)> = Vec::new();
    let mut tasks = Vec::new();
    if args.exec.is_none() {
        match &args.target {
            Some(target) => {
                let addr = tokio::net::lookup_host(target)
                    .await
                    .map_err(|e| anyhow!("cannot resolve {target}: {e}"))?
                    .next()
                    .ok_or_else(|| anyhow!("cannot resolve {target}"))?;
                tokio::time::timeout(args.timeout, tokio::net::TcpStream::connect(addr))
                    .await
                    .map_err(|_| {
                        anyhow!(
                            "cannot connect to {target}: no answer within {:?}",
                            args.timeout
                        )
                    })?
                    .map_err(|e| anyhow!("cannot connect to {target}: {e}"))?;
                addrs.push((formats[0], addr));
            }
            None => {
                for &format in formats.iter().filter(|f| **f != Format::Response) {
                    let (addr, task) = start_builtin(format, &expect, shutdown.clone()).await?;
                    addrs.push((format, addr));
                    tasks.push(task);
                }
            }
        }
    }

    // Progress on standard error only when a person watches it: never in
    // --json reports or pipes.
    let progress = if std::io::stderr().is_terminal() && !args.json {
        let bar = indicatif::ProgressBar::new(cases.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("[{pos}/{len}] {wide_msg}")
                .map_err(|e| anyhow!("progress template: {e}"))?,
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut runner = exec::Runner::new(args.exec.clone(), args.timeout);
    let total = cases.len();
    let mut verdicts = Vec::with_capacity(total);
    let human = !args.json;
    for (i, case) in cases.iter().enumerate() {
        progress.set_position(i as u64);
        progress.set_message(case.id.clone());
        let outcome = match &case.check {
            Check::NotApplicable(why) => Outcome::Skipped(why.clone()),
            Check::Server(script) => {
                let addr = server_of(&addrs, script.format)?;
                match script.run(addr, args.timeout, args.prompt).await {
                    Ok(()) => Outcome::Passed,
                    Err(seen) => Outcome::Failed(seen),
                }
            }
            Check::Hostile(probe) => {
                let addr = server_of(&addrs, probe.format)?;
                match probe.run(addr, args.timeout, args.prompt).await {
                    Ok(()) => Outcome::Passed,
                    Err(seen) => Outcome::Failed(seen),
                }
            }
            Check::Vector(v) => runner.run(v).await,
        };
        let verdict = Verdict::new(case, outcome, args.strict, exclusions.contains(&case.id));
        if human {
            progress.suspend(|| println!("{}", verdict.line()));
        }
        verdicts.push(verdict);
    }
    progress.finish_and_clear();
    runner.finish().await;
    shutdown.cancel();
    for task in tasks {
        let _ = task.await;
    }

    let summary = report::Summary::of(&verdicts);
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&verdicts)?)
            .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    }
    if args.json {
        println!("{}", report::json(&verdicts, &summary));
    } else {
        if summary.warned > 0 {
            println!(
                "{} failed as warnings (--strict makes them failures)",
                plural(summary.warned, "SHOULD case", "SHOULD cases")
            );
        }
        println!("{}", summary.closing_line());
    }
    Ok(if summary.failed > 0 { 1 } else { 0 })
}

fn server_of(addrs: &[(Format, SocketAddr)], format: Format) -> Result<SocketAddr> {
    addrs
        .iter()
        .find(|(f, _)| *f == format)
        .map(|(_, a)| *a)
        .ok_or_else(|| anyhow!("no server for {}", format.name()))
}

type ServerTask = tokio::task::JoinHandle<()>;

/// Starts the reference server of `format` on 127.0.0.1:0, enforcing what
/// `expect` says.
async fn start_builtin(
    format: Format,
    expect: &hostile::Expect,
    shutdown: CancellationToken,
) -> Result<(SocketAddr, ServerTask)> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| anyhow!("cannot start the built-in {} server: {e}", format.name()))?;
    let addr = listener.local_addr()?;
    let mut o = ServerOptions::default().shutdown_timeout(Duration::from_secs(1));
    if let Some(idle) = expect.idle_timeout {
        o = o.idle_timeout(idle);
    }
    if let Some(max) = expect.max_connections {
        o = o.max_connections(max);
    }
    let task = tokio::spawn(async move {
        let _ = match format {
            Format::Typed => {
                reference::typed(Default::default(), o)
                    .serve(listener, shutdown)
                    .await
            }
            Format::Magic => {
                reference::magic(Default::default(), o)
                    .serve(listener, shutdown)
                    .await
            }
            Format::Frame => {
                reference::frame(Default::default(), o)
                    .serve(listener, shutdown)
                    .await
            }
            Format::Mux => {
                reference::mux(Default::default(), o)
                    .serve(listener, shutdown)
                    .await
            }
            Format::Request | Format::Response => {
                reference::request(Default::default(), o)
                    .serve(listener, shutdown)
                    .await
            }
        };
    });
    Ok((addr, task))
}
