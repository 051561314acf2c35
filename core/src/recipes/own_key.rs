//! A key a session owns: created once under the session's lease, found again after any failure.
//!
//! Lock, RW-lock, election and double-barrier keys are named after the session's lease
//! (`prefix/<lease id in hex>`), so a session has one key per prefix and creating it is
//! idempotent: `If(CreateRevision(key) == 0) Then(Put(key, lease)) Else(Get(key))`. A create whose
//! outcome is unknown is simply sent again; the second copy finds the first one's key and its
//! create revision. That revision identifies this incarnation of the key: releasing deletes only
//! `If(CreateRevision(key) == rev)`, so a late release never removes a newer incarnation.
//!
//! Cancel-safety: a recipe that may be dropped while it waits holds a [`PendingKey`]; dropping
//! it before `disarm` spawns the guarded delete, so an abandoned wait leaves no key behind (and
//! if the spawn cannot run, the lease still removes the key when it ends).
//!
//! An abandoned incarnation is never adopted again. The spawned delete may still be on its way
//! (retrying through an election) when the same session calls the recipe again; were the new
//! call to find the old incarnation and take it as its own, the late delete would remove the key
//! it now holds, and the recipe would go on as the owner of a key that no longer exists, while
//! the next waiter takes the lock. So the session remembers its abandoned incarnations
//! ([`AbandonedKeys`]) and `create` deletes one itself (the same guarded delete) before it
//! creates the key anew: from then on any late copy of the delete finds a newer incarnation and
//! does nothing.

use super::error::{RecipeError, RecipeResult};
use super::retry;
use super::session::Session;
use crate::api::{CompareResult, CompareTarget, RequestOp, TxnRequest};
use crate::client::{ops, Client, ClientError};
use crate::kv::{KeyValue, LeaseId, ResponseHeader};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// `prefix` followed by the lease id in lower-case hex, as etcd names a session's key.
pub fn key_for(prefix: &[u8], lease: LeaseId) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(format!("{lease:x}").as_bytes());
    key
}

/// What creating (or finding) the own key returned.
#[derive(Debug, Clone)]
pub struct Created {
    /// The key's create revision: this incarnation's identity and fencing token.
    pub revision: i64,
    pub header: ResponseHeader,
    /// The key as it already was, when an earlier attempt (or an earlier call) created it.
    pub existing: Option<KeyValue>,
}

/// Creates `key` with `value` under the session's lease, or finds it if it already exists.
pub async fn create<C: Client>(
    session: &Session<C>,
    key: &[u8],
    value: &[u8],
) -> RecipeResult<Created> {
    session.check_alive()?;
    if let Some(revision) = session.abandoned().incarnation(key) {
        let client = session.client();
        release(client, key, revision).await?;
        session.abandoned().settled(key, revision);
    }
    let txn = TxnRequest {
        compare: vec![ops::absent(key)],
        success: vec![RequestOp::Put(ops::put(key, value, session.lease()))],
        failure: vec![RequestOp::Range(ops::get(key))],
    };
    let client = session.client();
    let response = retry::idempotent(|| client.txn(txn.clone())).await;
    let response = response.map_err(|error| lease_gone(session, error))?;
    if response.succeeded {
        let revision = response.header.revision;
        return Ok(Created { revision, header: response.header, existing: None });
    }
    let existing = ops::first_range_kv(&response).cloned();
    match existing {
        Some(kv) => Ok(Created {
            revision: kv.create_revision,
            header: response.header,
            existing: Some(kv),
        }),
        // Deleted between the compare and the read: impossible inside one txn.
        None => Err(RecipeError::SessionExpired { lease: session.lease() }),
    }
}

/// Deletes `key` if it is still the incarnation created at `revision`; true if it was.
pub async fn release<C: Client>(client: &C, key: &[u8], revision: i64) -> RecipeResult<bool> {
    let txn = TxnRequest {
        compare: vec![ops::compare(key, CompareTarget::Create(revision), CompareResult::Equal)],
        success: vec![RequestOp::DeleteRange(ops::delete(key))],
        failure: vec![],
    };
    let response = retry::idempotent(|| client.txn(txn.clone())).await?;
    Ok(response.succeeded)
}

/// Whether `key` still exists as the incarnation created at `revision`.
pub async fn still_held<C: Client>(client: &C, key: &[u8], revision: i64) -> RecipeResult<bool> {
    let response = retry::idempotent(|| client.range(ops::get(key))).await?;
    Ok(response.kvs.first().is_some_and(|kv| kv.create_revision == revision))
}

/// A lease the cluster no longer knows means the session is over.
pub fn lease_gone<C: Client>(session: &Session<C>, error: ClientError) -> RecipeError {
    match error {
        ClientError::Etcd(crate::Error::LeaseNotFound) => {
            RecipeError::SessionExpired { lease: session.lease() }
        }
        other => other.into(),
    }
}

/// The incarnations of own keys a session abandoned whose delete may not have applied yet.
#[derive(Default)]
pub struct AbandonedKeys {
    incarnations: Mutex<BTreeMap<Vec<u8>, i64>>,
}

impl AbandonedKeys {
    fn abandon(&self, key: &[u8], revision: i64) {
        self.locked().insert(key.to_vec(), revision);
    }

    /// The abandoned incarnation of `key` whose delete is not known to have applied, if any.
    fn incarnation(&self, key: &[u8]) -> Option<i64> {
        self.locked().get(key).copied()
    }

    /// The guarded delete of `key`'s incarnation `revision` answered: it is gone for good.
    fn settled(&self, key: &[u8], revision: i64) {
        let mut incarnations = self.locked();
        if incarnations.get(key) == Some(&revision) {
            incarnations.remove(key);
        }
    }

    fn locked(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, i64>> {
        // Nothing panics while holding it, so a poisoned lock still holds consistent data.
        self.incarnations.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Deletes an own key when dropped before `disarm`: what makes waiting recipes cancel-safe.
pub struct PendingKey<C: Client> {
    session: Session<C>,
    key: Vec<u8>,
    revision: i64,
    armed: bool,
}

impl<C: Client> PendingKey<C> {
    pub fn new(session: &Session<C>, key: Vec<u8>, revision: i64) -> Self {
        PendingKey { session: session.clone(), key, revision, armed: true }
    }

    /// The wait finished (or failed and cleaned up itself): nothing to do on drop.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl<C: Client> Drop for PendingKey<C> {
    fn drop(&mut self) {
        if !self.armed || !runtime_available() {
            return;
        }
        let (session, key, revision) = (self.session.clone(), self.key.clone(), self.revision);
        session.abandoned().abandon(&key, revision);
        madsim::task::spawn(async move {
            if release(session.client(), &key, revision).await.is_ok() {
                session.abandoned().settled(&key, revision);
            }
        });
    }
}

/// Spawning from `drop` needs a running executor (none while a runtime shuts down).
fn runtime_available() -> bool {
    #[cfg(madsim)]
    return madsim::runtime::Handle::try_current().is_ok();
    #[cfg(not(madsim))]
    return tokio::runtime::Handle::try_current().is_ok();
}
