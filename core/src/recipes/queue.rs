//! Queue: values under increasing keys below a prefix; dequeue takes the oldest, blocking when
//! empty (etcd's `recipe.Queue`, with sequence numbers instead of wall-clock names).
//!
//! Keys: `prefix/<sequence, 16 digits>`. An enqueue reads the newest key under the prefix and
//! creates the next one with `If(Version(next) == 0)`, trying again if another enqueue took that
//! number; so an enqueue that returned before another began has the smaller key (FIFO).
//!
//! A dequeue takes the first key with `If(ModRevision(key) == seen) Then(Delete(key),
//! Put(receipt)) Else(Get(receipt))`, where the receipt key (`prefix.claims/<nonce>`, outside the
//! queue's range) is unique to this dequeue. At most one dequeue's guard holds for a given key,
//! and the receipt tells a resend whether an earlier copy already won: a claim whose outcome is
//! unknown is sent again until its fate is definite, so a value is never delivered twice nor
//! lost to a timed-out claim. An enqueue whose outcome is unknown is reported as unknown (a blind
//! resend could deliver the value twice if the first copy was already dequeued).
//!
//! An empty queue is waited on with a watch from the revision it was seen empty at; if that
//! revision gets compacted while waiting, dequeue fails with etcd's compaction error.

use super::error::{RecipeError, RecipeResult};
use super::mutex::directory;
use super::{retry, wait};
use crate::api::{CompareResult, CompareTarget, RequestOp, SortOrder, SortTarget, TxnRequest};
use crate::client::{ops, Client};
use crate::kv::{EventType, KeyRange, KeyValue};

pub struct Queue<C: Client> {
    client: C,
    prefix: Vec<u8>,
}

impl<C: Client> Queue<C> {
    pub fn new(client: &C, prefix: impl AsRef<[u8]>) -> RecipeResult<Self> {
        let prefix = directory(prefix.as_ref(), "queue prefix")?;
        Ok(Queue { client: client.clone(), prefix })
    }

    /// Adds `value` at the tail; returns its key.
    pub async fn enqueue(&self, value: impl AsRef<[u8]>) -> RecipeResult<Vec<u8>> {
        enqueue_sequential(&self.client, &self.prefix, value.as_ref()).await
    }

    /// Takes the value at the head, waiting while the queue is empty.
    pub async fn dequeue(&self) -> RecipeResult<Vec<u8>> {
        dequeue_first(&self.client, &self.prefix).await
    }
}

/// Creates `dir<next sequence number>` holding `value`.
pub(crate) async fn enqueue_sequential<C: Client>(
    client: &C,
    dir: &[u8],
    value: &[u8],
) -> RecipeResult<Vec<u8>> {
    loop {
        let mut newest = ops::get_prefix(dir);
        newest.sort_order = SortOrder::Descend;
        newest.sort_target = SortTarget::Key;
        newest.limit = 1;
        newest.keys_only = true;
        let response = retry::idempotent(|| client.range(newest.clone())).await?;
        let next = match response.kvs.first() {
            Some(kv) => sequence_of(dir, &kv.key)? + 1,
            None => 0,
        };
        let mut key = dir.to_vec();
        key.extend_from_slice(format!("{next:016}").as_bytes());
        let txn = TxnRequest {
            compare: vec![ops::compare(&key, CompareTarget::Version(0), CompareResult::Equal)],
            success: vec![RequestOp::Put(ops::put(&key, value, 0))],
            failure: vec![],
        };
        if retry::once(|| client.txn(txn.clone())).await?.succeeded {
            return Ok(key);
        }
    }
}

/// The sequence number in `key` = `dir<digits>`.
fn sequence_of(dir: &[u8], key: &[u8]) -> RecipeResult<u64> {
    let digits = key.strip_prefix(dir).unwrap_or_default();
    let parsed = std::str::from_utf8(digits).ok().and_then(|s| s.parse::<u64>().ok());
    parsed.ok_or(RecipeError::InvalidArgument {
        what: "queue",
        why: "holds a key that is not a sequence number",
    })
}

/// Takes the first key (in key order) under `dir`, waiting while there is none.
pub(crate) async fn dequeue_first<C: Client>(client: &C, dir: &[u8]) -> RecipeResult<Vec<u8>> {
    let receipt = receipt_key(dir);
    loop {
        let mut first = ops::get_prefix(dir);
        first.sort_order = SortOrder::Ascend;
        first.sort_target = SortTarget::Key;
        first.limit = 1;
        let response = retry::idempotent(|| client.range(first.clone())).await?;
        let Some(head) = response.kvs.into_iter().next() else {
            let range = KeyRange::prefix(dir.to_vec());
            let from = response.header.revision + 1;
            wait::first_event(client, range, from, |e| e.kind == EventType::Put).await?;
            continue;
        };
        if claim(client, &head, &receipt).await? {
            let _ = retry::idempotent(|| client.delete_range(ops::delete(&receipt))).await;
            return Ok(head.value);
        }
    }
}

/// Deletes `head` if nobody else has; true when this dequeue (this or an earlier copy) did.
async fn claim<C: Client>(client: &C, head: &KeyValue, receipt: &[u8]) -> RecipeResult<bool> {
    let unchanged = CompareTarget::Mod(head.mod_revision);
    let txn = TxnRequest {
        compare: vec![ops::compare(&head.key, unchanged, CompareResult::Equal)],
        success: vec![
            RequestOp::DeleteRange(ops::delete(&head.key)),
            RequestOp::Put(ops::put(receipt, b"", 0)),
        ],
        failure: vec![RequestOp::Range(ops::get(receipt))],
    };
    let response = retry::idempotent(|| client.txn(txn.clone())).await?;
    Ok(response.succeeded || ops::first_range_kv(&response).is_some())
}

/// A key outside the queue's range, unique to one dequeue call.
fn receipt_key(dir: &[u8]) -> Vec<u8> {
    let mut key = dir.strip_suffix(b"/").unwrap_or(dir).to_vec();
    key.extend_from_slice(format!(".claims/{:016x}", madsim::rand::random::<u64>()).as_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_are_read_back_from_keys() {
        assert_eq!(sequence_of(b"q/", b"q/0000000000000041").unwrap(), 41);
        assert!(sequence_of(b"q/", b"q/x").is_err());
    }
}
