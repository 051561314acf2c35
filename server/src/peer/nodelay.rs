//! Accepting connections with Nagle's algorithm off, for the peer and the client listeners.
//!
//! tonic sets `TCP_NODELAY` only on sockets it accepts itself; `serve_with_incoming` takes our
//! listener's sockets as they are, with Nagle on. gRPC writes small frames (headers, a short
//! message, trailers), and Nagle holds each one back until the previous is acknowledged, which
//! the peer's delayed ACK answers only after up to 40 ms on Linux: replies to forwarded writes,
//! raft heartbeats and watch events then wait that long. Measured with `detcd-bench`: puts sent
//! to a follower ran at about half the rate of puts sent to the leader. Every accepted socket gets
//! `TCP_NODELAY` (as etcd's Go sockets have by default); if setting it fails the connection is
//! still served, just slower.

use std::io;
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::TcpListenerStream;
use tokio_stream::{Stream, StreamExt};
use tracing::debug;

/// `listener`'s connections, each with `TCP_NODELAY` set.
pub fn nodelay_incoming(listener: TcpListener) -> impl Stream<Item = io::Result<TcpStream>> {
    TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        if let Err(error) = stream.set_nodelay(true) {
            debug!(%error, "could not set TCP_NODELAY on an accepted connection");
        }
        Ok(stream)
    })
}
