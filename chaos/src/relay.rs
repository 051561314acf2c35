//! Per-client relays: each client of a network run reaches the members from its own address on
//! the bridge, so a partition can put some clients on the side of a stranded leader and others
//! on the majority's.
//!
//! The gRPC client connects to whatever address it is given and cannot choose its source, so
//! for client `c` and member `m` a relay listens on a loopback port and forwards every
//! connection to `m`, opened from `c`'s bridge address. Filter rules in `m`'s namespace then
//! see `c`'s address, and a cut between them is a cut of that client only. A relay adds a
//! loopback hop and nothing else: a connection it cannot open is closed at once (the client
//! sees a refused member and moves on, as it would directly), and a connection whose far end
//! stops answering hangs as it would directly.
//!
//! Invariant: dropping [`Relays`] stops every listener and every forwarded connection.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// How long opening the forwarded connection may take (a cut member never answers).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The relays of one run; dropping them stops them.
pub struct Relays {
    /// For each client, its endpoint per member (`127.0.0.1:<relay port>`), in member order.
    endpoints: Vec<Vec<String>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Relays {
    /// Starts a relay for each of `sources` (one client each) and each of `members`, on the
    /// current tokio runtime.
    pub async fn start(sources: &[IpAddr], members: &[SocketAddr]) -> std::io::Result<Relays> {
        let mut relays = Relays { endpoints: Vec::new(), tasks: Vec::new() };
        for &source in sources {
            let mut endpoints = Vec::new();
            for &member in members {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                endpoints.push(listener.local_addr()?.to_string());
                relays.tasks.push(tokio::spawn(serve(listener, source, member)));
            }
            relays.endpoints.push(endpoints);
        }
        Ok(relays)
    }

    /// Client `index`'s endpoints, one per member in member order.
    pub fn endpoints(&self, index: usize) -> &[String] {
        &self.endpoints[index % self.endpoints.len()]
    }
}

impl Drop for Relays {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Accepts on `listener` and forwards each connection to `member` from `source`; every
/// forwarded connection ends with the relay (aborting the relay drops its connection tasks'
/// handles, so they are aborted with a set).
async fn serve(listener: TcpListener, source: IpAddr, member: SocketAddr) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((inbound, _)) = listener.accept().await else { continue };
        connections.spawn(forward(inbound, source, member));
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

async fn forward(mut inbound: TcpStream, source: IpAddr, member: SocketAddr) {
    let socket = match source {
        IpAddr::V4(_) => TcpSocket::new_v4(),
        IpAddr::V6(_) => TcpSocket::new_v6(),
    };
    let Ok(socket) = socket else { return };
    if socket.bind(SocketAddr::new(source, 0)).is_err() {
        return;
    }
    let Ok(Ok(mut outbound)) = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(member)).await
    else {
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_relay_forwards_both_ways_from_its_source_address() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = server.local_addr().unwrap();
        let source: IpAddr = "127.0.0.7".parse().unwrap();
        let relays = Relays::start(&[source], &[target]).await.unwrap();
        let endpoint = relays.endpoints(0)[0].clone();
        let mut client = TcpStream::connect(&endpoint).await.unwrap();
        let (mut accepted, peer) = server.accept().await.unwrap();
        assert_eq!(peer.ip(), source, "the member sees the client's own address");
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        accepted.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping");
        accepted.write_all(b"pong").await.unwrap();
        client.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        drop(relays);
    }
}
