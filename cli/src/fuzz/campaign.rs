//! The campaign: inputs numbered from 0, each a function of the seed and
//! its number (so the same seed tries the same inputs, whatever `--jobs`),
//! checked by `jobs` workers until the time or run budget is spent; each
//! new difference confirmed, minimised and kept once per dedup key; then
//! the summary, the vector file, and exit status 1 when anything was found.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use arbitrary::Unstructured;
use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};
use serde_json::{json, Value};

use super::decoder::DecoderOracle;
use super::finding::Finding;
use super::generate::{generate, Plan};
use super::input::{default_limit, Input};
use super::minimise::{minimise, Budget};
use super::mutate::mutate;
use super::server::{ReferenceServer, ServerOracle};
use super::{corpus, write, Check, FuzzArgs, Oracle};
use crate::formats::{with_format, CliFormat, Format};

/// The time budget when neither `--time` nor `--runs` is given.
pub const DEFAULT_TIME: Duration = Duration::from_secs(10);
/// Bytes of entropy behind one input.
const ENTROPY: usize = 4096;
/// Longest time one minimisation may take.
const MINIMISE_TIME: Duration = Duration::from_secs(30);

/// Inputs and findings, shared by the workers.
#[derive(Default)]
struct Shared {
    tried: AtomicU64,
    skipped: AtomicU64,
    minimise_runs: AtomicU64,
    flaky: AtomicU64,
    stop: AtomicBool,
    /// By dedup key; `None` while the first hit is being minimised.
    findings: Mutex<BTreeMap<String, Option<Finding>>>,
    hits: Mutex<BTreeMap<String, u64>>,
}

/// What the workers need to make input `n`.
struct Source {
    plan: Plan,
    seeds: Vec<Input>,
    seed: u64,
}

impl Source {
    /// Input `n`: the seeds as they are first, then generated or mutated.
    fn input(&self, n: u64) -> Input {
        if let Some(seed) = usize::try_from(n).ok().and_then(|i| self.seeds.get(i)) {
            return seed.clone();
        }
        // SplitMix-style spreading of (seed, n), so neighbours differ.
        let mut rng = SmallRng::seed_from_u64(self.seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut entropy = vec![0u8; ENTROPY];
        rng.fill_bytes(&mut entropy);
        let mut u = Unstructured::new(&entropy);
        let made = if self.seeds.is_empty() || u.ratio(1, 2).unwrap_or(true) {
            generate(&self.plan, &mut u)
        } else {
            let pick = |u: &mut Unstructured<'_>| u.choose_index(self.seeds.len()).unwrap_or(0);
            let (a, b) = (pick(&mut u), pick(&mut u));
            mutate(&self.plan, &self.seeds[a], &self.seeds[b].bytes, &mut u)
        };
        made.unwrap_or_else(|_| Input {
            bytes: Vec::new(),
            datagram: self.plan.only_datagrams,
            limit: self.plan.limits[0],
            expect: None,
        })
    }
}

fn limit_of(format: Format, args: &FuzzArgs) -> Result<Option<u64>> {
    if args.limits.max_payload.is_none() && args.limits.max_line.is_none() {
        return Ok(None);
    }
    Ok(Some(
        with_format!(format, F => F::limit_of(&F::limits(&args.limits)?)),
    ))
}

fn plan(args: &FuzzArgs) -> Result<Plan> {
    let format = args.format;
    let stated = limit_of(format, args)?;
    let limits = if args.target.is_some() {
        // A server enforces one limit: the one the user states.
        vec![stated.unwrap_or_else(|| default_limit(format))]
    } else {
        let mut l = vec![default_limit(format), 16];
        let file = crate::vectors::load(format, args.vectors.as_deref())?;
        for g in &file.groups {
            let a = crate::vectors::limit_args(&g.limits);
            if let Some(n) = a.max_payload.or(a.max_line.map(|n| n as u64)) {
                l.push(n);
            }
        }
        l.extend(stated);
        l.sort_unstable();
        l.dedup();
        l
    };
    Ok(Plan {
        format,
        limits,
        datagrams: args.target.is_none(),
        only_datagrams: args.udp,
    })
}

async fn resolve(target: &str) -> Result<std::net::SocketAddr> {
    tokio::net::lookup_host(target)
        .await
        .map_err(|e| anyhow!("cannot resolve {target}: {e}"))?
        .next()
        .ok_or_else(|| anyhow!("cannot resolve {target}"))
}

/// Runs `fuzz`; returns the exit status (1 when there are findings).
pub async fn run(args: FuzzArgs) -> Result<i32> {
    match (&args.exec, &args.target) {
        (Some(_), Some(_)) => {
            bail!("--exec tests a decoder and --target a server: give one of them")
        }
        (None, None) => bail!("give --exec CMD (a decoder) or --target ADDR (a server)"),
        _ => {}
    }
    if args.udp && args.target.is_none() {
        bail!("--udp drives a server: give --target");
    }
    if args.idle_timeout.is_some() && (args.target.is_none() || args.udp) {
        bail!("--idle-timeout describes a --target server over TCP");
    }
    if args.jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let plan = plan(&args)?;
    let seeds = corpus::seeds(&plan, args.vectors.as_deref(), args.corpus.as_deref())?;
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let source = Arc::new(Source {
        plan: plan.clone(),
        seeds,
        seed,
    });

    let mut reference = None;
    let mut oracles = Vec::new();
    match (&args.exec, &args.target) {
        (Some(cmd), _) => {
            for _ in 0..args.jobs {
                let t = crate::conform::driver::Testee::new(cmd, args.timeout);
                oracles.push(Oracle::Decoder(Box::new(DecoderOracle::new(
                    args.format,
                    t,
                ))));
            }
        }
        (None, Some(target)) => {
            let addr = resolve(target).await?;
            let r =
                ReferenceServer::start(args.format, plan.limits[0], args.udp, args.idle_timeout)
                    .await?;
            for _ in 0..args.jobs {
                oracles.push(Oracle::Server(ServerOracle {
                    format: args.format,
                    target: addr,
                    reference: r.addr,
                    udp: args.udp,
                    timeout: args.timeout,
                    prompt: args.prompt,
                    idle: args.idle_timeout,
                }));
            }
            reference = Some(r);
        }
        (None, None) => unreachable_args()?,
    }

    let budget_time = match (args.time, args.runs) {
        (Some(t), _) => Some(t),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_TIME),
    };
    let started = Instant::now();
    let shared = Arc::new(Shared::default());
    let progress = progress_bar(args.json)?;
    // Ctrl-C ends the campaign as a spent budget does: what was found is
    // still minimised, summarised and written.
    let interrupt = {
        let shared = shared.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                shared.stop.store(true, Ordering::Relaxed);
            }
        })
    };
    let ticker = {
        let shared = shared.clone();
        let bar = progress.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let n = shared.tried.load(Ordering::Relaxed);
                let found = shared.findings.lock().map_or(0, |f| f.len());
                let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!(
                    "{n} inputs, {rate:.0}/s, {found} distinct findings"
                ));
            }
        })
    };

    let mut workers = Vec::new();
    for oracle in oracles {
        let job = Job {
            source: source.clone(),
            shared: shared.clone(),
            format: args.format,
            runs: args.runs,
            until: budget_time.map(|t| started + t),
            minimise_runs: args.minimise_runs,
        };
        workers.push(tokio::spawn(job.work(oracle)));
    }
    let mut failure = None;
    for w in workers {
        match w.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(anyhow!("a fuzz job failed: {e}")),
        }
    }
    ticker.abort();
    interrupt.abort();
    progress.finish_and_clear();
    if let Some(r) = reference {
        r.stop().await;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let elapsed = started.elapsed();
    let findings: Vec<Finding> = {
        let hits = shared.hits.lock().map_err(|_| anyhow!("lock"))?.clone();
        let map = shared.findings.lock().map_err(|_| anyhow!("lock"))?;
        map.iter()
            .filter_map(|(k, f)| {
                f.clone().map(|mut f| {
                    f.hits = hits.get(k).copied().unwrap_or(1);
                    f
                })
            })
            .collect()
    };
    let summary = summary(&args, seed, &shared, elapsed, &findings);
    let written = if findings.is_empty() {
        None
    } else {
        Some(write::write(
            &args.out,
            args.format,
            &findings,
            args.target.is_some(),
            &summary,
        )?)
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", human(&args, &summary, &findings, written.as_deref()));
    }
    Ok(if findings.is_empty() { 0 } else { 1 })
}

fn unreachable_args() -> Result<()> {
    bail!("give --exec CMD (a decoder) or --target ADDR (a server)")
}

fn progress_bar(json: bool) -> Result<indicatif::ProgressBar> {
    // Only when a person watches standard error: never in --json or pipes.
    if std::io::stderr().is_terminal() && !json {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {wide_msg}")
                .map_err(|e| anyhow!("progress template: {e}"))?,
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Ok(bar)
    } else {
        Ok(indicatif::ProgressBar::hidden())
    }
}

struct Job {
    source: Arc<Source>,
    shared: Arc<Shared>,
    format: Format,
    runs: Option<u64>,
    until: Option<Instant>,
    minimise_runs: u32,
}

impl Job {
    async fn work(self, mut oracle: Oracle) -> Result<()> {
        let result = self.work_inner(&mut oracle).await;
        if result.is_err() {
            self.shared.stop.store(true, Ordering::Relaxed);
        }
        oracle.finish().await;
        result
    }

    async fn work_inner(&self, oracle: &mut Oracle) -> Result<()> {
        loop {
            if self.shared.stop.load(Ordering::Relaxed)
                || self.until.is_some_and(|t| Instant::now() >= t)
            {
                return Ok(());
            }
            let n = self.shared.tried.fetch_add(1, Ordering::Relaxed);
            if self.runs.is_some_and(|r| n >= r) {
                self.shared.tried.fetch_sub(1, Ordering::Relaxed);
                return Ok(());
            }
            let input = self.source.input(n);
            let difference = match oracle.check(&input).await? {
                Check::Agree => continue,
                Check::Skipped => {
                    self.shared.skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Check::Differ(d) => d,
            };
            let key = difference.key.clone();
            *self
                .shared
                .hits
                .lock()
                .map_err(|_| anyhow!("lock"))?
                .entry(key.clone())
                .or_insert(0) += 1;
            {
                let mut f = self.shared.findings.lock().map_err(|_| anyhow!("lock"))?;
                if f.contains_key(&key) {
                    continue;
                }
                f.insert(key.clone(), None);
            }
            // A difference seen once may be the network's doing: confirm it.
            let confirmed = matches!(oracle.check(&input).await?, Check::Differ(d) if d.key == key);
            if !confirmed {
                self.shared.flaky.fetch_add(1, Ordering::Relaxed);
                self.shared
                    .findings
                    .lock()
                    .map_err(|_| anyhow!("lock"))?
                    .remove(&key);
                continue;
            }
            let budget = Budget {
                checks: self.minimise_runs,
                deadline: Instant::now() + MINIMISE_TIME,
            };
            let original_len = input.bytes.len();
            let (small, difference, spent) =
                minimise(oracle, self.format, input, difference, budget).await?;
            self.shared
                .minimise_runs
                .fetch_add(u64::from(spent), Ordering::Relaxed);
            self.shared
                .findings
                .lock()
                .map_err(|_| anyhow!("lock"))?
                .insert(
                    key,
                    Some(Finding {
                        input: small,
                        difference,
                        found_at: n,
                        original_len,
                        hits: 1,
                    }),
                );
        }
    }
}

fn testee_of(args: &FuzzArgs) -> String {
    match (&args.exec, &args.target) {
        (Some(cmd), _) => format!("--exec '{cmd}'"),
        (_, Some(t)) if args.udp => format!("--target {t} --udp"),
        (_, Some(t)) => format!("--target {t}"),
        _ => String::new(),
    }
}

fn summary(
    args: &FuzzArgs,
    seed: u64,
    shared: &Shared,
    elapsed: Duration,
    findings: &[Finding],
) -> Value {
    let tried = shared.tried.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64();
    json!({
        "format": args.format.name(),
        "testee": testee_of(args),
        "seed": seed,
        "inputs": tried,
        "skipped": shared.skipped.load(Ordering::Relaxed),
        "seconds": (secs * 10.0).round() / 10.0,
        "inputsPerSecond": if secs > 0.0 { (tried as f64 / secs).round() as u64 } else { 0 },
        "minimisationRuns": shared.minimise_runs.load(Ordering::Relaxed),
        "unconfirmed": shared.flaky.load(Ordering::Relaxed),
        "jobs": args.jobs,
        "findings": findings.iter().map(|f| json!({
            "key": f.difference.key,
            "reference": f.difference.reference,
            "testee": f.difference.testee,
            "detail": f.difference.detail,
            "mode": f.input.mode(),
            "limits": f.input.limits(args.format),
            "input": crate::hex::encode(&f.input.bytes),
            "originalLength": f.original_len,
            "foundAt": f.found_at,
            "hits": f.hits,
        })).collect::<Vec<_>>(),
    })
}

fn human(
    args: &FuzzArgs,
    summary: &Value,
    findings: &[Finding],
    written: Option<&std::path::Path>,
) -> String {
    let mut out = String::new();
    for (i, f) in findings.iter().enumerate() {
        let shown = &f.input.bytes[..f.input.bytes.len().min(32)];
        let more = if f.input.bytes.len() > shown.len() {
            "..."
        } else {
            ""
        };
        out.push_str(&format!(
            "finding {}: {}\n  input {} ({} bytes, from {}; first at input {}, {}): {}{more}\n  reference: {}\n  testee:    {}\n  {}\n",
            i + 1,
            f.difference.key,
            f.input.mode(),
            f.input.bytes.len(),
            f.original_len,
            f.found_at,
            super::plural(f.hits as usize, "hit", "hits"),
            crate::hex::encode(shown),
            f.difference.reference,
            f.difference.testee,
            f.difference.detail,
        ));
    }
    if let Some(path) = written {
        let dir = path
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "wrote {} ({}); replay: wireforms conform --format {} {} --vectors {dir}\n",
            path.display(),
            super::plural(findings.len(), "vector", "vectors"),
            args.format.name(),
            testee_of(args).replace(" --udp", ""),
        ));
    }
    out.push_str(&format!(
        "fuzz {} {}: {} inputs in {:.1} s ({}/s), seed {}, {}\n",
        args.format.name(),
        testee_of(args),
        summary["inputs"],
        summary["seconds"].as_f64().unwrap_or(0.0),
        summary["inputsPerSecond"],
        summary["seed"],
        super::plural(findings.len(), "distinct finding", "distinct findings"),
    ));
    out
}
