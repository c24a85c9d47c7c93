//! Guide: "Socket Options Configuration".
//!
//! `socket2` sets socket options before the socket is used, and reads them
//! back: `SO_REUSEADDR` on the listening socket before `bind`, and
//! `TCP_NODELAY`, `SO_RCVBUF`, `SO_SNDBUF` on the connection.
//!
//! Differences from the guide: it sets `SO_REUSEADDR` on an accepted
//! connection, where it does nothing (the option matters before `bind`, on
//! the listener: it lets a restarted server bind its port while old
//! connections linger in TIME_WAIT); and it sets the buffer sizes after
//! the connection is established, when the TCP window scale has already
//! been negotiated, so a larger receive buffer cannot be fully used. Here
//! the buffers are set on the listener (accepted sockets inherit them) and
//! on the client before `connect`. It also never reads the values back:
//! Linux doubles the requested buffer sizes for bookkeeping, as the output
//! shows.
//!
//! Run: `cargo run --example socket_options [ADDR]` (default `127.0.0.1:0`).

use std::net::SocketAddr;

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const BUFFER: usize = 64 * 1024;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;

    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_recv_buffer_size(BUFFER)?;
    socket.set_send_buffer_size(BUFFER)?;
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    socket.set_nonblocking(true)?;
    let listener = TcpListener::from_std(socket.into())?;
    let addr = listener.local_addr()?;
    println!(
        "Socket options server on {addr}: SO_REUSEADDR={}",
        SockRef::from(&listener).reuse_address()?
    );

    let server = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await?;
        conn.set_nodelay(true)?;
        report("server", &SockRef::from(&conn))?;
        let mut buf = [0u8; 1024];
        let n = conn.read(&mut buf).await?;
        println!("Received: {}", String::from_utf8_lossy(&buf[..n]));
        Ok::<_, BoxError>(())
    });

    // tokio's TcpSocket covers the common options before connect; socket2
    // reaches the rest (and reads every one back).
    let client = TcpSocket::new_v4()?;
    client.set_recv_buffer_size(BUFFER as u32)?;
    client.set_send_buffer_size(BUFFER as u32)?;
    let mut conn = client.connect(addr).await?;
    conn.set_nodelay(true)?;
    report("client", &SockRef::from(&conn))?;
    conn.write_all(b"configured socket says hello").await?;
    conn.shutdown().await?;
    server.await??;
    Ok(())
}

fn report(side: &str, sock: &SockRef<'_>) -> std::io::Result<()> {
    println!(
        "{side}: TCP_NODELAY={} SO_RCVBUF={} SO_SNDBUF={} (requested {BUFFER})",
        sock.nodelay()?,
        sock.recv_buffer_size()?,
        sock.send_buffer_size()?,
    );
    Ok(())
}
