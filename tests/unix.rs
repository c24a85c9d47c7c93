//! Servers and clients over Unix sockets.
#![cfg(unix)]
mod support;

use std::path::PathBuf;

use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;
use wireforms::reqres::{RequestBuf, RequestLine, ResponseBuf, ResponseLine};
use wireforms::transport::handler::{AsyncHandler, ConnectionInfo, Context};
use wireforms::transport::reference;
use wireforms::transport::reqres_client::{Client, ClientConfig};
use wireforms::transport::server::{Server, ServerOptions};
use wireforms::Error;

use support::bounded;

/// A socket path of its own in the temporary directory, removed on drop.
struct SocketPath(PathBuf);

impl SocketPath {
    fn new(name: &str) -> Self {
        let unique = format!(
            "wireforms-{name}-{}-{:?}.sock",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        SocketPath(std::env::temp_dir().join(unique))
    }
}

impl Drop for SocketPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn the_request_server_and_client_over_a_unix_socket() {
    let path = SocketPath::new("reqres");
    let listener = UnixListener::bind(&path.0).unwrap();
    let token = CancellationToken::new();
    let serving = tokio::spawn(
        reference::request(Default::default(), ServerOptions::default())
            .serve(listener, token.clone()),
    );
    let stream = UnixStream::connect(&path.0).await.unwrap();
    let client = Client::new(stream, ClientConfig::default());
    let (upper, reverse) = bounded("calls", async {
        tokio::join!(client.call("UPPER", "unix"), client.call("REVERSE", "abc"))
    })
    .await;
    assert_eq!(&*upper.unwrap().data, "UNIX");
    assert_eq!(&*reverse.unwrap().data, "cba");
    drop(client);
    token.cancel();
    let stats = bounded("shutdown", serving).await.unwrap().unwrap();
    assert_eq!((stats.connections, stats.messages), (1, 2));
}

/// Answers with the peer the server saw.
struct Peer;

impl AsyncHandler<RequestBuf, ResponseBuf> for Peer {
    type State = ();
    fn open(&self, _: &ConnectionInfo) {}
    async fn call(&self, request: RequestBuf, cx: Context<()>) -> Result<Vec<ResponseBuf>, Error> {
        Ok(vec![ResponseBuf::new(
            request.id,
            "OK",
            cx.peer().to_string(),
        )])
    }
}

#[tokio::test]
async fn a_unix_peer_is_reported_as_such() {
    let path = SocketPath::new("peer");
    let listener = UnixListener::bind(&path.0).unwrap();
    let token = CancellationToken::new();
    let server: Server<RequestLine, ResponseLine, _> =
        Server::new(Default::default(), ServerOptions::default(), Peer);
    let serving = tokio::spawn(server.serve(listener, token.clone()));
    let client = Client::new(
        UnixStream::connect(&path.0).await.unwrap(),
        ClientConfig::default(),
    );
    let response = bounded("call", client.call("WHO", "")).await.unwrap();
    // The client bound no path of its own.
    assert_eq!(&*response.data, "unix:(unnamed)");
    drop(client);
    token.cancel();
    bounded("shutdown", serving).await.unwrap().unwrap();
}

#[tokio::test]
async fn bind_and_connect_take_unix_and_tcp_addresses() {
    use futures::{SinkExt, StreamExt};
    use tokio_util::codec::Framed;
    use wireforms::transport::codec::TypedCodec;
    use wireforms::transport::listener::{bind, connect, Listener};
    use wireforms::typed::{MessageType, TypedMessageBuf};

    let path = SocketPath::new("bind");
    let unix = format!("unix:{}", path.0.display());
    for addr in [unix.as_str(), "127.0.0.1:0"] {
        let listener = bind(addr).await.unwrap();
        let local = listener.local_addr_string().unwrap();
        if addr.starts_with("unix:") {
            assert_eq!(local, addr);
        }
        let token = CancellationToken::new();
        let serving = tokio::spawn(
            reference::typed(Default::default(), ServerOptions::default())
                .serve(listener, token.clone()),
        );
        let mut framed = Framed::new(connect(&local).await.unwrap(), TypedCodec::default());
        framed
            .send(TypedMessageBuf::new(MessageType(1), "over unix or tcp"))
            .await
            .unwrap();
        let reply = bounded("reply", framed.next()).await.unwrap().unwrap();
        assert_eq!(reply.message_type, MessageType(2), "{addr}");
        drop(framed);
        token.cancel();
        bounded("shutdown", serving).await.unwrap().unwrap();
    }
}
