//! Guide: "Zero-Copy Transfer".
//!
//! A file is sent over TCP with `tokio::io::copy` and written to another
//! file on the receiving side; then the same file goes through a small
//! proxy built on `tokio::io::copy_bidirectional`.
//!
//! A word on "zero-copy": Go's `io.Copy` from an `*os.File` to a
//! `*net.TCPConn` uses `sendfile(2)`, so the data never enters user space.
//! `tokio::io::copy` does not: it moves the data through one buffer it
//! reuses, which is cheap but not zero-copy (true `sendfile`/`splice` needs
//! a platform call, e.g. through `rustix` or `nix`, outside this crate's
//! dependencies). What wireforms itself guarantees is the
//! other kind of zero-copy: its codecs hand out payloads as `Bytes` views
//! of the read buffer, never copies.
//!
//! Differences from the guide: it writes fixed names under /tmp (two runs
//! at once clobber each other) and `main` returns right after sending, so
//! the receiver may not have finished writing; here the files are unique
//! temporary names, removed at the end, and the program waits for the
//! receiver and compares what arrived.
//!
//! Run: `cargo run --example zero_copy [ADDR]` (default `127.0.0.1:0`).

use std::path::PathBuf;

use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let dir = std::env::temp_dir();
    let tag = format!("wireforms-zero-copy-{}", std::process::id());
    let source = dir.join(format!("{tag}-sent.bin"));
    let target = dir.join(format!("{tag}-received.bin"));
    let result = run(&addr, &source, &target).await;
    let _ = tokio::fs::remove_file(&source).await;
    let _ = tokio::fs::remove_file(&target).await;
    result
}

async fn run(addr: &str, source: &PathBuf, target: &PathBuf) -> Result<(), BoxError> {
    let data: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
    tokio::fs::write(source, &data).await?;

    // Receiver: copies the connection into a file until the sender closes.
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let receiver = {
        let target = target.clone();
        tokio::spawn(async move {
            let (mut conn, _) = listener.accept().await?;
            let mut file = File::create(&target).await?;
            let written = tokio::io::copy(&mut conn, &mut file).await?;
            file.sync_all().await?;
            println!("Received {written} bytes to {}", target.display());
            Ok::<_, BoxError>(written)
        })
    };

    let mut file = File::open(source).await?;
    println!(
        "Sending file: {} ({} bytes)",
        source.display(),
        file.metadata().await?.len()
    );
    let mut conn = TcpStream::connect(addr).await?;
    let sent = tokio::io::copy(&mut file, &mut conn).await?;
    conn.shutdown().await?; // end of file = end of stream
    println!("Sent {sent} bytes");
    let received = receiver.await??;
    let arrived = tokio::fs::read(target).await?;
    println!(
        "File transfer: sent {sent}, received {received}, identical: {}",
        arrived == data
    );

    // The same through a proxy: copy_bidirectional pumps both directions
    // between two sockets until both are closed.
    let upstream = TcpListener::bind("127.0.0.1:0").await?;
    let upstream_addr = upstream.local_addr()?;
    let echo = tokio::spawn(async move {
        let (mut conn, _) = upstream.accept().await?;
        let (mut read, mut write) = conn.split();
        tokio::io::copy(&mut read, &mut write).await?;
        write.shutdown().await?;
        Ok::<_, BoxError>(())
    });
    let front = TcpListener::bind("127.0.0.1:0").await?;
    let front_addr = front.local_addr()?;
    let proxy = tokio::spawn(async move {
        let (mut client, _) = front.accept().await?;
        let mut server = TcpStream::connect(upstream_addr).await?;
        let (up, down) = tokio::io::copy_bidirectional(&mut client, &mut server).await?;
        println!("Proxy relayed {up} bytes up and {down} bytes down");
        Ok::<_, BoxError>(())
    });
    let mut conn = TcpStream::connect(front_addr).await?;
    let (mut read, mut write) = conn.split();
    let mut file = File::open(source).await?;
    let mut echoed = Vec::new();
    let (sent, _) = tokio::try_join!(
        async {
            let n = tokio::io::copy(&mut file, &mut write).await?;
            write.shutdown().await?;
            Ok::<_, std::io::Error>(n)
        },
        read.read_to_end(&mut echoed),
    )?;
    proxy.await??;
    echo.await??;
    println!(
        "Through the proxy: sent {sent}, echoed {}, identical: {}",
        echoed.len(),
        echoed == data
    );
    Ok(())
}
