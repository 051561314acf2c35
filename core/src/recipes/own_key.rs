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

use super::error::{RecipeError, RecipeResult};
use super::retry;
use super::session::Session;
use crate::api::{CompareResult, CompareTarget, RequestOp, TxnRequest};
use crate::client::{ops, Client, ClientError};
use crate::kv::{KeyValue, LeaseId, ResponseHeader};

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

/// Deletes an own key when dropped before `disarm`: what makes waiting recipes cancel-safe.
pub struct PendingKey<C: Client> {
    client: C,
    key: Vec<u8>,
    revision: i64,
    armed: bool,
}

impl<C: Client> PendingKey<C> {
    pub fn new(client: C, key: Vec<u8>, revision: i64) -> Self {
        PendingKey { client, key, revision, armed: true }
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
        let (client, key, revision) = (self.client.clone(), self.key.clone(), self.revision);
        madsim::task::spawn(async move {
            let _ = release(&client, &key, revision).await;
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
