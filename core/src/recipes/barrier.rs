//! Barrier: one key that blocks everyone who waits on it until it is deleted.
//!
//! `hold` creates the key (no lease: a barrier outlives its holder, so a holder that dies never
//! releases it, as in etcd), `release` deletes it, `wait` returns at once when the key is absent
//! and otherwise when it is deleted.
//!
//! Unknown outcomes: `hold` is `If(CreateRevision(key) == 0) Then(Put)`, and a resend after an
//! unknown outcome that finds the key cannot tell whether it was this hold or someone else's, so
//! it reports the unknown outcome instead of guessing. `release` and `wait` are idempotent.

use super::error::{RecipeError, RecipeResult};
use super::{retry, wait};
use crate::api::{RequestOp, TxnRequest};
use crate::client::{ops, Client};

pub struct Barrier<C: Client> {
    client: C,
    key: Vec<u8>,
}

impl<C: Client> Barrier<C> {
    pub fn new(client: &C, key: impl AsRef<[u8]>) -> RecipeResult<Self> {
        let key = key.as_ref().to_vec();
        if key.is_empty() {
            return Err(RecipeError::InvalidArgument {
                what: "barrier key",
                why: "must not be empty",
            });
        }
        Ok(Barrier { client: client.clone(), key })
    }

    /// Puts the barrier up; fails with `key already exists` when it is up already.
    pub async fn hold(&self) -> RecipeResult<()> {
        let txn = TxnRequest {
            compare: vec![ops::absent(&self.key)],
            success: vec![RequestOp::Put(ops::put(&self.key, b"", 0))],
            failure: vec![],
        };
        let response = retry::once(|| self.client.txn(txn.clone())).await?;
        if !response.succeeded {
            return Err(RecipeError::KeyExists);
        }
        Ok(())
    }

    /// Takes the barrier down, letting every waiter through.
    pub async fn release(&self) -> RecipeResult<()> {
        retry::idempotent(|| self.client.delete_range(ops::delete(&self.key))).await?;
        Ok(())
    }

    /// Returns once the barrier is down.
    pub async fn wait(&self) -> RecipeResult<()> {
        let response = retry::idempotent(|| self.client.range(ops::get(&self.key))).await?;
        if response.kvs.is_empty() {
            return Ok(());
        }
        wait::deleted(&self.client, &self.key, response.header.revision + 1).await
    }
}
