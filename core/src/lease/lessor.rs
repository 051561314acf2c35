//! The replicated lessor: which leases exist, their TTLs and the keys attached to them.
//!
//! Invariants:
//! - every lease id is > 0 and names one lease (checked at grant, `invariant!`);
//! - a key is attached to the lease named in its current version, and to no other: the store's
//!   events drive attach/detach ([`Lessor::apply_events`]), so a put with a lease attaches, a put
//!   without one (or with another) detaches from the old lease, and a delete detaches;
//! - a server-chosen id is a pure function of replicated state (a counter advanced on each choice
//!   and mixed into an etcd-looking 63-bit id), so every replica chooses the same one;
//! - granted TTLs are at least `min_ttl` (a smaller request is raised) and at most
//!   [`MAX_LEASE_TTL`].

use crate::api::LeaseGrantRequest;
use crate::error::{Error, Result};
use crate::kv::{Event, EventType, LeaseId};
use crate::mvcc::LeaseLookup;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// etcd's `MaxLeaseTTL` (about 285 years).
pub const MAX_LEASE_TTL: i64 = 9_000_000_000;

/// Default minimum TTL in seconds; deployments set it to a few election timeouts.
pub const DEFAULT_MIN_TTL: i64 = 2;

/// One granted lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub id: LeaseId,
    /// Granted TTL in seconds (after raising to the minimum).
    pub ttl: i64,
    /// Keys attached to this lease, in key order.
    pub keys: BTreeSet<Vec<u8>>,
}

/// The replicated set of leases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lessor {
    leases: BTreeMap<LeaseId, Lease>,
    min_ttl: i64,
    /// How many ids the server has chosen so far; the next choice derives from it.
    chosen: u64,
}

impl Default for Lessor {
    fn default() -> Self {
        Self::new(DEFAULT_MIN_TTL)
    }
}

impl Lessor {
    pub fn new(min_ttl: i64) -> Self {
        Lessor { leases: BTreeMap::new(), min_ttl: min_ttl.max(1), chosen: 0 }
    }

    pub fn min_ttl(&self) -> i64 {
        self.min_ttl
    }

    pub fn lookup(&self, id: LeaseId) -> Option<&Lease> {
        self.leases.get(&id)
    }

    /// Every lease id, ascending.
    pub fn ids(&self) -> Vec<LeaseId> {
        self.leases.keys().copied().collect()
    }

    pub fn leases(&self) -> impl Iterator<Item = &Lease> {
        self.leases.values()
    }

    /// Grants a lease; returns its id and granted TTL.
    pub fn grant(&mut self, request: &LeaseGrantRequest) -> Result<(LeaseId, i64)> {
        if request.ttl > MAX_LEASE_TTL {
            return Err(Error::LeaseTtlTooLarge);
        }
        if request.id < 0 {
            return Err(Error::Other("lease id must be positive".into()));
        }
        if self.leases.contains_key(&request.id) {
            return Err(Error::LeaseExists);
        }
        let id = if request.id == 0 { self.choose_id() } else { request.id };
        let ttl = request.ttl.max(self.min_ttl);
        crate::invariant!(
            id > 0 && !self.leases.contains_key(&id),
            "granting lease {id}: ids are positive and never reused while a lease holds them"
        );
        self.leases.insert(id, Lease { id, ttl, keys: BTreeSet::new() });
        Ok((id, ttl))
    }

    /// Removes a lease; returns the keys attached to it (the caller deletes them).
    pub fn revoke(&mut self, id: LeaseId) -> Result<Vec<Vec<u8>>> {
        let lease = self.leases.remove(&id).ok_or(Error::LeaseNotFound)?;
        Ok(lease.keys.into_iter().collect())
    }

    /// Follows the store's changes: detach each changed key from the lease of its previous
    /// version, attach each put key to its new lease.
    pub fn apply_events(&mut self, events: &[Event]) {
        for event in events {
            if let Some(prev) = event.prev_kv.as_ref().filter(|p| p.lease != 0) {
                if let Some(lease) = self.leases.get_mut(&prev.lease) {
                    lease.keys.remove(&prev.key);
                }
            }
            if event.kind == EventType::Put && event.kv.lease != 0 {
                if let Some(lease) = self.leases.get_mut(&event.kv.lease) {
                    lease.keys.insert(event.kv.key.clone());
                }
            }
        }
    }

    /// A fresh id: splitmix64 over a replicated counter, cut to 63 bits, skipping 0 and ids in
    /// use. Deterministic, and it looks like etcd's ids.
    fn choose_id(&mut self) -> LeaseId {
        loop {
            self.chosen = self.chosen.wrapping_add(1);
            let id = (splitmix64(self.chosen) >> 1) as i64;
            if id > 0 && !self.leases.contains_key(&id) {
                return id;
            }
        }
    }
}

impl LeaseLookup for Lessor {
    fn lease_exists(&self, lease: LeaseId) -> bool {
        self.leases.contains_key(&lease)
    }
}

fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
