//! Guide: "Pipeline Processing".
//!
//! One pipeline per connection: a reader, three stages (trim, upper-case,
//! reverse the words) and a writer, each a task, joined by bounded `mpsc`
//! channels. Lines flow through it one behind the other, so while one line
//! is being reversed the next can be upper-cased; a bounded channel makes a
//! fast stage wait for a slow one instead of queueing without limit, and
//! order is kept.
//!
//! Differences from the guide: it starts three goroutines and three
//! channels for every line and waits for each line to leave the last stage
//! before reading the next, so no two stages ever work at once; its client
//! also waits for each reply before sending the next line. Here the client
//! sends all its lines, then half-closes, then reads; the pipeline drains
//! and closes in order when its input ends.
//!
//! (For stages as cheap as these, `lines.map(..)` on the stream would be
//! the simpler code; separate tasks pay off when a stage waits on I/O.)
//!
//! Run: `cargo run --example pipeline [ADDR]` (default `127.0.0.1:0`).

use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{Framed, FramedRead, FramedWrite, LinesCodec};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const MAX_LINE: usize = 4096;
/// Lines each stage may hold before the one before it waits.
const STAGE_QUEUE: usize = 16;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(process_pipeline(conn));
        }
    });

    let messages = ["hello world", "  rust programming ", "network pipeline"];
    let mut lines = Framed::new(
        TcpStream::connect(addr).await?,
        LinesCodec::new_with_max_length(MAX_LINE),
    );
    // All lines in one go (`send_all` feeds them, then flushes once).
    lines
        .send_all(&mut futures::stream::iter(messages).map(Ok))
        .await?;
    // Half-close: the server's pipeline sees the end of its input.
    lines.get_mut().shutdown().await?;
    for message in messages {
        match lines.next().await.transpose()? {
            Some(output) => println!("Input: {message:?} => Output: {output}"),
            None => break,
        }
    }

    server.abort();
    Ok(())
}

async fn process_pipeline(conn: TcpStream) {
    let (read, write) = conn.into_split();
    let (input, trim_rx) = mpsc::channel(STAGE_QUEUE);
    let (trimmed, upper_rx) = mpsc::channel(STAGE_QUEUE);
    let (uppered, reverse_rx) = mpsc::channel(STAGE_QUEUE);
    let (reversed, mut output) = mpsc::channel::<String>(STAGE_QUEUE);
    tokio::spawn(stage(trim_rx, trimmed, |s| s.trim().to_owned()));
    tokio::spawn(stage(upper_rx, uppered, |s| s.to_uppercase()));
    tokio::spawn(stage(reverse_rx, reversed, |s| {
        s.split_whitespace().rev().collect::<Vec<_>>().join(" ")
    }));

    let reader = async move {
        let mut lines = FramedRead::new(read, LinesCodec::new_with_max_length(MAX_LINE));
        while let Some(Ok(line)) = lines.next().await {
            if input.send(line).await.is_err() {
                break;
            }
        }
        // `input` dropped here: the stages end one after the other.
    };
    let writer = async move {
        let mut out = FramedWrite::new(write, LinesCodec::new());
        while let Some(line) = output.recv().await {
            if out.send(line).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(reader, writer);
}

/// One stage: applies `f` to every item until its input ends.
async fn stage(
    mut input: mpsc::Receiver<String>,
    output: mpsc::Sender<String>,
    f: impl Fn(String) -> String,
) {
    while let Some(item) = input.recv().await {
        if output.send(f(item)).await.is_err() {
            break;
        }
    }
}
