//! Helpers shared by the loopback integration tests.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use wireforms::transport::handler::ServeHandler;
use wireforms::transport::server::{RunningServer, Server};
use wireforms::WireFormat;

/// Every network wait in the tests is bounded by this.
pub const BOUND: Duration = Duration::from_secs(10);

/// Binds an ephemeral loopback port.
pub async fn listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    (listener, addr)
}

/// Starts `server` (sync or async handler) on an ephemeral loopback port.
pub async fn start<In, Out, H, K>(server: Server<In, Out, H>) -> RunningServer
where
    In: WireFormat + 'static,
    Out: WireFormat + 'static,
    H: ServeHandler<In::Owned, Out::Owned, K>,
    K: 'static,
{
    let (listener, addr) = listener().await;
    let token = CancellationToken::new();
    RunningServer::spawn(addr, token.clone(), server.serve(listener, token))
}

/// Runs `fut` with the test bound.
pub async fn bounded<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {BOUND:?}"))
}
