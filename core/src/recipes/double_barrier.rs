//! DoubleBarrier: `count` participants enter together and leave together.
//!
//! Keys: each participant's `key/waiters/<lease hex>` under its session's lease, and `key/ready`
//! (no lease) that the `count`-th participant puts to open the barrier, holding the create
//! revision of its own key: the *cut-off* of the round. `enter` creates the own waiter key; if
//! that makes `count` waiters it puts `ready`, otherwise it waits for `ready` to be put. A
//! participant that finds more than `count` older waiters, or whose key is newer than the cut-off
//! (the round began without it; counting keys alone would let it in once a member of the round
//! has started to leave), takes its key back and fails with `barrier: too many clients`, so no
//! more than `count` are ever inside. `leave` deletes waiter keys in a fixed order: the lowest
//! waiter (by key) leaves last; every other waiter deletes its key and waits for the lowest one's
//! deletion; the lowest waits for the highest remaining key until it is alone, then deletes its
//! key and `ready`.
//!
//! Unknown outcomes: the waiter key is created idempotently; deletes are guarded; a dropped
//! `enter` deletes its waiter key, and the lease removes it in any case.

use super::error::{RecipeError, RecipeResult};
use super::mutex::directory;
use super::own_key::{self, PendingKey};
use super::session::Session;
use super::{retry, wait};
use crate::api::{RequestOp, ResponseOp, SortOrder, SortTarget, TxnRequest};
use crate::client::{ops, Client};
use crate::kv::{EventType, KeyRange, KeyValue};

pub struct DoubleBarrier<C: Client> {
    session: Session<C>,
    waiters: Vec<u8>,
    ready: Vec<u8>,
    count: usize,
    /// The own waiter key's create revision while inside.
    revision: Option<i64>,
}

impl<C: Client> DoubleBarrier<C> {
    /// A barrier for `count` participants under `key`; a count of 0 is refused.
    pub fn new(session: &Session<C>, key: impl AsRef<[u8]>, count: usize) -> RecipeResult<Self> {
        if count == 0 {
            return Err(RecipeError::InvalidArgument {
                what: "double barrier count",
                why: "must be at least 1",
            });
        }
        let base = directory(key.as_ref(), "double barrier key")?;
        let mut waiters = base.clone();
        waiters.extend_from_slice(b"waiters/");
        let mut ready = base;
        ready.extend_from_slice(b"ready");
        Ok(DoubleBarrier { session: session.clone(), waiters, ready, count, revision: None })
    }

    fn own_key(&self) -> Vec<u8> {
        own_key::key_for(&self.waiters, self.session.lease())
    }

    /// Waits until `count` participants have entered.
    pub async fn enter(&mut self) -> RecipeResult<()> {
        let key = self.own_key();
        let created = own_key::create(&self.session, &key, b"").await?;
        let client = self.session.client().clone();
        let pending = PendingKey::new(&self.session, key.clone(), created.revision);
        let (waiters, ready) = self.look(&client).await?;
        let inside = waiters.iter().filter(|kv| kv.create_revision <= created.revision).count();
        if inside > self.count || ready.as_ref().is_some_and(|r| cutoff(r) < created.revision) {
            return Err(RecipeError::TooManyClients); // `pending` takes the key back.
        }
        if ready.is_none() && inside == self.count {
            // The value is the cut-off: the newest key that belongs to this round.
            let open = ops::put(&self.ready, created.revision.to_string().as_bytes(), 0);
            retry::idempotent(|| client.put(open.clone())).await?;
        } else if ready.is_none() {
            // `ready` is put after the last participant's key, which is newer than this one.
            let ready = KeyRange::single(self.ready.clone());
            let from = created.revision + 1;
            let opened =
                wait::first_event(&client, ready, from, |e| e.kind == EventType::Put).await?;
            if cutoff(&opened.kv) < created.revision {
                return Err(RecipeError::TooManyClients);
            }
        }
        pending.disarm();
        self.revision = Some(created.revision);
        Ok(())
    }

    /// The waiter keys and the `ready` key, read at one revision.
    async fn look(&self, client: &C) -> RecipeResult<(Vec<KeyValue>, Option<KeyValue>)> {
        let txn = TxnRequest {
            compare: vec![],
            success: vec![
                RequestOp::Range(ops::get_prefix(&self.waiters)),
                RequestOp::Range(ops::get(&self.ready)),
            ],
            failure: vec![],
        };
        let response = retry::idempotent(|| client.txn(txn.clone())).await?;
        let mut ranges = response.responses.into_iter().map(|op| match op {
            ResponseOp::Range(range) => range.kvs,
            _ => Vec::new(),
        });
        let waiters = ranges.next().unwrap_or_default();
        let ready = ranges.next().and_then(|kvs| kvs.into_iter().next());
        Ok((waiters, ready))
    }

    /// Waits until every participant has left.
    pub async fn leave(&mut self) -> RecipeResult<()> {
        let Some(revision) = self.revision else {
            return Err(RecipeError::NotHeld("double barrier: leave without enter"));
        };
        let key = self.own_key();
        let client = self.session.client().clone();
        loop {
            let mut request = ops::get_prefix(&self.waiters);
            request.sort_order = SortOrder::Ascend;
            request.sort_target = SortTarget::Key;
            let response = retry::idempotent(|| client.range(request.clone())).await?;
            let from = response.header.revision + 1;
            let (Some(lowest), Some(highest)) = (response.kvs.first(), response.kvs.last()) else {
                break;
            };
            if response.kvs.len() == 1 && lowest.key == key {
                self.open_up(&key).await?;
                break;
            }
            if lowest.key == key {
                wait::deleted(&client, &highest.key, from).await?;
                continue;
            }
            own_key::release(&client, &key, revision).await?;
            wait::deleted(&client, &lowest.key, from).await?;
        }
        self.revision = None;
        Ok(())
    }

    /// The last one out deletes its own key and `ready` in one txn.
    async fn open_up(&self, key: &[u8]) -> RecipeResult<()> {
        let txn = TxnRequest {
            compare: vec![],
            success: vec![
                RequestOp::DeleteRange(ops::delete(key)),
                RequestOp::DeleteRange(ops::delete(&self.ready)),
            ],
            failure: vec![],
        };
        let client = self.session.client();
        retry::idempotent(|| client.txn(txn.clone())).await?;
        Ok(())
    }
}

/// The create revision of the last waiter key of the round `ready` opened.
fn cutoff(ready: &KeyValue) -> i64 {
    let parsed = std::str::from_utf8(&ready.value).ok().and_then(|v| v.parse().ok());
    parsed.unwrap_or(ready.create_revision)
}
