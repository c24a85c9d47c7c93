//! Guide: "UDP Broadcast".
//!
//! Two receivers share one port (`SO_REUSEADDR`, set with `socket2`) and
//! both get every broadcast, each datagram one wireforms typed message
//! (`UdpFramed` + `DatagramCodec<Typed>`). The sender enables
//! `SO_BROADCAST`.
//!
//! Difference from the guide: it broadcasts to 255.255.255.255, which goes
//! to every host of the local network. This demo uses the broadcast address
//! of the loopback network, 127.255.255.255, so nothing leaves the machine,
//! and it refuses any target outside 127.0.0.0/8. Where the system does not
//! deliver loopback broadcasts, it says so and exits cleanly.
//!
//! Run: `cargo run --example udp_broadcast [BROADCAST_ADDR]`
//! (default `127.255.255.255:0`, any free port).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio_util::udp::UdpFramed;
use wireforms::transport::udp::DatagramCodec;
use wireforms::typed::{MessageType, Typed, TypedMessageBuf};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const MESSAGES: usize = 3;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let target: SocketAddrV4 = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.255.255.255:0".into())
        .parse()?;
    if !target.ip().is_loopback() {
        return Err("refusing to broadcast outside the loopback network".into());
    }

    // Receivers bind the broadcast address itself: a socket bound to
    // 127.0.0.1 would not see broadcasts, one bound to 0.0.0.0 would listen
    // on every interface.
    let first = receiver_socket(target)?;
    let target = match first.local_addr()? {
        SocketAddr::V4(bound) => bound,
        SocketAddr::V6(_) => return Err("unexpected IPv6 address".into()),
    };
    let second = receiver_socket(target)?;
    println!("Broadcast receivers listening on {target}");
    let receivers = [(1, first), (2, second)].map(|(n, socket)| tokio::spawn(receive(n, socket)));

    let sender = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    sender.set_broadcast(true)?;
    sender.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
    let mut sender = UdpFramed::new(into_tokio(sender)?, DatagramCodec::<Typed>::default());
    for i in 1..=MESSAGES {
        let message = TypedMessageBuf::new(MessageType(1), format!("Broadcast message {i}"));
        sender.send((message, target.into())).await?;
        println!("Broadcast {i} sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut delivered = 0;
    for (n, receiver) in receivers.into_iter().enumerate() {
        let got = receiver.await?;
        println!("Receiver {} got {got} of {MESSAGES}", n + 1);
        delivered += got;
    }
    if delivered == 0 {
        println!("Loopback broadcast is not delivered on this machine; nothing more to show");
    }
    Ok(())
}

fn receiver_socket(addr: SocketAddrV4) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&SocketAddr::V4(addr).into())?;
    into_tokio(socket)
}

fn into_tokio(socket: Socket) -> std::io::Result<UdpSocket> {
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket.into())
}

/// Counts the messages that arrive within a second of the last one.
async fn receive(n: usize, socket: UdpSocket) -> usize {
    let mut messages = UdpFramed::new(socket, DatagramCodec::<Typed>::default());
    let mut got = 0;
    while got < MESSAGES {
        match tokio::time::timeout(Duration::from_secs(1), messages.next()).await {
            Ok(Some(Ok((message, from)))) => {
                got += 1;
                println!(
                    "Receiver {n} got broadcast from {from}: {}",
                    String::from_utf8_lossy(&message.payload)
                );
            }
            // A bad datagram concerns that datagram only: keep listening.
            Ok(Some(Err(e))) => println!("Rejected a datagram: {e}"),
            Ok(None) | Err(_) => break,
        }
    }
    got
}
