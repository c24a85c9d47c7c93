//! `serve`: the reference server of a format, with the transport layer's
//! options as flags, until Ctrl-C or SIGTERM.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;
use tracing::info;
use wireforms::magic;
use wireforms::magic::PacketBuf;
use wireforms::reqres::{RequestLine, ResponseLine};
use wireforms::transport::listener::Listener;
use wireforms::transport::reference;
use wireforms::transport::server::ServerOptions;
use wireforms::transport::udp::{max_datagram_len, serve_udp};
use wireforms::typed::{Typed, TypedMessageBuf};

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

pub use wireforms::transport::reference::{magic_reply, request_reply, typed_reply};

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

/// Runs `serve`.
pub async fn serve(args: ServeArgs) -> Result<i32> {
    let token = shutdown_on_signal();
    if args.udp {
        return serve_datagrams(&args, token).await;
    }
    // `unix:/path` or a TCP address.
    let listener = wireforms::transport::listener::bind(&args.listen)
        .await
        .map_err(|e| anyhow!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr_string().unwrap_or_default();
    info!(format = args.format.name(), %addr, "listening (Ctrl-C or SIGTERM to stop)");
    let o = args.options.clone();
    let l = &args.limits;
    let stats = match args.format {
        Format::Typed => {
            reference::typed(Typed::limits(l)?, o)
                .serve(listener, token)
                .await
        }
        Format::Magic => {
            let limits = magic::Magic::limits(l)?;
            reference::magic(limits, o).serve(listener, token).await
        }
        Format::Frame => {
            let limits = wireforms::frame::LengthFramed::limits(l)?;
            reference::frame(limits, o).serve(listener, token).await
        }
        Format::Mux => {
            let limits = wireforms::mux::Mux::limits(l)?;
            reference::mux(limits, o).serve(listener, token).await
        }
        Format::Request => {
            let limits = RequestLine::limits(l)?;
            reference::request(limits, o).serve(listener, token).await
        }
        Format::Response => {
            bail!("there is no response server: serve `request` (it answers with response lines)")
        }
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

async fn serve_datagrams(args: &ServeArgs, token: CancellationToken) -> Result<i32> {
    if !matches!(args.format, Format::Typed | Format::Magic | Format::Request) {
        bail!(
            "--udp: {} has no datagram variant (typed, magic and request have)",
            args.format.name()
        );
    }
    let socket = UdpSocket::bind(&args.listen)
        .await
        .map_err(|e| anyhow!("cannot listen on {} (udp): {e}", args.listen))?;
    let addr = socket.local_addr()?;
    info!(format = args.format.name(), %addr, "listening for datagrams (Ctrl-C or SIGTERM to stop)");
    let socket = Arc::new(socket);
    let l = &args.limits;
    let stats = match args.format {
        Format::Typed => {
            let h: fn(TypedMessageBuf) -> Vec<TypedMessageBuf> = typed_reply;
            serve_udp::<Typed, Typed, _>(socket, Typed::limits(l)?, h, token).await
        }
        Format::Magic => {
            let h: fn(PacketBuf) -> Vec<PacketBuf> = magic_reply;
            serve_udp::<magic::Magic, magic::Magic, _>(socket, magic::Magic::limits(l)?, h, token)
                .await
        }
        _ => {
            let limits = RequestLine::limits(l)?;
            // A reply must fit in the peer's line limit and in one datagram.
            let replies = wireforms::reqres::Limits {
                max_line_len: limits.max_line_len.min(max_datagram_len(&addr)),
            };
            let h = reference::RequestReplies::new(replies);
            serve_udp::<RequestLine, ResponseLine, _>(socket, limits, h, token).await
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

/// Parses `500ms`, `2s`, `1m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 500ms, 2s, 1m)"))?;
    let scale = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(value * scale).map_err(|_| format!("{text:?} is out of range"))
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
        assert!(parse_duration("2 fortnights").is_err());
        assert!(parse_duration("ms").is_err());
    }
}
