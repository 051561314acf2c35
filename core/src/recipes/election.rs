//! Election: campaign to lead, proclaim values while leading, resign, and observe leaders
//! (etcd's `concurrency.Election`).
//!
//! A candidate's key is `prefix/<lease hex>` under its session's lease, its value the candidate's
//! proposal. The leader is the key with the lowest create revision; `campaign` waits (like a
//! mutex) until every earlier key is gone. Leadership is tied to that key incarnation: proclaim
//! and resign carry `CreateRevision(key) == rev`, so a leader whose lease expired cannot speak
//! any more (`election: not leader`). Leaders' key revisions increase from term to term.
//!
//! Unknown outcomes: the campaign key is created idempotently; proclaim (a put of the same value)
//! and resign (a guarded delete) are safe to resend. A campaign dropped mid-wait deletes its key.

use super::error::{RecipeError, RecipeResult};
use super::mutex::directory;
use super::own_key::{self, PendingKey};
use super::session::Session;
use super::{retry, wait};
use crate::api::{CompareResult, CompareTarget, RequestOp, TxnRequest};
use crate::client::{ops, Client};
use crate::kv::{KeyRange, KeyValue, ResponseHeader};

mod resume;

pub struct Election<C: Client> {
    session: Session<C>,
    prefix: Vec<u8>,
    /// The leader key and its create revision while this session leads (or campaigns).
    leading: Option<(Vec<u8>, i64)>,
    header: ResponseHeader,
}

impl<C: Client> Election<C> {
    pub fn new(session: &Session<C>, prefix: impl AsRef<[u8]>) -> RecipeResult<Self> {
        let prefix = directory(prefix.as_ref(), "election prefix")?;
        Ok(Election {
            session: session.clone(),
            prefix,
            leading: None,
            header: ResponseHeader::default(),
        })
    }

    /// Waits until this session leads, with `value` as its proposal. Returns the leader key's
    /// create revision.
    pub async fn campaign(&mut self, value: impl AsRef<[u8]>) -> RecipeResult<i64> {
        let value = value.as_ref();
        let key = own_key::key_for(&self.prefix, self.session.lease());
        let created = own_key::create(&self.session, &key, value).await?;
        self.header = created.header;
        self.leading = Some((key.clone(), created.revision));
        if created.existing.as_ref().is_some_and(|kv| kv.value != value) {
            self.proclaim(value).await?;
        }
        let client = self.session.client().clone();
        let pending = PendingKey::new(&self.session, key.clone(), created.revision);
        let waited = wait::all_deleted_before(&client, &self.prefix, created.revision - 1).await;
        if let Err(error) = waited {
            self.leading = None;
            return Err(error);
        }
        pending.disarm();
        if !own_key::still_held(&client, &key, created.revision).await? {
            self.leading = None;
            return Err(RecipeError::SessionExpired { lease: self.session.lease() });
        }
        Ok(created.revision)
    }

    /// Changes the leader's value without an election; fails when no longer the leader.
    pub async fn proclaim(&mut self, value: impl AsRef<[u8]>) -> RecipeResult<()> {
        let Some((key, revision)) = self.leading.clone() else {
            return Err(RecipeError::NotLeader);
        };
        let put = ops::put(&key, value.as_ref(), self.session.lease());
        let txn = TxnRequest {
            compare: vec![ops::compare(
                &key,
                CompareTarget::Create(revision),
                CompareResult::Equal,
            )],
            success: vec![RequestOp::Put(put)],
            failure: vec![],
        };
        let client = self.session.client();
        let response = retry::idempotent(|| client.txn(txn.clone())).await?;
        if !response.succeeded {
            self.leading = None;
            return Err(RecipeError::NotLeader);
        }
        self.header = response.header;
        Ok(())
    }

    /// Gives up leadership (or the campaign); a no-op when not campaigning.
    pub async fn resign(&mut self) -> RecipeResult<()> {
        let Some((key, revision)) = self.leading.take() else { return Ok(()) };
        own_key::release(self.session.client(), &key, revision).await?;
        Ok(())
    }

    /// The leader key's create revision while campaigning or leading.
    pub fn revision(&self) -> Option<i64> {
        self.leading.as_ref().map(|(_, revision)| *revision)
    }

    pub fn key(&self) -> Option<&[u8]> {
        self.leading.as_ref().map(|(key, _)| key.as_slice())
    }

    pub fn header(&self) -> ResponseHeader {
        self.header
    }

    /// The current leader's key and value.
    pub async fn leader(&self) -> RecipeResult<KeyValue> {
        leader(self.session.client(), &self.prefix)
            .await
            .map(|(kv, _)| kv)?
            .ok_or(RecipeError::NoLeader)
    }

    /// A stream of leaders, starting with the current one (if any).
    pub fn observe(&self) -> Observer<C> {
        Observer { client: self.session.client().clone(), prefix: self.prefix.clone(), last: None }
    }
}

/// The oldest key under `prefix` (the leader), and the revision it was read at.
async fn leader<C: Client>(client: &C, prefix: &[u8]) -> RecipeResult<(Option<KeyValue>, i64)> {
    let mut request = ops::get_prefix_by_create(prefix);
    request.limit = 1;
    let response = retry::idempotent(|| client.range(request.clone())).await?;
    Ok((response.kvs.into_iter().next(), response.header.revision))
}

/// Successive leaders of an election (etcd's `Observe`): each call returns the next leader key
/// or value that differs from the last one returned. Intermediate values may be coalesced.
pub struct Observer<C: Client> {
    client: C,
    prefix: Vec<u8>,
    /// (key, mod revision) of the last leader returned.
    last: Option<(Vec<u8>, i64)>,
}

impl<C: Client> Observer<C> {
    pub async fn next(&mut self) -> RecipeResult<KeyValue> {
        loop {
            let (current, revision) = leader(&self.client, &self.prefix).await?;
            if let Some(kv) = current {
                let seen = Some((kv.key.clone(), kv.mod_revision));
                if seen != self.last {
                    self.last = seen;
                    return Ok(kv);
                }
            }
            let range = KeyRange::prefix(self.prefix.clone());
            wait::first_event(&self.client, range, revision + 1, |_| true).await?;
        }
    }
}
