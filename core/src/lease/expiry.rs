//! The leader's expiry tracker: when each lease runs out, on the leader's own clock.
//!
//! Only the leader (the *primary*) counts down. It learns of leases from the replicated
//! [`Lessor`] and measures time with the `now` its caller read from the node's `Clock`; it never
//! changes replicated state itself: [`ExpiryTracker::expired`] names the leases the leader must
//! turn into revoke commands through the log.
//!
//! Invariants:
//! - a tracker that is not primary tracks nothing and answers nothing (checked at `sync`);
//! - [`ExpiryTracker::promote`] gives every lease its full TTL from `now`, so a lease never expires
//!   early because leadership moved (it may live up to one TTL longer instead, like etcd);
//! - an expired lease cannot be renewed; it is reported by `expired` again every
//!   [`REVOKE_RETRY`] until its revoke is applied, in case a revoke command was lost.
//!
//! How a node drives it (all times from the node's `Clock`):
//! - on becoming leader: `promote(machine.lessor(), now)`; on losing leadership: `demote()`;
//! - after applying log entries: `sync(machine.lessor(), now)` (new leases start counting,
//!   revoked ones are dropped);
//! - on a keep-alive request: `renew(machine.lessor(), id, now)` -> the TTL to answer with;
//! - on every tick: for each id in `expired(now)`, propose `Command::LeaseRevoke { id }`;
//! - for `LeaseTimeToLive`: `StateMachine::lease_time_to_live(request, &tracker, now)`.

use super::lessor::Lessor;
use crate::error::{Error, Result};
use crate::kv::LeaseId;
use crate::plant::{self, Bug};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long the leader waits before proposing the revoke of an expired lease again.
pub const REVOKE_RETRY: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Countdown {
    /// When the lease runs out.
    deadline: Duration,
    /// Already reported as expired: cannot be renewed any more.
    expired: bool,
}

/// Leader-local lease deadlines.
#[derive(Debug, Clone, Default)]
pub struct ExpiryTracker {
    primary: bool,
    countdowns: BTreeMap<LeaseId, Countdown>,
}

impl ExpiryTracker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_primary(&self) -> bool {
        self.primary
    }

    /// Becomes primary: every lease gets its full TTL from `now`.
    pub fn promote(&mut self, lessor: &Lessor, now: Duration) {
        self.primary = true;
        self.countdowns.clear();
        self.sync(lessor, now);
        if plant::active(Bug::NoLeaseRefresh) {
            self.countdowns.values_mut().for_each(|c| c.deadline = now);
        }
    }

    /// Stops counting (leadership lost).
    pub fn demote(&mut self) {
        self.primary = false;
        self.countdowns.clear();
    }

    /// Follows the lessor after commands were applied: new leases start their full TTL at `now`,
    /// revoked ones are forgotten.
    pub fn sync(&mut self, lessor: &Lessor, now: Duration) {
        if !self.primary {
            crate::invariant!(
                self.countdowns.is_empty(),
                "a tracker that is not primary counts {} leases down",
                self.countdowns.len()
            );
            return;
        }
        self.countdowns.retain(|id, _| lessor.lookup(*id).is_some());
        for lease in lessor.leases() {
            self.countdowns.entry(lease.id).or_insert_with(|| countdown(now, lease.ttl));
        }
    }

    /// A keep-alive: restarts the lease's full TTL and returns it.
    pub fn renew(&mut self, lessor: &Lessor, id: LeaseId, now: Duration) -> Result<i64> {
        if !self.primary {
            return Err(Error::NotPrimary);
        }
        let Some(lease) = lessor.lookup(id) else {
            self.countdowns.remove(&id);
            return Err(Error::LeaseNotFound);
        };
        let entry = self.countdowns.entry(id).or_insert_with(|| countdown(now, lease.ttl));
        if entry.expired || entry.deadline <= now {
            return Err(Error::LeaseNotFound);
        }
        *entry = countdown(now, lease.ttl);
        Ok(lease.ttl)
    }

    /// Leases whose time is up at `now`, by deadline then id. Each is reported again after
    /// [`REVOKE_RETRY`] until it is gone from the lessor.
    pub fn expired(&mut self, now: Duration) -> Vec<LeaseId> {
        if !self.primary {
            return Vec::new();
        }
        let mut due: Vec<(Duration, LeaseId)> = self
            .countdowns
            .iter()
            .filter(|(_, c)| c.deadline <= now)
            .map(|(id, c)| (c.deadline, *id))
            .collect();
        due.sort();
        for (_, id) in &due {
            if let Some(c) = self.countdowns.get_mut(id) {
                c.expired = true;
                c.deadline = now.saturating_add(REVOKE_RETRY);
            }
        }
        due.into_iter().map(|(_, id)| id).collect()
    }

    /// Whole seconds left before the lease expires (0 once expired); `None` when not primary or
    /// the lease is not tracked.
    pub fn remaining(&self, id: LeaseId, now: Duration) -> Option<i64> {
        if !self.primary {
            return None;
        }
        let c = self.countdowns.get(&id)?;
        if c.expired {
            return Some(0);
        }
        Some(c.deadline.saturating_sub(now).as_secs() as i64)
    }
}

fn countdown(now: Duration, ttl: i64) -> Countdown {
    let ttl_duration = Duration::from_secs(ttl.max(0) as u64);
    Countdown { deadline: now.saturating_add(ttl_duration), expired: false }
}
