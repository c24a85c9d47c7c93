//! Guide: "Buffered Reading and Writing".
//!
//! `tokio::io::BufReader` and `BufWriter` do what `bufio.Reader` and
//! `bufio.Writer` do: fewer system calls for many small reads and writes.
//! The client writes three lines into a `BufWriter` and flushes once (one
//! write on the socket); the server answers each line through its own
//! `BufWriter`, flushing once per batch of lines that arrived together.
//!
//! Difference from the guide: `ReadString('\n')` (and tokio's `read_line`)
//! grows its buffer until a `\n` arrives, so a peer that never sends one
//! makes the server allocate without bound. Here each line is read through
//! `take(MAX_LINE)`, and a longer line closes the connection.
//!
//! Run: `cargo run --example buffered_io [ADDR]` (default `127.0.0.1:0`).

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const MAX_LINE: u64 = 4096;

/// Reads one line of at most `MAX_LINE` bytes; `None` at the end of the stream.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    let n = reader.take(MAX_LINE).read_line(&mut line).await?;
    if n == 0 {
        return Ok(None);
    }
    if !line.ends_with('\n') && n as u64 == MAX_LINE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "line too long",
        ));
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    println!("Buffered I/O server on {addr}");
    let server = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Err(e) = handle(conn).await {
                    eprintln!("connection error: {e}");
                }
            });
        }
    });

    let (read, write) = TcpStream::connect(addr).await?.into_split();
    let mut writer = BufWriter::new(write);
    let lines = ["first line", "second line", "third line"];
    for line in lines {
        writer.write_all(line.as_bytes()).await?;
        writer.write_all(b"\n").await?;
    }
    // Nothing has been sent yet: the three lines go out in one write here.
    writer.flush().await?;
    let mut reader = BufReader::new(read);
    for _ in lines {
        match read_line(&mut reader).await? {
            Some(reply) => println!("Client received: {reply}"),
            None => break,
        }
    }

    server.abort();
    Ok(())
}

async fn handle(conn: TcpStream) -> std::io::Result<()> {
    println!("Client connected: {}", conn.peer_addr()?);
    let (read, write) = conn.into_split();
    let mut reader = BufReader::new(read);
    let mut writer = BufWriter::new(write);
    while let Some(line) = read_line(&mut reader).await? {
        println!("Received: {line}");
        writer
            .write_all(format!("Echo: {line}\n").as_bytes())
            .await?;
        // Flush when no more input is buffered: replies to lines that
        // arrived together leave together.
        if reader.buffer().is_empty() {
            writer.flush().await?;
        }
    }
    writer.flush().await
}
