//! Many peer calls on one long-lived bidirectional gRPC stream.
//!
//! A unary call costs a new HTTP/2 stream each time: request headers, response headers and
//! trailers, each HPACK-coded, and two or three socket writes. Raft sends a handful of small
//! messages per commit round to every follower, and followers forward client requests to the
//! leader, so that per-call overhead was a good part of a put's CPU. A `CallStream` numbers its
//! calls and sends them as frames of one `Peer.Stream`; the peer answers each frame with the same
//! number, in whatever order the answers are ready.
//!
//! Invariants: every call gets exactly one outcome — its answer, its own error, a timeout, or the
//! stream's end. When the stream ends (the peer restarted, the connection broke), every waiting
//! call fails at once and the stream is `closed`; the transport then opens a new one for the next
//! call. A call that times out also closes the stream: a peer that stopped answering (paused, or
//! cut off) must not collect an unbounded queue of frames behind it, and a fresh stream after it
//! recovers costs one round trip.

use detcd_proto::detcdpeerpb::peer_client::PeerClient;
use detcd_proto::detcdpeerpb::PeerStreamFrame;
use futures::channel::mpsc::{unbounded, UnboundedSender};
use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tonic::transport::Channel;

type Outcome = io::Result<Vec<u8>>;

/// The calls sent and not answered yet, and why the stream ended once it has.
#[derive(Default)]
struct Waiting {
    calls: BTreeMap<u64, oneshot::Sender<Outcome>>,
    closed: Option<String>,
}

/// One open stream to a peer.
pub struct CallStream {
    frames: UnboundedSender<PeerStreamFrame>,
    waiting: Arc<Mutex<Waiting>>,
    next_id: AtomicU64,
}

impl CallStream {
    /// Opens a stream on `channel`; the first frames queue until the peer accepts it.
    pub fn open(channel: Channel) -> CallStream {
        let (frames, outbound) = unbounded();
        let waiting = Arc::new(Mutex::new(Waiting::default()));
        let answers = waiting.clone();
        tokio::spawn(async move {
            let mut client = PeerClient::new(channel).max_decoding_message_size(usize::MAX);
            let reason = match client.stream(outbound).await {
                Ok(response) => deliver_answers(response.into_inner(), &answers).await,
                Err(status) => format!("peer refused the stream: {}", status.message()),
            };
            close(&answers, reason);
        });
        CallStream { frames, waiting, next_id: AtomicU64::new(0) }
    }

    /// Whether the stream has ended; a closed stream fails every call.
    pub fn is_closed(&self) -> bool {
        lock(&self.waiting).closed.is_some()
    }

    /// Sends `payload` and waits at most `timeout` for the answer's payload.
    pub async fn call(&self, payload: Vec<u8>, timeout: Duration) -> Outcome {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (answer, answered) = oneshot::channel();
        {
            let mut waiting = lock(&self.waiting);
            if let Some(reason) = &waiting.closed {
                return Err(io::Error::new(io::ErrorKind::ConnectionAborted, reason.clone()));
            }
            waiting.calls.insert(id, answer);
        }
        if self
            .frames
            .unbounded_send(PeerStreamFrame { id, payload, error: String::new() })
            .is_err()
        {
            close(&self.waiting, "the stream's sender stopped".into());
        }
        match tokio::time::timeout(timeout, answered).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(io::Error::new(io::ErrorKind::ConnectionAborted, "stream closed")),
            Err(_) => {
                close(&self.waiting, "a call on the stream timed out".into());
                Err(io::Error::new(io::ErrorKind::TimedOut, "peer call timed out"))
            }
        }
    }
}

impl Drop for CallStream {
    fn drop(&mut self) {
        // Ends the outbound half, so the peer ends its answers and the reading task finishes.
        self.frames.close_channel();
    }
}

/// Hands each answer to its call until the peer ends the stream; returns why it ended.
async fn deliver_answers(
    mut answers: tonic::Streaming<PeerStreamFrame>,
    waiting: &Mutex<Waiting>,
) -> String {
    loop {
        let frame = match answers.message().await {
            Ok(Some(frame)) => frame,
            Ok(None) => return "peer ended the stream".into(),
            Err(status) => return format!("peer stream failed: {}", status.message()),
        };
        let Some(call) = lock(waiting).calls.remove(&frame.id) else {
            continue; // That call timed out and gave up.
        };
        let outcome = if frame.error.is_empty() {
            Ok(frame.payload)
        } else {
            Err(io::Error::other(frame.error))
        };
        let _ = call.send(outcome);
    }
}

/// Marks the stream ended (the first reason wins) and fails every waiting call with `reason`.
fn close(waiting: &Mutex<Waiting>, reason: String) {
    let calls = {
        let mut waiting = lock(waiting);
        waiting.closed.get_or_insert(reason.clone());
        std::mem::take(&mut waiting.calls)
    };
    for (_, call) in calls {
        let _ = call.send(Err(io::Error::new(io::ErrorKind::ConnectionAborted, reason.clone())));
    }
}

fn lock(waiting: &Mutex<Waiting>) -> std::sync::MutexGuard<'_, Waiting> {
    // The guarded map stays consistent even if a holder panicked: keep using it.
    waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
