//! `wireforms`: decode, encode, serve, send and conformance-test the five
//! wire formats of the `wireforms` crate.
#![forbid(unsafe_code)]

mod capture;
mod conform;
mod decode;
mod dissector;
mod formats;
mod fuzz;
mod harness;
mod hex;
mod send;
mod serve;
mod shim;
mod vectors;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use wireforms::transport::server::ServerOptions;

use crate::formats::{Format, LimitArgs};
use crate::serve::parse_duration;

/// Marks a closed output pipe (`wireforms decode ... | head`): not an error.
#[derive(Debug)]
pub struct BrokenPipe;

impl std::fmt::Display for BrokenPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("output closed")
    }
}

impl std::error::Error for BrokenPipe {}

#[derive(Parser)]
#[command(
    name = "wireforms",
    version,
    about = "Decode, encode, serve, send and conformance-test five small wire formats",
    long_about = "Decode, encode, serve, send and conformance-test five small wire formats.\n\n\
        Formats: typed, magic, frame, mux, request, response (the two directions of the\n\
        ID request/response lines). Specs: spec/<format>.md; conformance vectors: spec/vectors/.",
    after_help = "Examples:\n  \
        wireforms conform\n  \
        printf '00000002016869' | wireforms decode --format typed --hex\n  \
        wireforms serve --format request --listen 127.0.0.1:9000\n  \
        wireforms send --format request --target 127.0.0.1:9000 '1:UPPER:hello'"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode a byte stream into messages.
    #[command(after_help = "Examples:\n  \
        printf '00000002016869' | wireforms decode --format typed --hex\n  \
        wireforms decode --format magic --explain capture.bin\n  \
        wireforms decode --format frame --json big.bin | wireforms encode --format frame > copy.bin\n  \
        wireforms decode --format typed --count huge.bin")]
    Decode(DecodeCmd),
    /// Encode JSON lines (the shape `decode --json` prints) into bytes.
    #[command(after_help = "Example:\n  \
        echo '{\"type\":1,\"payload\":\"6869\"}' | wireforms encode --format typed --hex")]
    Encode(EncodeCmd),
    /// Run a format's reference server.
    #[command(after_help = "Examples:\n  \
        wireforms serve --format typed --listen 127.0.0.1:9000\n  \
        wireforms serve --format request --listen 0.0.0.0:9001 --idle-timeout 5s --max-line 4096\n  \
        wireforms serve --format magic --listen 127.0.0.1:9002 --udp")]
    Serve(ServeCmd),
    /// Send messages to a server and print its replies.
    #[command(after_help = "Examples:\n  \
        wireforms send --format typed --target 127.0.0.1:9000 hello '{\"type\":255,\"payload\":\"00ff\"}'\n  \
        wireforms send --format request --target 127.0.0.1:9001 1:ECHO:hi 2:UPPER:straße 3:REVERSE:abc\n  \
        wireforms decode --format mux --json capture.bin | wireforms send --format mux --target 127.0.0.1:9003 --json")]
    Send(SendCmd),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
        wireforms completions bash > /etc/bash_completion.d/wireforms\n  \
        wireforms completions zsh > \"${fpath[1]}/_wireforms\"\n  \
        wireforms completions fish > ~/.config/fish/completions/wireforms.fish")]
    Completions(CompletionsCmd),
    /// Print the man page (roff).
    #[command(after_help = "Example:\n  \
        wireforms manpage > wireforms.1 && man ./wireforms.1")]
    Manpage,
    /// Run the conformance suite against the built-in servers, a server, or a decoder.
    #[command(after_help = "Examples:\n  \
        wireforms conform\n  \
        wireforms conform --format typed --target 127.0.0.1:9000 --junit report.xml\n  \
        wireforms conform --list --section magic/5\n  \
        wireforms conform --exec 'wireforms harness'")]
    Conform(ConformCmd),
    /// This crate's decoder behind the harness protocol of spec/harness.md.
    #[command(after_help = "Example:\n  \
        wireforms conform --exec 'wireforms harness --format typed' --format typed")]
    Harness(HarnessCmd),
    /// This crate's request/response client or mux session behind the
    /// client shim protocol of spec/harness.md.
    #[command(after_help = "Example:\n  \
        wireforms conform --client --shim --format mux --exec 'wireforms shim --format mux'")]
    Shim(ShimCmd),
    /// Differential fuzzing of another decoder or server, this crate as the oracle.
    #[command(after_help = "Examples:\n  \
        wireforms fuzz --format typed --exec 'python3 my_decoder.py' --time 60s\n  \
        wireforms fuzz --format mux --target 127.0.0.1:9003 --runs 20000 --seed 7 --jobs 4\n  \
        wireforms fuzz --format magic --target 127.0.0.1:9002 --udp --json\n\n\
        Findings are written as vectors: wireforms conform --exec CMD --format F --vectors DIR")]
    Fuzz(FuzzCmd),
    /// Benchmarks against the peers, in one run: loopback and in-memory codecs.
    #[command(after_help = "Examples:\n  \
        wireforms bench --quick\n  \
        wireforms bench --json > bench.json\n  \
        wireforms bench --only mux\n  \
        wireforms bench --only codec/request")]
    Bench(BenchCmd),
    /// Print a Wireshark Lua dissector for the five formats (docs/capture.md).
    #[command(after_help = "Example:\n  \
        wireforms dissector > ~/.local/lib/wireshark/plugins/wireforms.lua\n  \
        tshark -o wireforms_typed.tcp_port:9000 -r capture.pcap")]
    Dissector,
}

#[derive(Args)]
struct BenchCmd {
    /// Short measurements: the whole run takes under a minute.
    #[arg(long)]
    quick: bool,
    /// Machine-readable results.
    #[arg(long)]
    json: bool,
    /// Only the scenarios whose id contains this (raw TCP always runs).
    #[arg(long)]
    only: Option<String>,
}

#[derive(Args)]
struct DecodeCmd {
    /// The format (with --pcap or --live: of the --port values given
    /// without one).
    #[arg(long, short, required_unless_present_any = ["pcap", "live"])]
    format: Option<Format>,
    /// The input is hex text (whitespace ignored).
    #[arg(long)]
    hex: bool,
    /// One JSON object per message (and for the error that ends decoding).
    #[arg(long, conflicts_with_all = ["explain", "count"])]
    json: bool,
    /// An annotated hex dump, each field's bytes labelled.
    #[arg(long, conflicts_with = "count")]
    explain: bool,
    /// Only count messages and bytes (the fast path for large files).
    #[arg(long)]
    count: bool,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    capture: CaptureCmd,
    /// The input file (default: standard input).
    #[arg(conflicts_with_all = ["pcap", "live"])]
    file: Option<PathBuf>,
}

/// `decode --pcap` and `--live` (docs/capture.md).
#[derive(Args)]
struct CaptureCmd {
    /// Decode the TCP and UDP traffic of a pcap or pcapng file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["live", "hex"])]
    pcap: Option<PathBuf>,
    /// Decode live traffic on an interface (needs root or CAP_NET_RAW).
    #[arg(long, value_name = "IFACE", conflicts_with = "hex")]
    live: Option<String>,
    /// The server port of the traffic, P or P:FORMAT; P/tcp or P/udp for one transport only (repeatable, or comma-separated).
    #[arg(long = "port", value_name = "P[/tcp|udp][:FORMAT]")]
    ports: Vec<String>,
    /// Connections tracked at once (the least recently active is dropped).
    #[arg(long, value_name = "N", default_value_t = capture::connections::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// --live: stop after N packets.
    #[arg(long, value_name = "N", requires = "live")]
    packets: Option<u64>,
    /// --live: stop after this long.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", requires = "live")]
    duration: Option<Duration>,
    /// --live: save the packets seen as a pcap file.
    #[arg(long, value_name = "FILE", requires = "live")]
    write: Option<PathBuf>,
}

#[derive(Args)]
struct EncodeCmd {
    /// The format.
    #[arg(long, short)]
    format: Format,
    /// Write hex text, one message per line, instead of raw bytes.
    #[arg(long)]
    hex: bool,
    /// Write raw bytes even when standard output is a terminal.
    #[arg(long, conflicts_with = "hex")]
    force: bool,
    /// The input (default: standard input): JSON lines, or for request and
    /// response also plain lines `ID:COMMAND:ARGS`.
    file: Option<PathBuf>,
}

#[derive(Args)]
struct ServeCmd {
    /// The format the server reads (request: answered with response lines).
    #[arg(long, short)]
    format: Format,
    /// Address to listen on: host:port, or unix:/path for a Unix socket.
    #[arg(long, short, default_value = "127.0.0.1:9000")]
    listen: String,
    /// Serve datagrams (typed, magic, request): one message per datagram.
    #[arg(long)]
    udp: bool,
    /// How logs are written on standard error.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Connections served at once; more are closed at once.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_connections: usize,
    /// Longest silence from a peer before it is disconnected.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    idle_timeout: Duration,
    /// Longest time a reply may wait for a peer that does not read.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    write_timeout: Duration,
    /// After Ctrl-C or SIGTERM, how long connections get to finish.
    #[arg(long, default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    shutdown_timeout: Duration,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args)]
struct SendCmd {
    /// The format of the messages sent.
    #[arg(long, short)]
    format: Format,
    /// The server: host:port, or unix:/path for a Unix socket.
    #[arg(long, short)]
    target: String,
    /// Send datagrams (typed, magic, request): one message per datagram,
    /// one reply datagram each.
    #[arg(long)]
    udp: bool,
    /// Print replies as JSON lines (the shape of `decode --json`).
    #[arg(long)]
    json: bool,
    /// How long to wait for each reply.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    timeout: Duration,
    /// Messages: JSON objects, or text (binary formats: the payload, with
    /// type, version or channel 1; request: the line `ID:COMMAND:ARGS`).
    /// Default: JSON lines on standard input.
    messages: Vec<String>,
}

#[derive(Args)]
struct ConformCmd {
    /// A format, or all of them.
    #[arg(long, short, default_value = "all", value_parser = parse_format_or_all)]
    format: FormatOrAll,
    /// Test this server (host:port) instead of the built-in ones; needs --format.
    #[arg(long, short)]
    target: Option<String>,
    /// Test a decoder and encoder: run CMD and send it every vector over
    /// the harness protocol (spec/harness.md); with --client, the client
    /// to test. Split at whitespace, no shell.
    #[arg(long, value_name = "CMD")]
    exec: Option<String>,
    /// Test a client (--exec CMD, --format request or mux): CMD is started
    /// once per case with the server's address in WIREFORMS_ADDR and in
    /// {addr}, and must exit within --timeout.
    #[arg(long)]
    client: bool,
    /// The --client speaks the client shim protocol of spec/harness.md:
    /// also judge what it delivered to its caller.
    #[arg(long)]
    shim: bool,
    /// Print a JSON report instead of lines.
    #[arg(long)]
    json: bool,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// SHOULD failures fail the run.
    #[arg(long)]
    strict: bool,
    /// List the cases without running them.
    #[arg(long)]
    list: bool,
    /// Run only this case, an id or a glob ('typed/5.*', '*#23';
    /// repeatable: any of them). With --section: cases matching both.
    #[arg(long = "case", value_name = "ID")]
    cases: Vec<String>,
    /// Run only this section, e.g. magic/5, typed/5.2 or 'reqres/5.*'
    /// (repeatable: any of them).
    #[arg(long = "section", value_name = "SECTION")]
    sections: Vec<String>,
    /// Expected failures: a file of case ids or globs, one a line, each
    /// followed by its reason. A listed failure is XFAIL; a listed case
    /// that passes is XPASS and fails the run; an entry matching no case
    /// is an error.
    #[arg(long = "expect", value_name = "FILE")]
    expect_file: Option<PathBuf>,
    /// Cases not to run: a file like --expect's (reasons optional); they
    /// are reported as skipped with the reason.
    #[arg(long, value_name = "FILE")]
    exclude: Option<PathBuf>,
    /// Write a single-file HTML report, filterable by outcome.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Longest time one case may take.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    timeout: Duration,
    /// How soon a server must close after input it must refuse.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    prompt: Duration,
    /// Directory of the vector files (default: the repository's, else built in).
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    expect: conform::ExpectArgs,
}

#[derive(Clone, Copy)]
struct FormatOrAll(Option<Format>);

fn parse_format_or_all(s: &str) -> Result<FormatOrAll, String> {
    if s == "all" {
        return Ok(FormatOrAll(None));
    }
    Format::from_name(s)
        .map(|f| FormatOrAll(Some(f)))
        .ok_or_else(|| {
            format!("unknown format {s:?} (typed, magic, frame, mux, request, response or all)")
        })
}

#[derive(Args)]
struct ShimCmd {
    /// request or mux.
    #[arg(long, short)]
    format: Format,
    /// How long a call, or a silent mux connection, is waited for.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    timeout: Duration,
    /// The server (default: the WIREFORMS_ADDR environment variable).
    addr: Option<String>,
}

#[derive(Args)]
struct FuzzCmd {
    /// The format.
    #[arg(long, short)]
    format: Format,
    /// A decoder to fuzz: run CMD and speak the harness protocol
    /// (spec/harness.md) with it. Split at whitespace, no shell.
    #[arg(long, value_name = "CMD", conflicts_with = "target")]
    exec: Option<String>,
    /// A server to fuzz (host:port), compared with the reference server.
    #[arg(long, short, value_name = "ADDR")]
    target: Option<String>,
    /// Fuzz the server's datagram variant (typed, magic, request).
    #[arg(long, requires = "target")]
    udp: bool,
    /// Stop after this long (default 10s, or no time limit with --runs).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    time: Option<Duration>,
    /// Stop after this many inputs.
    #[arg(long, value_name = "N")]
    runs: Option<u64>,
    /// The same seed tries the same inputs (default: from the clock, printed).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Testee processes (or server connections) at once.
    #[arg(long, default_value_t = 1, value_name = "N")]
    jobs: usize,
    /// Where findings are written, as a vector file DIR/<format>.json.
    #[arg(long, default_value = "wireforms-findings", value_name = "DIR")]
    out: PathBuf,
    /// More seed inputs: every file of DIR is one (raw bytes).
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
    /// Directory of the vector files seeding the corpus (default: the repository's, else built in).
    #[arg(long, value_name = "DIR")]
    vectors: Option<PathBuf>,
    /// Longest wait for one verdict, reply or close.
    #[arg(long, default_value = "5s", value_parser = parse_duration, value_name = "DURATION")]
    timeout: Duration,
    /// How soon a server must close after input it must refuse.
    #[arg(long, default_value = "1s", value_parser = parse_duration, value_name = "DURATION")]
    prompt: Duration,
    /// The --target server's idle timeout: inputs cut inside a message are
    /// then left open, and it must close within this (plus --prompt).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    idle_timeout: Option<Duration>,
    /// Print a JSON summary instead of lines.
    #[arg(long)]
    json: bool,
    /// Inputs one minimisation may try.
    #[arg(long, default_value_t = 500, value_name = "N")]
    minimise_runs: u32,
    /// Limits: a --target server's (default: the spec's); with --exec, one more
    /// limit to fuzz under, beside the defaults and the vectors' limits.
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args)]
struct HarnessCmd {
    /// Answer only this format's cases (others: `unsupported`).
    #[arg(long, short)]
    format: Option<Format>,
}

#[derive(Args)]
struct CompletionsCmd {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Writes generated text to standard output; a closed pipe is not an error.
fn write_stdout(bytes: &[u8]) -> anyhow::Result<i32> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Err(e) => Err(anyhow::anyhow!("cannot write output: {e}")),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))
}

/// How `serve` writes its logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

fn init_logging(default: &str, format: LogFormat) {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // The library's own "serving" event repeats the address that `serve`
    // has just printed and logged (and shows it as `Some(..)`): log once.
    let once = tracing_subscriber::filter::filter_fn(|meta| {
        !(meta.target() == "wireforms::transport::server"
            && meta.is_event()
            && meta.fields().field("addr").is_some()
            && meta.fields().field("format").is_some())
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .finish()
            .with(once)
            .try_init(),
        LogFormat::Json => builder.json().finish().with(once).try_init(),
    };
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Decode(c) => {
            let style = if c.json {
                decode::Style::Json
            } else if c.explain {
                decode::Style::Explain
            } else if c.count {
                decode::Style::Count
            } else {
                decode::Style::Human
            };
            let capture = c.capture;
            let source = match (capture.pcap, capture.live) {
                (Some(file), _) => Some(capture::Source::File(file)),
                (None, Some(interface)) => Some(capture::Source::Live {
                    interface,
                    packets: capture.packets,
                    duration: capture.duration,
                    write: capture.write,
                }),
                (None, None) => None,
            };
            if let Some(source) = source {
                return capture::decode_capture(&capture::CaptureArgs {
                    source,
                    format: c.format,
                    ports: capture.ports,
                    limits: c.limits,
                    style,
                    max_connections: capture.max_connections,
                });
            }
            let format = c
                .format
                .ok_or_else(|| anyhow::anyhow!("decode needs --format"))?;
            decode::decode(&decode::DecodeArgs {
                format,
                limits: c.limits,
                hex: c.hex,
                style,
                file: c.file,
            })
        }
        Command::Encode(c) => decode::encode(c.format, c.hex, c.force, c.file.as_deref()),
        Command::Serve(c) => {
            init_logging("info", c.log_format);
            let options = ServerOptions::default()
                .max_connections(c.max_connections)
                .idle_timeout(c.idle_timeout)
                .write_timeout(c.write_timeout)
                .shutdown_timeout(c.shutdown_timeout);
            runtime()?.block_on(serve::serve(serve::ServeArgs {
                format: c.format,
                listen: c.listen,
                udp: c.udp,
                limits: c.limits,
                options,
            }))
        }
        Command::Completions(c) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(c.shell, &mut cmd, "wireforms", &mut out);
            write_stdout(&out)
        }
        Command::Manpage => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut out)
                .map_err(|e| anyhow::anyhow!("cannot render the man page: {e}"))?;
            write_stdout(&out)
        }
        Command::Send(c) => {
            init_logging("warn", LogFormat::Text);
            runtime()?.block_on(send::send(send::SendArgs {
                format: c.format,
                target: c.target,
                udp: c.udp,
                messages: c.messages,
                json: c.json,
                timeout: c.timeout,
            }))
        }
        Command::Conform(c) => {
            init_logging("error", LogFormat::Text);
            runtime()?.block_on(conform::conform(conform::ConformArgs {
                format: c.format.0,
                target: c.target,
                exec: c.exec,
                client: c.client,
                shim: c.shim,
                limits: c.limits,
                json: c.json,
                junit: c.junit,
                strict: c.strict,
                list: c.list,
                cases: c.cases,
                sections: c.sections,
                expect_file: c.expect_file,
                exclude: c.exclude,
                html: c.html,
                timeout: c.timeout,
                prompt: c.prompt,
                vectors: c.vectors,
                expect: c.expect,
            }))
        }
        Command::Harness(c) => harness::harness(c.format),
        Command::Shim(c) => {
            init_logging("error", LogFormat::Text);
            runtime()?.block_on(shim::shim(shim::ShimArgs {
                format: c.format,
                addr: c.addr,
                timeout: c.timeout,
            }))
        }
        Command::Fuzz(c) => {
            init_logging("error", LogFormat::Text);
            runtime()?.block_on(fuzz::fuzz(fuzz::FuzzArgs {
                format: c.format,
                exec: c.exec,
                target: c.target,
                udp: c.udp,
                limits: c.limits,
                time: c.time,
                runs: c.runs,
                seed: c.seed,
                jobs: c.jobs,
                out: c.out,
                corpus: c.corpus,
                vectors: c.vectors,
                timeout: c.timeout,
                prompt: c.prompt,
                idle_timeout: c.idle_timeout,
                json: c.json,
                minimise_runs: c.minimise_runs,
            }))
        }
        Command::Bench(c) => bench(c),
        Command::Dissector => dissector::dissector(),
    }
}

/// `wireforms bench`: a table (or JSON) of our figure, the baseline's from
/// the same run, and the ratio, per scenario.
fn bench(c: BenchCmd) -> anyhow::Result<i32> {
    use std::io::IsTerminal;
    let options = wireforms_bench::BenchOptions {
        quick: c.quick,
        only: c.only,
        ..Default::default()
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for real figures");
    }
    let terminal = std::io::stderr().is_terminal();
    let results = wireforms_bench::run(&options, &mut |p| {
        if terminal {
            eprint!(
                "\r\x1b[K[{}/{}] {} ({})",
                p.step, p.steps, p.scenario, p.side
            );
        }
    });
    if terminal {
        eprint!("\r\x1b[K");
    }
    if c.json {
        println!("{}", wireforms_bench::render_json(&results));
    } else {
        print!("{}", wireforms_bench::render_table(&results));
    }
    Ok(0)
}

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        eprintln!("error: internal error (please report): {msg}");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) if e.is::<BrokenPipe>() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
