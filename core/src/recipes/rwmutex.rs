//! RWMutex: readers share, writers exclude, strictly FIFO by create revision.
//!
//! A reader's key is `prefix/read/<lease hex>`, a writer's `prefix/write/<lease hex>`, both under the
//! session's lease. A reader waits until every *writer* key created before its own is gone; a
//! writer waits until *every* key created before its own is gone. So with R1 holding, W2 waits
//! for R1, R3 waits behind W2 (not beside R1), and W4 waits behind R3: nobody overtakes, and a
//! stream of readers cannot starve a writer.
//!
//! Unknown outcomes and cancellation are handled as in `Mutex` (idempotent own-key create,
//! guarded delete, a pending-key guard while waiting, the lease as the last resort).

use super::error::{RecipeError, RecipeResult};
use super::mutex::directory;
use super::own_key::{self, PendingKey};
use super::session::Session;
use super::wait;
use crate::client::Client;

pub struct RwMutex<C: Client> {
    session: Session<C>,
    prefix: Vec<u8>,
    /// The key held (or waited on) and its create revision.
    held: Option<(Vec<u8>, i64)>,
}

impl<C: Client> RwMutex<C> {
    pub fn new(session: &Session<C>, prefix: impl AsRef<[u8]>) -> RecipeResult<Self> {
        let prefix = directory(prefix.as_ref(), "rwmutex prefix")?;
        Ok(RwMutex { session: session.clone(), prefix, held: None })
    }

    /// Waits for a shared hold: behind every earlier writer.
    pub async fn read_lock(&mut self) -> RecipeResult<i64> {
        let mut writers = self.prefix.clone();
        writers.extend_from_slice(b"write/");
        self.lock_behind("read/", writers).await
    }

    /// Waits for an exclusive hold: behind every earlier reader and writer.
    pub async fn write_lock(&mut self) -> RecipeResult<i64> {
        self.lock_behind("write/", self.prefix.clone()).await
    }

    /// Releases whichever hold this is.
    pub async fn unlock(&mut self) -> RecipeResult<()> {
        let Some((key, revision)) = self.held.take() else {
            return Err(RecipeError::NotHeld("rwmutex: unlock of unlocked rwmutex"));
        };
        own_key::release(self.session.client(), &key, revision).await?;
        Ok(())
    }

    /// Creates the own key under `kind` and waits until no key under `blockers` is older. Returns
    /// the own key's create revision (its place in the queue).
    async fn lock_behind(&mut self, kind: &str, blockers: Vec<u8>) -> RecipeResult<i64> {
        if self.held.is_some() {
            return Err(RecipeError::InvalidArgument { what: "rwmutex", why: "already locked" });
        }
        let mut kind_prefix = self.prefix.clone();
        kind_prefix.extend_from_slice(kind.as_bytes());
        let key = own_key::key_for(&kind_prefix, self.session.lease());
        let created = own_key::create(&self.session, &key, b"").await?;
        let client = self.session.client().clone();
        let pending = PendingKey::new(&self.session, key.clone(), created.revision);
        wait::all_deleted_before(&client, &blockers, created.revision - 1).await?;
        if !own_key::still_held(&client, &key, created.revision).await? {
            pending.disarm();
            return Err(RecipeError::SessionExpired { lease: self.session.lease() });
        }
        pending.disarm();
        self.held = Some((key, created.revision));
        Ok(created.revision)
    }
}
