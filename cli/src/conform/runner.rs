//! The run: the cases of the chosen side and formats, selected, each run
//! against the built-in servers, a `--target` server or an `--exec`
//! testee, graded, and reported.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;

use super::case::{plural, Check};
use super::client::ClientTestee;
use super::driver::Testee;
use super::report::{self, Evidence, Outcome, Verdict};
use super::{cases, formats, html, probe, select, ConformArgs};
use crate::formats::Format;

/// Formats with a server.
const SERVER_FORMATS: [Format; 5] = [
    Format::Typed,
    Format::Magic,
    Format::Frame,
    Format::Mux,
    Format::Request,
];

/// Runs `conform`; returns the exit status.
pub async fn conform(args: ConformArgs) -> Result<i32> {
    let formats: Vec<Format> = match args.format {
        Some(f) => vec![f],
        None if args.exec.is_some() => Format::ALL.to_vec(),
        None => SERVER_FORMATS.to_vec(),
    };
    if args.shim && !args.client {
        bail!("--shim describes a client: give --client too");
    }
    if args.client {
        match (args.format, &args.exec, &args.target) {
            (_, _, Some(_)) => bail!("--client plays the server itself: --target does not apply"),
            (_, None, _) => bail!("--client needs --exec CMD: the client to test"),
            (None, _, _) => bail!("--client needs --format (request or mux)"),
            (Some(Format::Request | Format::Mux), _, _) => {}
            (Some(f), _, _) => bail!(
                "client cases exist for request and mux clients, not {}",
                f.name()
            ),
        }
    }
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
    let expect = probe::Expect {
        idle_timeout: match args.expect.idle_timeout {
            None if builtin => Some(probe::BUILTIN_IDLE_TIMEOUT),
            Some(d) if builtin && d.is_zero() => {
                bail!("--idle-timeout 0: the built-in servers need an idle timeout")
            }
            other => other,
        },
        max_connections: match args.expect.max_connections {
            None if builtin => Some(probe::BUILTIN_MAX_CONNECTIONS),
            Some(0) if builtin => {
                bail!("--max-connections 0: the built-in servers need a connection limit")
            }
            other => other,
        },
        prompt: args.prompt,
    };
    let expected = match &args.expect_file {
        Some(path) => Some(select::CaseList::read(path, true)?),
        None => None,
    };
    let excluded = match &args.exclude {
        Some(path) => Some(select::CaseList::read(path, false)?),
        None => None,
    };

    let mut cases = Vec::new();
    for &format in &formats {
        if args.client {
            cases.extend(cases::client_cases(format));
        } else if args.exec.is_some() {
            cases.extend(cases::decoder_cases(format, args.vectors.as_deref())?);
            cases.extend(cases::encoder_cases(format, args.vectors.as_deref())?);
        } else if format != Format::Response {
            cases.extend(cases::server_cases(
                format,
                &args.limits,
                &expect,
                args.vectors.as_deref(),
            )?);
        }
    }
    // The built-in run also checks the crate's own encoder, through its
    // own harness.
    if builtin && args.exec.is_none() {
        let encoders = match args.format {
            Some(f) => vec![f],
            None => Format::ALL.to_vec(),
        };
        for format in encoders {
            cases.extend(cases::encoder_cases(format, args.vectors.as_deref())?);
        }
        // And its own clients, through its own shim.
        for &format in &formats {
            cases.extend(cases::client_cases(format));
        }
    }
    // A --case or --section that names nothing is a typo, not a selection;
    // a list entry that names nothing is stale.
    let unmatched: Vec<&str> = args
        .cases
        .iter()
        .filter(|p| !cases.iter().any(|c| select::matches_id(p, c)))
        .chain(
            args.sections
                .iter()
                .filter(|s| !cases.iter().any(|c| select::in_section(c, s))),
        )
        .map(String::as_str)
        .collect();
    if !unmatched.is_empty() {
        bail!(
            "no case matches {} (see `wireforms conform --list`)",
            unmatched.join(", ")
        );
    }
    for list in expected.iter().chain(excluded.iter()) {
        list.check_all_match(&cases)?;
    }
    cases.retain(|c| select::selected(&args.cases, &args.sections, c));
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
    if args.exec.is_none() && !args.client {
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
    let clients: Vec<(Format, ClientTestee)> = match &args.exec {
        Some(command) if args.client => formats
            .iter()
            .map(|&f| {
                let t = ClientTestee::from_command(command, args.shim, args.timeout, args.prompt);
                (f, t)
            })
            .collect(),
        None if builtin => own_shims(&formats, args.timeout, args.prompt)?,
        _ => Vec::new(),
    };
    let mut testee = match &args.exec {
        Some(_) if args.client => None,
        Some(command) => Some(Testee::new(command, args.timeout)),
        None if builtin => Some(own_harness(args.timeout)?),
        None => None,
    };
    let total = cases.len();
    let mut verdicts = Vec::with_capacity(total);
    let human = !args.json;
    for (i, case) in cases.iter().enumerate() {
        progress.set_position(i as u64);
        progress.set_message(case.id.clone());
        let started = Instant::now();
        let mut evidence = Evidence::default();
        let excluded_by = excluded.as_ref().and_then(|l| l.find(case));
        let outcome = match (&case.check, excluded_by) {
            (_, Some(entry)) => Outcome::Skipped(format!("excluded: {}", entry.reason)),
            (Check::NotApplicable(why), _) => Outcome::Skipped(why.clone()),
            (Check::Server(script), _) => {
                let addr = server_of(&addrs, script.format)?;
                evidence.sent = script.write.clone();
                evidence.sent_decoded = formats::describe(script.format, &script.write, false);
                let result = script
                    .run(addr, args.timeout, args.prompt, &mut evidence.received)
                    .await;
                evidence.received_decoded =
                    formats::describe(script.format, &evidence.received, true);
                match result {
                    Ok(()) => Outcome::Passed,
                    Err(seen) => Outcome::Failed(seen),
                }
            }
            (Check::Hostile(probe), _) => {
                let addr = server_of(&addrs, probe.format)?;
                match probe.run(addr, args.timeout, args.prompt).await {
                    Ok(()) => Outcome::Passed,
                    Err(seen) => Outcome::Failed(seen),
                }
            }
            (Check::Vector(v), _) => match testee.as_mut() {
                // A command that cannot start is said once, not per case.
                Some(t) => v.run(t, &mut evidence).await.map_err(|e| anyhow!("{e}"))?,
                None => Outcome::Skipped("no decoder (--exec) to run it".into()),
            },
            (Check::Client(c), _) => match clients.iter().find(|(f, _)| *f == c.format) {
                Some((_, t)) => match c.run(t, &mut evidence).await {
                    Ok(()) => Outcome::Passed,
                    Err(seen) if seen.starts_with("cannot start ") => bail!("{seen}"),
                    Err(seen) => Outcome::Failed(seen),
                },
                None => Outcome::Skipped("no client (--client --exec) to run it".into()),
            },
            (Check::Encode(e), _) => match testee.as_mut() {
                Some(t) => e.run(t, &mut evidence).await.map_err(|e| anyhow!("{e}"))?,
                None => Outcome::Skipped("no encoder (--exec) to run it".into()),
            },
        };
        let listed = expected.as_ref().and_then(|l| l.find(case));
        let mut verdict = Verdict::new(
            case,
            outcome,
            args.strict,
            listed.map(|e| e.reason.as_str()),
        );
        verdict.time = started.elapsed();
        verdict.evidence = evidence;
        if human {
            progress.suspend(|| println!("{}", verdict.line()));
        }
        verdicts.push(verdict);
    }
    progress.finish_and_clear();
    if let Some(t) = testee.as_mut() {
        t.finish().await;
    }
    shutdown.cancel();
    for task in tasks {
        let _ = task.await;
    }

    let summary = report::Summary::of(&verdicts);
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&verdicts)?)
            .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    }
    if let Some(path) = &args.html {
        std::fs::write(path, html::html(&verdicts, &summary, "wireforms conform"))
            .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    }
    if args.json {
        println!("{}", report::json(&verdicts, &summary));
    } else {
        for note in summary.notes() {
            println!("{note}");
        }
        println!("{}", summary.closing_line());
    }
    Ok(if summary.failed() > 0 { 1 } else { 0 })
}

/// `wireforms shim --format F` for each client format: this very binary.
fn own_shims(
    formats: &[Format],
    bound: Duration,
    give_up: Duration,
) -> Result<Vec<(Format, ClientTestee)>> {
    let exe = std::env::current_exe()
        .map_err(|e| anyhow!("cannot find this program to run its shim: {e}"))?;
    Ok(formats
        .iter()
        .map(|&f| {
            let t = ClientTestee {
                program: exe.clone().into_os_string(),
                args: vec![
                    "shim".into(),
                    "--format".into(),
                    f.name().into(),
                    "--timeout".into(),
                    format!("{}ms", give_up.as_millis()),
                ],
                shim: true,
                bound,
                give_up,
            };
            (f, t)
        })
        .collect())
}

/// `wireforms harness`: this very binary, whatever its path.
fn own_harness(limit: Duration) -> Result<Testee> {
    let exe = std::env::current_exe()
        .map_err(|e| anyhow!("cannot find this program to run its harness: {e}"))?;
    Ok(Testee::with_program(exe, &["harness"], limit))
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
    expect: &probe::Expect,
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
