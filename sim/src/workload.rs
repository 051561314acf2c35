//! Workloads: what the simulated clients do, one task per client.
//!
//! A workload runs each client until its deadline, recording every operation (invocation and
//! outcome) so a checker can judge the history afterwards. Scenarios define their own workloads;
//! `KvWorkload` here is the plain one the simulator's own tests use: puts and linearizable reads
//! of a few keys, recorded in the `etcd` model's shapes.

use crate::client::{Outcome, SimClient};
use crate::history::Recorder;
use detcd_core::api::{PutRequest, PutResponse, RangeRequest, RangeResponse};
use detcd_core::kv::KeyValue;
use futures::future::BoxFuture;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// A stretch of the chaos phase in which one client issues no new operations: a client that
/// reaches the top of its loop inside the window sleeps until the window ends, then goes on. Its
/// random stream is untouched (waiting draws nothing), so a window changes a client's later
/// choices only through what happened meanwhile. The shrinker adds windows to remove operations
/// from the middle of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct QuietWindow {
    /// 1-based client number (the history's `client`, the trace's `c<n>`).
    pub client: u64,
    /// Start, in simulated milliseconds since the chaos phase began (inclusive).
    pub from_ms: u64,
    /// End, in simulated milliseconds since the chaos phase began (exclusive).
    pub to_ms: u64,
}

/// What one client task gets.
pub struct ClientContext {
    /// 1-based client number (the history's `client`).
    pub index: u64,
    pub client: SimClient,
    pub recorder: Recorder,
    /// Seeded per client from the run's seed.
    pub rng: ChaCha8Rng,
    /// Stop issuing operations at this virtual time.
    pub until: Duration,
    /// Virtual-time spans `[from, to)` in which this client issues nothing (its quiet windows).
    pub quiet: Vec<(Duration, Duration)>,
}

impl ClientContext {
    /// Whether to issue another operation: before the deadline and under the run's cap. Inside
    /// one of the client's quiet windows it first sleeps until the window ends (or the deadline
    /// comes); outside every window it returns at once, without yielding.
    pub async fn running(&self) -> bool {
        loop {
            let now = crate::trace::now();
            if now >= self.until || self.recorder.exhausted() {
                return false;
            }
            let Some(&(_, to)) = self.quiet.iter().find(|(from, to)| *from <= now && now < *to)
            else {
                return true;
            };
            madsim::time::sleep(to.min(self.until) - now).await;
        }
    }
}

pub trait Workload: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// Prepares the key space before the chaos phase (e.g. initial balances), on a healthy
    /// cluster; not recorded in the history.
    fn setup(&self, _client: SimClient) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
    /// The client task for `ctx.index`.
    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()>;
}

/// Puts and linearizable reads over a few keys.
pub struct KvWorkload {
    pub keys: usize,
}

impl Workload for KvWorkload {
    fn name(&self) -> &str {
        "kv"
    }

    fn client(&self, ctx: ClientContext) -> BoxFuture<'static, ()> {
        Box::pin(kv_client(ctx, self.keys.max(1)))
    }
}

async fn kv_client(mut ctx: ClientContext, keys: usize) {
    let mut sequence = 0u64;
    while ctx.running().await {
        let key = format!("k{}", ctx.rng.gen_range(0..keys));
        if ctx.rng.gen_bool(0.5) {
            sequence += 1;
            let value = format!("c{}-{sequence}", ctx.index);
            put(&mut ctx, &key, &value).await;
        } else {
            get(&mut ctx, &key).await;
        }
        madsim::time::sleep(Duration::from_millis(ctx.rng.gen_range(1..50))).await;
    }
}

/// A put, recorded as the `etcd` model's `put`.
pub async fn put(ctx: &mut ClientContext, key: &str, value: &str) -> Outcome<PutResponse> {
    let input = json!({"key": key, "value": value});
    let pending = ctx.recorder.invoke(ctx.index, "put", Some(key), input);
    let request = PutRequest { key: key.into(), value: value.into(), ..Default::default() };
    let outcome = ctx.client.call(request).await;
    match &outcome {
        Outcome::Ok(response) => {
            ctx.recorder.complete(pending, json!({"revision": response.header.revision}))
        }
        Outcome::Failed(error) => {
            ctx.recorder.complete(pending, json!({"error": error.to_string()}))
        }
        Outcome::Unknown(why) => ctx.recorder.unknown(pending, why),
    }
    outcome
}

/// A linearizable single-key read, recorded as the `etcd` model's `range`.
pub async fn get(ctx: &mut ClientContext, key: &str) -> Outcome<RangeResponse> {
    let pending = ctx.recorder.invoke(ctx.index, "range", Some(key), json!({"key": key}));
    let request = RangeRequest { key: key.into(), ..Default::default() };
    let outcome = ctx.client.call(request).await;
    match &outcome {
        Outcome::Ok(response) => {
            let kvs: Vec<Value> = response.kvs.iter().map(kv_json).collect();
            ctx.recorder
                .complete(pending, json!({"revision": response.header.revision, "kvs": kvs}))
        }
        Outcome::Failed(error) => {
            ctx.recorder.complete(pending, json!({"error": error.to_string()}))
        }
        // A read that failed changed nothing; recording it as unknown keeps the checker honest.
        Outcome::Unknown(why) => ctx.recorder.unknown(pending, why),
    }
    outcome
}

/// A stored pair in the `etcd` model's JSON shape.
pub fn kv_json(kv: &KeyValue) -> Value {
    json!({
        "key": String::from_utf8_lossy(&kv.key),
        "value": String::from_utf8_lossy(&kv.value),
        "create_revision": kv.create_revision,
        "mod_revision": kv.mod_revision,
        "version": kv.version,
        "lease": kv.lease,
    })
}
