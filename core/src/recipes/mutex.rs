//! Mutex: a distributed lock owned by a session (etcd's `concurrency.Mutex`).
//!
//! Each session's key is `prefix/<lease id in hex>`, created under its lease. The owner is the key
//! with the lowest create revision under the prefix; every other session waits for the deletion
//! of the keys created before its own (newest first), so the lock passes in FIFO order and each
//! waiter watches one key at a time. The own key's create revision is the *fencing token*:
//! `is_owner()` is the compare `CreateRevision(myKey) == token` that a txn can carry to act only
//! while still the owner, and a protected resource can refuse tokens older than one it saw.
//!
//! Failure handling: creating the key is idempotent (see `own_key`), so an unknown outcome is
//! resolved by sending the create again. A `lock()` that fails while waiting deletes its key; one
//! that is dropped mid-wait deletes it from a spawned task, and the lease removes it in any case.
//! A holder that dies keeps the lock until its lease expires.

use super::error::{RecipeError, RecipeResult};
use super::own_key::{self, PendingKey};
use super::session::Session;
use super::wait;
use crate::api::{Compare, CompareResult, CompareTarget};
use crate::client::{ops, Client};
use crate::kv::ResponseHeader;
use std::sync::Arc;

/// A lock on `prefix`, taken by one session.
pub struct Mutex<C: Client> {
    session: Session<C>,
    /// The prefix with a trailing `/`.
    prefix: Vec<u8>,
    key: Vec<u8>,
    /// Create revision of the own key while locked (or waiting); -1 otherwise.
    revision: i64,
    header: ResponseHeader,
}

impl<C: Client> Mutex<C> {
    /// A mutex on `prefix`; an empty prefix would lock the whole key space and is refused.
    pub fn new(session: &Session<C>, prefix: impl AsRef<[u8]>) -> RecipeResult<Self> {
        let prefix = directory(prefix.as_ref(), "mutex prefix")?;
        let key = own_key::key_for(&prefix, session.lease());
        let header = ResponseHeader::default();
        Ok(Mutex { session: session.clone(), prefix, key, revision: -1, header })
    }

    /// Waits until this session owns the lock.
    pub async fn lock(&mut self) -> RecipeResult<()> {
        let (created, owner) = self.acquire().await?;
        if owner {
            return Ok(());
        }
        let client = self.session.client().clone();
        let pending = PendingKey::new(&self.session, self.key.clone(), created.revision);
        let waited = wait::all_deleted_before(&client, &self.prefix, created.revision - 1).await;
        let held = match waited {
            Ok(()) if crate::plant::active(crate::plant::Bug::LockToExpiredWaiter) => Ok(true),
            Ok(()) => own_key::still_held(&client, &self.key, created.revision).await,
            Err(error) => Err(error),
        };
        match held {
            Ok(true) => {
                pending.disarm();
                Ok(())
            }
            Ok(false) => {
                pending.disarm();
                self.revision = -1;
                Err(RecipeError::SessionExpired { lease: self.session.lease() })
            }
            // Dropping `pending` deletes the key: a failed lock leaves nothing behind.
            Err(error) => {
                self.revision = -1;
                Err(error)
            }
        }
    }

    /// Takes the lock if it is free; otherwise fails at once with `mutex: Locked by another
    /// session` and leaves no key behind.
    pub async fn try_lock(&mut self) -> RecipeResult<()> {
        let (created, owner) = self.acquire().await?;
        if owner {
            return Ok(());
        }
        own_key::release(self.session.client(), &self.key, created.revision).await?;
        self.revision = -1;
        Err(RecipeError::Locked)
    }

    /// Releases the lock (deletes the own key if it is still this incarnation).
    pub async fn unlock(&mut self) -> RecipeResult<()> {
        if self.revision < 0 {
            return Err(RecipeError::NotHeld("mutex: unlock of unlocked mutex"));
        }
        own_key::release(self.session.client(), &self.key, self.revision).await?;
        self.revision = -1;
        Ok(())
    }

    /// The compare that holds exactly while this session still owns the lock.
    pub fn is_owner(&self) -> Compare {
        ops::compare(&self.key, CompareTarget::Create(self.revision), CompareResult::Equal)
    }

    /// The own key, e.g. `mutex/3a7e767e1dfcbd0e` (what `etcdctl lock` prints).
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The fencing token: the own key's create revision (-1 when not locked).
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The header of the response that created (or found) the own key.
    pub fn header(&self) -> ResponseHeader {
        self.header
    }

    /// Creates or finds the own key; true when it is the oldest under the prefix.
    async fn acquire(&mut self) -> RecipeResult<(own_key::Created, bool)> {
        let created = own_key::create(&self.session, &self.key, b"").await?;
        self.revision = created.revision;
        self.header = created.header;
        match is_oldest(self.session.client(), &self.prefix, created.revision).await? {
            Some(owner) => Ok((created, owner)),
            // The own key is already gone: its lease expired since the create.
            None => {
                self.revision = -1;
                Err(RecipeError::SessionExpired { lease: self.session.lease() })
            }
        }
    }
}

/// Whether the oldest key under `prefix` is the one created at `revision`; `None` when the
/// prefix is empty, which means the own key, created just before, is gone. (etcd reads the
/// owner in the txn that creates the key, so it never sees an empty prefix; this read comes
/// after, and an expired session must not take "nobody is in line" for "I am first".) Not a
/// count with a revision filter: etcd's `count` ignores the min/max revision filters.
async fn is_oldest<C: Client>(
    client: &C,
    prefix: &[u8],
    revision: i64,
) -> RecipeResult<Option<bool>> {
    let mut request = ops::get_prefix_by_create(prefix);
    request.limit = 1;
    request.keys_only = true;
    let response = super::retry::idempotent(|| client.range(request.clone())).await?;
    Ok(response.kvs.first().map(|oldest| oldest.create_revision == revision))
}

/// `prefix` as a directory: non-empty, with a trailing `/`.
pub(crate) fn directory(prefix: &[u8], what: &'static str) -> RecipeResult<Vec<u8>> {
    if prefix.is_empty() || prefix == b"/" {
        return Err(RecipeError::InvalidArgument { what, why: "must not be empty" });
    }
    let mut directory = prefix.to_vec();
    if !directory.ends_with(b"/") {
        directory.push(b'/');
    }
    Ok(directory)
}

/// etcd's `NewLocker`: a mutex shared by the tasks of one process, each call taking its turn.
#[derive(Clone)]
pub struct Locker<C: Client> {
    mutex: Arc<tokio::sync::Mutex<Mutex<C>>>,
}

impl<C: Client> Locker<C> {
    pub fn new(session: &Session<C>, prefix: impl AsRef<[u8]>) -> RecipeResult<Self> {
        let mutex = Mutex::new(session, prefix)?;
        Ok(Locker { mutex: Arc::new(tokio::sync::Mutex::new(mutex)) })
    }

    pub async fn lock(&self) -> RecipeResult<()> {
        self.mutex.lock().await.lock().await
    }

    pub async fn unlock(&self) -> RecipeResult<()> {
        self.mutex.lock().await.unlock().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_becomes_a_directory_and_an_empty_one_is_refused() {
        assert_eq!(directory(b"mutex", "p").unwrap(), b"mutex/".to_vec());
        assert_eq!(directory(b"mutex/", "p").unwrap(), b"mutex/".to_vec());
        assert!(directory(b"", "p").is_err());
        assert!(directory(b"/", "p").is_err());
        assert_eq!(own_key::key_for(b"mutex/", 0x3a7e767e1dfcbd0e), b"mutex/3a7e767e1dfcbd0e");
    }
}
