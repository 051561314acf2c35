//! What the cluster-level simulator tests share: a client on a node of its own, the requests
//! they send, and asking until an answer comes.
#![allow(dead_code)] // Each test file uses its own part.

use detcd_core::api::{PutRequest, RangeRequest};
use detcd_core::raft::types::NodeId;
use detcd_sim::client::{Outcome, SimClient};
use detcd_sim::transport::Carried;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A client on its own node; runs `body` there.
pub async fn on_client<F, T>(
    ids: Vec<NodeId>,
    body: impl FnOnce(SimClient) -> F + Send + 'static,
) -> T
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    spawn_client(ids, body).await.expect("client task")
}

/// A client on its own node running `body` there, in the background.
pub fn spawn_client<F, T>(
    ids: Vec<NodeId>,
    body: impl FnOnce(SimClient) -> F + Send + 'static,
) -> madsim::task::JoinHandle<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    static CLIENTS: AtomicU32 = AtomicU32::new(0);
    let n = CLIENTS.fetch_add(1, Ordering::Relaxed);
    let ip = IpAddr::V4(Ipv4Addr::new(10, 9, (n >> 8) as u8, n as u8 + 1));
    let handle = madsim::runtime::Handle::current();
    let node = handle.create_node().name(format!("client{n}")).ip(ip).build();
    node.spawn(async move {
        let client = SimClient::connect(ids).await.expect("client endpoint");
        body(client).await
    })
}

pub fn put(key: &str, value: &str) -> PutRequest {
    PutRequest { key: key.into(), value: value.into(), ..Default::default() }
}

pub fn get(key: &str, serializable: bool) -> RangeRequest {
    RangeRequest { key: key.into(), serializable, ..Default::default() }
}

/// The first answer to `request`, asked again every half second (through refusals, timeouts and
/// elections) up to `attempts` times; panics when none comes.
pub async fn answer_with_retry<R: Carried + std::fmt::Debug>(
    client: &mut SimClient,
    request: R,
    attempts: u32,
) -> R::Answer {
    for _ in 0..attempts {
        if let Outcome::Ok(response) = client.call(request.clone()).await {
            return response;
        }
        madsim::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("no answer to {request:?} within {} s of retries", attempts / 2);
}
