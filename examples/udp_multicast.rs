//! Guide: "UDP Multicast".
//!
//! Two receivers join the group 239.255.77.77 on the loopback interface
//! (`socket2`: `SO_REUSEADDR`, `join_multicast_v4`); each datagram is one
//! wireforms typed message (`UdpFramed` + `DatagramCodec<Typed>`).
//!
//! Loopback-safe settings, unlike the guide's (which sends with the system's
//! default interface and a TTL of 1, so onto the local network):
//! - the group is in 239.0.0.0/8, the administratively scoped range;
//! - the sender's multicast interface is 127.0.0.1 and multicast loop is on;
//! - the TTL is 0: the kernel delivers the local copies and puts nothing on
//!   any wire.
//!
//! The guide also shrinks the receive buffer to 8 KiB with `SetReadBuffer`
//! (it meant the datagram size); here the buffer is left alone. Where the
//! machine cannot join the group or deliver to it, the demo says so and
//! exits cleanly.
//!
//! Run: `cargo run --example udp_multicast [PORT]` (default: any free port).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio_util::udp::UdpFramed;
use wireforms::transport::udp::DatagramCodec;
use wireforms::typed::{MessageType, Typed, TypedMessageBuf};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 77, 77);
const MESSAGES: usize = 5;

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let port: u16 = match std::env::args().nth(1) {
        Some(port) => port.parse()?,
        None => 0,
    };

    let first = match receiver_socket(SocketAddrV4::new(GROUP, port)) {
        Ok(socket) => socket,
        Err(e) => {
            println!("Cannot join {GROUP} on the loopback interface ({e}); nothing to show");
            return Ok(());
        }
    };
    let SocketAddr::V4(group) = first.local_addr()? else {
        return Err("unexpected IPv6 address".into());
    };
    let second = receiver_socket(group)?;
    println!("Multicast receivers joined {group}");
    let receivers = [(1, first), (2, second)].map(|(n, socket)| tokio::spawn(receive(n, socket)));

    let sender = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    sender.set_multicast_if_v4(&Ipv4Addr::LOCALHOST)?;
    sender.set_multicast_loop_v4(true)?;
    sender.set_multicast_ttl_v4(0)?;
    sender.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
    let mut sender = UdpFramed::new(into_tokio(sender)?, DatagramCodec::<Typed>::default());
    println!("Sending multicast messages (interface 127.0.0.1, TTL 0)");
    for i in 1..=MESSAGES {
        let message = TypedMessageBuf::new(MessageType(1), format!("Multicast message {i}"));
        sender.send((message, group.into())).await?;
        println!("Sent: Multicast message {i}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut delivered = 0;
    for (n, receiver) in receivers.into_iter().enumerate() {
        let got = receiver.await?;
        println!("Receiver {} got {got} of {MESSAGES}", n + 1);
        delivered += got;
    }
    if delivered == 0 {
        println!("Loopback multicast is not delivered on this machine; nothing more to show");
    }
    Ok(())
}

fn receiver_socket(group: SocketAddrV4) -> std::io::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    // Bound to the group address: only this group's datagrams arrive here.
    socket.bind(&SocketAddr::V4(group).into())?;
    socket.join_multicast_v4(group.ip(), &Ipv4Addr::LOCALHOST)?;
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
                    "Receiver {n} got from {from}: {}",
                    String::from_utf8_lossy(&message.payload)
                );
            }
            // A bad datagram concerns that datagram only: keep listening.
            Ok(Some(Err(e))) => println!("Receiver {n} rejected a datagram: {e}"),
            Ok(None) | Err(_) => break,
        }
    }
    got
}
