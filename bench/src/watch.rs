//! The watch workload: each client watches its own key, puts it, and waits for the event.
//!
//! A request's latency runs from sending the put to receiving a watch event at (or past) the
//! put's revision, so it measures the whole path a watcher cares about: consensus, apply and
//! delivery. Client `c` owns key `c`, so no client sees another's events and each event is
//! attributed exactly. Events may arrive before the put's reply; `seen` remembers the highest
//! revision delivered so none is waited for twice.

use crate::driver::{status_line, ClientPlan, Connection, Kv, Tickets, REQUEST_TIMEOUT};
use crate::keys;
use crate::requests;
use crate::summary::Recorder;
use detcd_proto::etcdserverpb::watch_request::RequestUnion;
use detcd_proto::etcdserverpb::{WatchCreateRequest, WatchRequest, WatchResponse};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

/// One open watch on one key.
struct Session {
    /// Kept open: closing the request stream ends the watch.
    _requests: mpsc::Sender<WatchRequest>,
    responses: Streaming<WatchResponse>,
    /// The highest revision an event has shown so far.
    seen: i64,
}

impl Session {
    async fn open(connection: &Connection, key: Vec<u8>) -> Result<Session, String> {
        let (requests, outgoing) = mpsc::channel(1);
        let create = WatchCreateRequest { key, ..Default::default() };
        let create = WatchRequest { request_union: Some(RequestUnion::CreateRequest(create)) };
        requests.send(create).await.map_err(|_| "watch request stream closed".to_string())?;
        let stream = connection.watch().watch(ReceiverStream::new(outgoing)).await;
        let responses = stream.map_err(|s| status_line(&s))?.into_inner();
        let mut session = Session { _requests: requests, responses, seen: 0 };
        let first = session.next().await?;
        if !first.created {
            return Err(format!("watch not created: {}", first.cancel_reason));
        }
        Ok(session)
    }

    async fn next(&mut self) -> Result<WatchResponse, String> {
        let message = self.responses.message().await.map_err(|s| status_line(&s))?;
        let response = message.ok_or("watch stream ended")?;
        if response.canceled {
            return Err(format!("watch canceled: {}", response.cancel_reason));
        }
        Ok(response)
    }

    /// Returns once an event at `revision` or later has arrived.
    async fn wait_for(&mut self, revision: i64) -> Result<(), String> {
        while self.seen < revision {
            let response = self.next().await?;
            let revisions = response.events.iter().filter_map(|e| e.kv.as_ref());
            self.seen = revisions.map(|kv| kv.mod_revision).fold(self.seen, i64::max);
        }
        Ok(())
    }
}

/// One watch client; a watch that cannot be opened is one error and ends the client.
pub async fn client(
    connection: Connection,
    client: usize,
    plan: ClientPlan,
    tickets: &Tickets,
) -> Recorder {
    let key = keys::key(client as u64, plan.key_size);
    let value = keys::value(plan.val_size);
    let mut recorder = Recorder::new();
    let mut session = match Session::open(&connection, key.clone()).await {
        Ok(session) => session,
        Err(error) => {
            recorder.failure(error);
            return recorder;
        }
    };
    let mut kv = connection.kv();
    while tickets.take() {
        let started = Instant::now();
        let seen = put_and_see(&mut kv, &mut session, key.clone(), &value);
        match tokio::time::timeout(REQUEST_TIMEOUT, seen).await {
            Ok(Ok(())) => recorder.success(started.elapsed()),
            Ok(Err(error)) => recorder.failure(error),
            Err(_) => recorder.failure("timed out".into()),
        }
    }
    recorder
}

async fn put_and_see(
    kv: &mut Kv,
    session: &mut Session,
    key: Vec<u8>,
    value: &[u8],
) -> Result<(), String> {
    let reply = kv.put(requests::put(key, value.to_vec())).await.map_err(|s| status_line(&s))?;
    let header = reply.into_inner().header.ok_or("put reply without a header")?;
    session.wait_for(header.revision).await
}
