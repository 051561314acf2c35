//! [`StateMachine`]: the MVCC store, the lessor, the auth store and the last applied log index,
//! changed only by [`StateMachine::apply`], and the raised alarms (while NOSPACE is raised,
//! `apply` refuses what would add data: see [`super::alarm`]).
//!
//! Invariants:
//! - `apply` is deterministic: the same state and command give the same response, events and
//!   next state on every replica;
//! - `applied_index` only grows: each log index is applied once, in order;
//! - a refused command changes nothing but `applied_index` (the log entry was consumed);
//! - the store's revision rises by exactly one per command that changed the key space (all its
//!   events carry the new revision; a txn is one change, however many keys it writes) and stays
//!   put otherwise (the rule [`crate::mvcc`] states, kept across every kind of command);
//! - every change to the key space is reflected in the lessor's attachments before `apply`
//!   returns (the events drive it);
//! - a command that carries its caller (`Command::As`) runs only if the auth store, as it is at
//!   that point of the log, allows that caller to run it; refused, it changes nothing;
//! - response headers carry the store revision after the command; the node layer fills cluster,
//!   member and term.
//!
//! `apply` checks the second, third and fourth with `invariant!` (debug and simulator builds).

use super::alarm::{AlarmResponse, AlarmType, Alarms};
use super::command::{Command, Response};
use super::downgrade::{DowngradeInfo, DowngradeInfoSetResponse};
use crate::api::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseLeasesResponse, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, RangeRequest, RangeResponse,
};
use crate::auth::{AuthInfo, AuthStore};
use crate::error::{Error, Result};
use crate::kv::{Event, KeyRange, LeaseId, ResponseHeader};
use crate::lease::{ExpiryTracker, Lessor, DEFAULT_MIN_TTL};
use crate::mvcc::Store;
use crate::plant::{self, Bug};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The replicated state of one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateMachine {
    pub(super) store: Store,
    pub(super) lessor: Lessor,
    pub(super) applied_index: u64,
    pub(super) alarms: Alarms,
    pub(super) auth: AuthStore,
    pub(super) downgrade: DowngradeInfo,
}

impl Default for StateMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl StateMachine {
    pub fn new() -> Self {
        Self::with_min_ttl(DEFAULT_MIN_TTL)
    }

    /// A fresh state machine whose leases last at least `min_ttl` seconds.
    pub fn with_min_ttl(min_ttl: i64) -> Self {
        StateMachine {
            store: Store::new(),
            lessor: Lessor::new(min_ttl),
            applied_index: 0,
            alarms: Alarms::default(),
            auth: AuthStore::default(),
            downgrade: DowngradeInfo::default(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn lessor(&self) -> &Lessor {
        &self.lessor
    }

    /// The raised alarms.
    pub fn alarms(&self) -> &Alarms {
        &self.alarms
    }

    pub fn auth(&self) -> &AuthStore {
        &self.auth
    }

    /// The cluster's downgrade state.
    pub fn downgrade(&self) -> &DowngradeInfo {
        &self.downgrade
    }

    /// The index of the last log entry applied.
    pub fn applied_index(&self) -> u64 {
        self.applied_index
    }

    /// The same state as the start of another log, whose entries after `index` come next: an
    /// archive restored into a new cluster keeps its key space and leases, not the old cluster's
    /// log position.
    pub fn rebased(mut self, index: u64) -> Self {
        self.applied_index = index;
        self
    }

    /// The store's current revision.
    pub fn revision(&self) -> i64 {
        self.store.revision()
    }

    fn header(&self) -> ResponseHeader {
        ResponseHeader { revision: self.store.revision(), ..ResponseHeader::default() }
    }

    /// Applies the log entry at `index`: the response (or why the command was refused) and the
    /// events it made, in order, with `prev_kv` filled (a watch hub strips it for watchers that
    /// did not ask). The caller applies each log index once, in order; `applied_index` follows
    /// it even when the command is refused.
    pub fn apply(&mut self, index: u64, command: &Command) -> (Result<Response>, Vec<Event>) {
        crate::invariant!(
            index > self.applied_index || index == 0 && self.applied_index == 0,
            "applied index went backwards: log index {index} applied after {}",
            self.applied_index
        );
        self.applied_index = index;
        if let Err(error) = command.validate().and_then(|()| command.check_size()) {
            return (Err(error), Vec::new());
        }
        let before = self.store.revision();
        match self.execute(command) {
            Ok((response, events)) => {
                crate::invariant!(
                    revision_stepped(before, self.store.revision(), &events),
                    "log index {index} moved the revision from {before} to {} with {} events",
                    self.store.revision(),
                    events.len()
                );
                self.lessor.apply_events(&events);
                (Ok(response), events)
            }
            Err(error) => {
                crate::invariant!(
                    self.store.revision() == before,
                    "refused log index {index} moved the revision from {before} to {}",
                    self.store.revision()
                );
                (Err(error), Vec::new())
            }
        }
    }

    fn execute(&mut self, command: &Command) -> Result<(Response, Vec<Event>)> {
        if let Command::As(info, inner) = command {
            check_caller(&self.auth, info, inner, &self.lessor)?;
            if let Command::Auth(auth) = &**inner {
                let answer = self.auth.apply(auth, Some(info))?;
                return Ok((Response::Auth(self.header(), answer), Vec::new()));
            }
            return self.execute(inner);
        }
        if self.alarms.is_raised(AlarmType::NoSpace) && adds_data(command) {
            return Err(Error::NoSpace);
        }
        let (store, lessor) = (&mut self.store, &mut self.lessor);
        Ok(match command {
            Command::Noop => (Response::Noop(self.header()), Vec::new()),
            Command::Range(r) => (Response::Range(store.range(r)?), Vec::new()),
            Command::Put(r) => store.put(r, lessor).map(|(r, e)| (Response::Put(r), e))?,
            Command::DeleteRange(r) => {
                store.delete_range(r).map(|(r, e)| (Response::DeleteRange(r), e))?
            }
            Command::Txn(r) => store.txn(r, lessor).map(|(r, e)| (Response::Txn(r), e))?,
            Command::Compact(r) => (Response::Compact(store.compact(r.revision)?), Vec::new()),
            Command::LeaseGrant(r) => (Response::LeaseGrant(self.grant(r)?), Vec::new()),
            Command::LeaseRevoke(r) => {
                let mut keys = lessor.revoke(r.id)?;
                keys.truncate(if plant::active(Bug::PartialRevoke) { 1 } else { keys.len() });
                let events = store.delete_keys(&keys);
                (Response::LeaseRevoke(LeaseRevokeResponse { header: self.header() }), events)
            }
            Command::Alarm(r) => {
                let alarms = self.alarms.apply(r);
                (Response::Alarm(AlarmResponse { header: self.header(), alarms }), Vec::new())
            }
            Command::Auth(auth) => {
                let answer = self.auth.apply(auth, None)?;
                (Response::Auth(self.header(), answer), Vec::new())
            }
            Command::DowngradeInfoSet(set) => {
                self.downgrade.apply(set);
                let answer = DowngradeInfoSetResponse { header: self.header() };
                (Response::DowngradeInfoSet(answer), Vec::new())
            }
            // Handled above.
            Command::As(..) => unreachable_as()?,
        })
    }

    fn grant(&mut self, request: &LeaseGrantRequest) -> Result<LeaseGrantResponse> {
        let (id, ttl) = self.lessor.grant(request)?;
        Ok(LeaseGrantResponse { header: self.header(), id, ttl })
    }

    /// A range read served from this member's state (linearizable once the caller waited for a
    /// read index, possibly stale when `serializable`).
    pub fn range(&self, request: &RangeRequest) -> Result<RangeResponse> {
        self.store.range(request)
    }

    /// Every event of `range` in `from..=to`; see [`Store::events`].
    pub fn events(&self, range: &KeyRange, from: i64, to: i64) -> Result<Vec<Event>> {
        self.store.events(range, from, to)
    }

    /// See [`Store::hash_kv`].
    pub fn hash_kv(&self, revision: i64) -> Result<(u32, i64)> {
        self.store.hash_kv(revision)
    }

    /// etcd's `LeaseTimeToLive`. The remaining TTL comes from the leader's `expiry` tracker at
    /// `now`; a member that is not counting answers the granted TTL. An unknown lease answers
    /// `ttl = -1`, as etcd does.
    pub fn lease_time_to_live(
        &self,
        request: &LeaseTimeToLiveRequest,
        expiry: &ExpiryTracker,
        now: Duration,
    ) -> LeaseTimeToLiveResponse {
        let header = self.header();
        let Some(lease) = self.lessor.lookup(request.id) else {
            return LeaseTimeToLiveResponse {
                header,
                id: request.id,
                ttl: -1,
                ..Default::default()
            };
        };
        let ttl = expiry.remaining(lease.id, now).unwrap_or(lease.ttl);
        let keys = if request.keys { lease.keys.iter().cloned().collect() } else { Vec::new() };
        LeaseTimeToLiveResponse { header, id: lease.id, ttl, granted_ttl: lease.ttl, keys }
    }

    /// etcd's `LeaseLeases`: every lease id, ascending.
    pub fn lease_leases(&self) -> LeaseLeasesResponse {
        LeaseLeasesResponse { header: self.header(), leases: self.lessor.ids() }
    }

    /// Whether `lease` exists.
    pub fn lease_exists(&self, lease: LeaseId) -> bool {
        self.lessor.lookup(lease).is_some()
    }
}

/// Whether `command` would add to the backend (a put, a txn with a put on either branch, a lease
/// grant): what etcd's capped applier refuses while NOSPACE is raised.
fn adds_data(command: &Command) -> bool {
    match command {
        Command::Put(_) | Command::LeaseGrant(_) => true,
        Command::Txn(txn) => crate::mvcc::size::txn_cost(txn) > 0,
        Command::As(_, inner) => adds_data(inner),
        Command::Noop
        | Command::Range(_)
        | Command::DeleteRange(_)
        | Command::Compact(_)
        | Command::LeaseRevoke(_)
        | Command::Alarm(_)
        | Command::Auth(_)
        | Command::DowngradeInfoSet(_) => false,
    }
}

/// Whether the caller `info` may run `command` now (`crate::auth::guard`); the error is etcd's.
fn check_caller(
    auth: &AuthStore,
    info: &AuthInfo,
    command: &Command,
    lessor: &Lessor,
) -> Result<()> {
    match command {
        Command::Range(r) => auth.check_range(info, r),
        Command::Put(r) => auth.check_put(info, r, lessor),
        Command::DeleteRange(r) => auth.check_delete(info, r),
        Command::Txn(r) => auth.check_txn(info, r, lessor),
        Command::LeaseRevoke(r) => auth.check_lease_keys(info, r.id, lessor),
        // etcd 3.4 checks none of these.
        Command::Noop | Command::Compact(_) | Command::LeaseGrant(_) | Command::Alarm(_) => Ok(()),
        // Checked by the auth store itself (`AuthStore::apply`).
        Command::Auth(_) => Ok(()),
        // Proposed by the member for a caller it checked (root only, as etcd).
        Command::DowngradeInfoSet(_) => Ok(()),
        Command::As(..) => unreachable_as().map(|_| ()),
    }
}

/// `execute` unwraps `Command::As` before it reaches the key-space match.
fn unreachable_as() -> Result<(Response, Vec<Event>)> {
    Err(Error::Internal("a caller inside a caller".into()))
}

/// etcd's revision rule for one applied command: a command that changed something (made events)
/// moves the revision from `before` to exactly `before + 1` and every event carries it; one that
/// changed nothing leaves it alone. The planted `revision-skip` breaks it on purpose, for the
/// checkers to find.
fn revision_stepped(before: i64, after: i64, events: &[Event]) -> bool {
    if plant::active(Bug::RevisionSkip) {
        return true;
    }
    if events.is_empty() {
        return after == before;
    }
    after == before + 1 && events.iter().all(|event| event.revision() == after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PutRequest;
    use crate::kv::{EventType, KeyValue};

    fn put_event(revision: i64) -> Event {
        let kv = KeyValue { key: b"k".to_vec(), mod_revision: revision, ..KeyValue::default() };
        Event { kind: EventType::Put, kv, prev_kv: None }
    }

    #[test]
    fn the_revision_rule_accepts_one_step_per_change_and_nothing_else() {
        assert!(revision_stepped(4, 4, &[]), "no change, no new revision");
        assert!(revision_stepped(4, 5, &[put_event(5), put_event(5)]), "a txn is one step");
        assert!(!revision_stepped(4, 5, &[]), "a revision without a change");
        assert!(!revision_stepped(4, 6, &[put_event(6)]), "a revision skipped");
        assert!(!revision_stepped(4, 5, &[put_event(5), put_event(6)]), "a txn split in two");
    }

    /// A deliberately broken caller: the log handed the state machine an older index after a
    /// newer one. The check is on where `invariant!` is (debug and simulator builds).
    #[cfg(any(debug_assertions, madsim))]
    #[test]
    #[should_panic(expected = "invariant violated: applied index went backwards: log index 4")]
    fn applying_an_older_log_index_breaks_the_applied_index_invariant() {
        let mut machine = StateMachine::new();
        let put = PutRequest { key: b"k".to_vec(), value: b"v".to_vec(), ..Default::default() };
        assert!(machine.apply(5, &Command::Put(put)).0.is_ok());
        let _ = machine.apply(4, &Command::Noop);
    }
}
