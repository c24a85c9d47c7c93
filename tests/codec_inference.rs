//! Compile tests: `SinkExt` calls that do not name the item (`flush`,
//! `close`) need no type annotations on any codec, because every codec
//! type encodes exactly one item type. A second `Encoder` impl on one codec
//! type would make each of these calls fail to compile ("type annotations
//! needed"), which is what broke the earlier generic `Encoder<T: Encode>`.

use bytes::Bytes;
use futures::SinkExt;
use tokio::io::{duplex, DuplexStream};
use tokio_util::codec::{Framed, FramedWrite};
use wireforms::frame::{Frame, LengthFrame, LengthFrameBuf};
use wireforms::reqres::{Request, RequestBuf};
use wireforms::transport::codec::{
    encodes::Borrowed, FrameBytesCodec, FrameCodec, FrameSliceCodec, MagicCodec, MuxCodec,
    RequestCodec, ResponseCodec, TypedCodec, WireCodec,
};
use wireforms::typed::{MessageType, Typed, TypedMessage, TypedMessageBuf};

fn pipe() -> (DuplexStream, DuplexStream) {
    duplex(1 << 16)
}

#[tokio::test]
async fn flush_and_close_infer_their_item_on_every_codec() -> Result<(), wireforms::Error> {
    let (a, _keep) = pipe();
    let mut framed = Framed::new(a, FrameCodec::default());
    framed.send(LengthFrameBuf::new("x")).await?;
    framed.flush().await?;
    framed.close().await?;

    let (a, _keep) = pipe();
    let mut sink = FramedWrite::new(a, FrameBytesCodec::default());
    sink.send(Bytes::from_static(b"x")).await?;
    sink.flush().await?;

    let (a, _keep) = pipe();
    let mut sink = FramedWrite::new(a, FrameSliceCodec::default());
    let payload = vec![1u8, 2, 3];
    sink.send(&payload[..]).await?;
    sink.flush().await?;

    let (a, _keep) = pipe();
    let mut sink = FramedWrite::new(a, WireCodec::<Frame, Borrowed>::default());
    sink.send(LengthFrame { payload: &payload }).await?;
    sink.flush().await?;

    let (a, _keep) = pipe();
    let mut sink = FramedWrite::new(a, TypedCodec::default());
    sink.send(TypedMessageBuf::new(MessageType(1), "x")).await?;
    sink.flush().await?;

    let (a, _keep) = pipe();
    let mut sink = FramedWrite::new(a, WireCodec::<Typed, Borrowed>::default());
    sink.send(TypedMessage {
        message_type: MessageType(1),
        payload: &payload,
    })
    .await?;
    sink.flush().await?;

    let (a, _keep) = pipe();
    let mut sink = FramedWrite::new(a, RequestCodec::default());
    sink.send(RequestBuf::new("1", "ECHO", "x")).await?;
    sink.flush().await?;

    let (a, _keep) = pipe();
    let mut sink = FramedWrite::new(a, RequestCodec::default().encoding::<Borrowed>());
    let args = String::from("borrowed");
    sink.send(Request {
        id: "1",
        command: "ECHO",
        args: &args,
    })
    .await?;
    sink.flush().await?;

    // Codecs only flushed: the call alone must type-check.
    let (a, _keep) = pipe();
    FramedWrite::new(a, MagicCodec::default()).flush().await?;
    let (a, _keep) = pipe();
    FramedWrite::new(a, MuxCodec::default()).flush().await?;
    let (a, _keep) = pipe();
    FramedWrite::new(a, ResponseCodec::default())
        .flush()
        .await?;
    Ok(())
}
