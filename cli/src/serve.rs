//! `serve`: the reference server of a format, with the transport layer's
//! options as flags, until Ctrl-C or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tracing::info;
use wireforms::magic;
use wireforms::reqres::{RequestLine, ResponseLine};
use wireforms::transport::listener::Listener;
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;
use wireforms::transport::udp::{max_datagram_len, serve_udp};
use wireforms::typed::Typed;

use crate::formats::{CliFormat, Format, LimitArgs};

/// Options of `serve`.
pub struct ServeArgs {
    /// The format.
    pub format: Format,
    /// Address to listen on.
    pub listen: String,
    /// Serve datagrams instead of a byte stream.
    pub udp: bool,
    /// Receiver limits.
    pub limits: LimitArgs,
    /// Transport options.
    pub options: ServerOptions,
}

/// A token cancelled on Ctrl-C or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => info!("interrupted; shutting down"),
                        _ = term.recv() => info!("terminated; shutting down"),
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            info!("interrupted; shutting down");
        }
        t.cancel();
    });
    token
}

/// The limits of the format served, checked before anything is bound: a
/// flag that cannot apply fails the command, not the server after it
/// started listening.
enum ServedLimits {
    Typed(wireforms::typed::Limits),
    Magic(magic::Limits),
    Frame(wireforms::frame::Limits),
    Mux(wireforms::mux::Limits),
    Request(wireforms::reqres::Limits),
}

fn served_limits(args: &ServeArgs) -> Result<ServedLimits> {
    let l = &args.limits;
    if args.udp && !matches!(args.format, Format::Typed | Format::Magic | Format::Request) {
        bail!(
            "--udp: {} has no datagram variant (typed, magic and request have)",
            args.format.name()
        );
    }
    Ok(match args.format {
        Format::Typed => ServedLimits::Typed(Typed::limits(l)?),
        Format::Magic => ServedLimits::Magic(magic::Magic::limits(l)?),
        Format::Frame => ServedLimits::Frame(wireforms::frame::Frame::limits(l)?),
        Format::Mux => ServedLimits::Mux(wireforms::mux::Mux::limits(l)?),
        Format::Request => ServedLimits::Request(RequestLine::limits(l)?),
        Format::Response => {
            bail!("there is no response server: serve `request` (it answers with response lines)")
        }
    })
}

/// Prints the bound address alone on a line of standard output, for
/// scripts that listen on port 0 (the logs go to standard error).
fn print_bound(addr: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{addr}")
        .and_then(|()| out.flush())
        .map_err(|e| anyhow!("cannot write the bound address: {e}"))
}

/// Runs `serve`.
pub async fn serve(args: ServeArgs) -> Result<i32> {
    let limits = served_limits(&args)?;
    let token = shutdown_on_signal();
    if args.udp {
        return serve_datagrams(&args, limits, token).await;
    }
    // `unix:/path` or a TCP address.
    let listener = wireforms::transport::listener::bind(&args.listen)
        .await
        .map_err(|e| anyhow!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr_string().unwrap_or_default();
    // Logged before the address line: whoever waits for that line finds the
    // log written too.
    info!(format = args.format.name(), %addr, "listening (Ctrl-C or SIGTERM to stop)");
    print_bound(&addr)?;
    let o = args.options.clone();
    let stats = match limits {
        ServedLimits::Typed(l) => reference::typed(l, o).serve(listener, token).await,
        ServedLimits::Magic(l) => reference::magic(l, o).serve(listener, token).await,
        ServedLimits::Frame(l) => reference::frame(l, o).serve(listener, token).await,
        ServedLimits::Mux(l) => reference::mux(l, o).serve(listener, token).await,
        ServedLimits::Request(l) => reference::request(l, o).serve(listener, token).await,
    }
    .map_err(|e| anyhow!("server failed: {e}"))?;
    info!(
        connections = stats.connections,
        refused = stats.refused,
        messages = stats.messages,
        wire_errors = stats.wire_errors,
        timeouts = stats.timeouts,
        unanswerable = stats.unanswerable,
        aborted = stats.aborted,
        "stopped"
    );
    Ok(0)
}

async fn serve_datagrams(
    args: &ServeArgs,
    limits: ServedLimits,
    token: CancellationToken,
) -> Result<i32> {
    let socket = UdpSocket::bind(&args.listen)
        .await
        .map_err(|e| anyhow!("cannot listen on {} (udp): {e}", args.listen))?;
    let addr = socket.local_addr()?;
    info!(format = args.format.name(), %addr, "listening for datagrams (Ctrl-C or SIGTERM to stop)");
    print_bound(&addr.to_string())?;
    let socket = Arc::new(socket);
    let stats = match limits {
        ServedLimits::Typed(l) => {
            let h = reference::ReferenceHandler::<Typed>::new(l);
            serve_udp::<Typed, Typed, _>(socket, l, h, token).await
        }
        ServedLimits::Magic(l) => {
            let h = reference::ReferenceHandler::<magic::Magic>::new(l);
            serve_udp::<magic::Magic, magic::Magic, _>(socket, l, h, token).await
        }
        ServedLimits::Request(limits) => {
            // A reply must fit in the peer's line limit and in one datagram.
            let replies =
                wireforms::reqres::Limits::new(limits.max_line_len.min(max_datagram_len(&addr)));
            let h = reference::ReferenceHandler::<RequestLine>::new(replies);
            serve_udp::<RequestLine, ResponseLine, _>(socket, limits, h, token).await
        }
        ServedLimits::Frame(_) | ServedLimits::Mux(_) => {
            bail!("--udp: {} has no datagram variant", args.format.name())
        }
    }
    .map_err(|e| anyhow!("server failed: {e}"))?;
    info!(
        answered = stats.answered,
        rejected = stats.rejected,
        "stopped"
    );
    Ok(0)
}

/// Parses a duration the way humantime writes them: `500ms`, `2s`,
/// `1m30s`, `1h 5m`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return t
            .parse::<f64>()
            .ok()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .ok_or_else(|| format!("{text:?} is not a duration (try 500ms, 2s, 1m30s)"));
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("{text:?} is not a duration: {e} (try 500ms, 2s, 1m30s)"))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h 5m"), Ok(Duration::from_secs(3900)));
        assert!(parse_duration("2 fortnights").is_err());
        assert!(parse_duration("ms").is_err());
    }
}
