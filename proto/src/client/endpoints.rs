//! Which member a `GrpcClient` talks to, and moving on from one that failed.
//!
//! All clones of a client share one "current endpoint". A caller that saw the current endpoint
//! fail moves everyone to the next one, but only if nobody has moved since it picked that
//! endpoint (a compare-and-swap on the turn it was given): several calls failing on the same
//! dead member move the client once, not once per call, so no endpoint is skipped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tonic::transport::Channel;

/// The members' channels and the shared current position (counting up; index = turn mod len).
#[derive(Clone)]
pub(super) struct Endpoints {
    channels: Arc<Vec<Channel>>,
    current: Arc<AtomicUsize>,
}

/// One use of the current endpoint: its channel and the turn it was taken on.
pub(super) struct Turn {
    pub channel: Channel,
    taken: usize,
    current: Arc<AtomicUsize>,
}

impl Endpoints {
    /// At least one channel.
    pub fn new(channels: Vec<Channel>) -> Endpoints {
        Endpoints { channels: Arc::new(channels), current: Arc::new(AtomicUsize::new(0)) }
    }

    pub fn len(&self) -> usize {
        self.channels.len()
    }

    /// The current endpoint.
    pub fn take(&self) -> Turn {
        let taken = self.current.load(Ordering::SeqCst);
        let channel = self.channels[taken % self.channels.len()].clone();
        Turn { channel, taken, current: self.current.clone() }
    }
}

impl Turn {
    /// This turn's endpoint failed: move the client to the next one, unless it already moved.
    pub fn failed(&self) {
        let next = self.taken.wrapping_add(1);
        let _ = self.current.compare_exchange(self.taken, next, Ordering::SeqCst, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::transport::Endpoint;

    fn endpoints(n: u16) -> Endpoints {
        let channel =
            |port: u16| Endpoint::from_shared(format!("http://127.0.0.1:{port}")).unwrap();
        Endpoints::new((1..=n).map(|port| channel(port).connect_lazy()).collect())
    }

    #[tokio::test]
    async fn failures_on_one_turn_move_the_client_once() {
        let endpoints = endpoints(3);
        let (first, second) = (endpoints.take(), endpoints.take());
        first.failed();
        second.failed(); // The same dead endpoint: no second move.
        assert_eq!(endpoints.take().taken, 1);
        endpoints.take().failed();
        endpoints.take().failed();
        assert_eq!(endpoints.take().taken % endpoints.len(), 0, "wraps around to the first");
    }
}
