//! DoubleBarrier: `count` participants enter together and leave together.
//!
//! Keys: each participant's `key/waiters/<lease hex>` under its session's lease, and `key/ready`
//! (no lease) that the `count`-th participant puts to open the barrier. `enter` creates the own
//! waiter key; if that makes `count` waiters it puts `ready`, otherwise it waits for `ready` to be
//! put. A participant that finds more than `count` waiters takes its key back and fails with
//! `barrier: too many clients`, so no more than `count` ever get in. `leave` deletes waiter keys
//! in a fixed order: the lowest waiter (by key) leaves last; every other waiter deletes its key
//! and waits for the lowest one's deletion; the lowest waits for the highest remaining key until
//! it is alone, then deletes its key and `ready`.
//!
//! Unknown outcomes: the waiter key is created idempotently; deletes are guarded; a dropped
//! `enter` deletes its waiter key, and the lease removes it in any case.

use super::error::{RecipeError, RecipeResult};
use super::mutex::directory;
use super::own_key::{self, PendingKey};
use super::session::Session;
use super::{retry, wait};
use crate::api::{RequestOp, SortOrder, SortTarget, TxnRequest};
use crate::client::{ops, Client};
use crate::kv::{EventType, KeyRange};

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
        let pending = PendingKey::new(client.clone(), key.clone(), created.revision);
        let request = ops::get_prefix(&self.waiters);
        let response = retry::idempotent(|| client.range(request.clone())).await?;
        let inside =
            response.kvs.iter().filter(|kv| kv.create_revision <= created.revision).count();
        if inside > self.count {
            return Err(RecipeError::TooManyClients); // `pending` takes the key back.
        }
        if inside == self.count {
            let open = ops::put(&self.ready, b"", 0);
            retry::idempotent(|| client.put(open.clone())).await?;
        } else {
            // `ready` is put after the last participant's key, which is newer than this one.
            let ready = KeyRange::single(self.ready.clone());
            let from = created.revision + 1;
            wait::first_event(&client, ready, from, |e| e.kind == EventType::Put).await?;
        }
        pending.disarm();
        self.revision = Some(created.revision);
        Ok(())
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
