//! Resuming an election campaign from its leader key (etcd's `ResumeElection`): a leader that
//! won in one call proclaims or resigns in a later one, possibly on another connection, by
//! naming the key and create revision it won with.
//!
//! Invariant: resuming trusts nothing: proclaim and resign still carry
//! `CreateRevision(key) == rev`, so a stale or forged leader key gets `election: not leader`
//! (proclaim) or changes nothing (resign).

use super::Election;
use crate::client::Client;
use crate::kv::ResponseHeader;
use crate::recipes::error::RecipeResult;
use crate::recipes::mutex::directory;
use crate::recipes::session::Session;

impl<C: Client> Election<C> {
    /// The election on `prefix` as led by `key`, created at revision `revision`.
    pub fn resume(
        session: &Session<C>,
        prefix: impl AsRef<[u8]>,
        key: Vec<u8>,
        revision: i64,
    ) -> RecipeResult<Self> {
        let prefix = directory(prefix.as_ref(), "election prefix")?;
        Ok(Election {
            session: session.clone(),
            prefix,
            leading: Some((key, revision)),
            header: ResponseHeader::default(),
        })
    }
}
