//! Small helpers the suite's scenarios share: clients, sessions, reads of a prefix, and
//! assertions about tasks that must still be blocked or must finish soon.

use detcd_core::api::{Compare, RequestOp, TxnRequest};
use detcd_core::client::ops;
use detcd_core::recipes::Session;
use detcd_proto::client::GrpcClient;
use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long a blocked call is watched to be sure it really blocks.
pub const BLOCKED_FOR: Duration = Duration::from_millis(800);
/// How long a call unblocked by another may take to return.
pub const UNBLOCKS_WITHIN: Duration = Duration::from_secs(10);

/// A client of every endpoint (`127.0.0.1:<port>`).
pub fn client(endpoints: &[String]) -> GrpcClient {
    let endpoints: Vec<&str> = endpoints.iter().map(String::as_str).collect();
    GrpcClient::new(&endpoints).expect("valid endpoints")
}

/// A session with etcd's default TTL.
pub async fn session(client: &GrpcClient) -> Session<GrpcClient> {
    Session::new(client.clone()).await.expect("session")
}

/// The keys under `prefix`, in key order, as text.
pub async fn keys_under(client: &GrpcClient, prefix: &str) -> Vec<String> {
    let response = client.range(ops::get_prefix(prefix.as_bytes())).await.expect("range");
    response.kvs.iter().map(|kv| String::from_utf8_lossy(&kv.key).into_owned()).collect()
}

/// The value of `key`, if it exists, as text.
pub async fn value_of(client: &GrpcClient, key: &str) -> Option<String> {
    let response = client.range(ops::get(key.as_bytes())).await.expect("get");
    response.kvs.first().map(|kv| String::from_utf8_lossy(&kv.value).into_owned())
}

/// Puts `key = value` only if `guard` holds; whether it did.
pub async fn guarded_put(client: &GrpcClient, guard: Compare, key: &str, value: &str) -> bool {
    let txn = TxnRequest {
        compare: vec![guard],
        success: vec![RequestOp::Put(ops::put(key.as_bytes(), value.as_bytes(), 0))],
        failure: vec![],
    };
    client.txn(txn).await.expect("txn").succeeded
}

/// Runs `future` as its own task (so it can block while the scenario goes on).
pub fn spawn<T: Send + 'static>(future: impl Future<Output = T> + Send + 'static) -> JoinHandle<T> {
    tokio::spawn(future)
}

/// Asserts `task` is still blocked after [`BLOCKED_FOR`].
pub async fn assert_blocked<T>(task: &mut JoinHandle<T>, what: &str) {
    let finished = tokio::time::timeout(BLOCKED_FOR, &mut *task).await.is_ok();
    assert!(!finished, "{what} should still be blocked");
}

/// Waits (at most [`UNBLOCKS_WITHIN`]) for `task` and returns its result.
pub async fn finishes<T>(task: JoinHandle<T>, what: &str) -> T {
    finishes_within(task, UNBLOCKS_WITHIN, what).await
}

/// Waits at most `limit` for `task` and returns its result.
pub async fn finishes_within<T>(task: JoinHandle<T>, limit: Duration, what: &str) -> T {
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => panic!("{what} panicked: {}", panic_text(error)),
        Err(_) => panic!("{what} did not finish within {limit:?}"),
    }
}

/// The message of a task's panic (or why it was cancelled).
pub fn panic_text(error: tokio::task::JoinError) -> String {
    if !error.is_panic() {
        return error.to_string();
    }
    let payload = error.into_panic();
    if let Some(text) = payload.downcast_ref::<String>() {
        return text.clone();
    }
    payload.downcast_ref::<&str>().map_or("a panic without a message".into(), |s| s.to_string())
}
