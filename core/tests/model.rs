//! Model-based property tests: random command sequences against a deliberately naive reference.
//!
//! The model keeps every change ever made in one flat log and answers every question by scanning
//! it: the state at revision r is "the last change of each key at or before r", lease attachments
//! are "the current keys naming this lease", compaction only moves a number. Nothing is indexed,
//! nothing is dropped. After every command the real [`StateMachine`] must give the same response
//! (or the same error) and the same events; every few commands every revision still readable is
//! read in full and in random ranges, and the event stream and `hash_kv` are compared too. A
//! refused command must leave the state machine exactly as it was.
//!
//! Stateless request validation (empty keys, op counts, etcd's duplicate-key intervals) is shared
//! with the store through `mvcc::check`; the goldenscripts pin that behaviour down separately.

// The model is slow and obvious on purpose: full scans read best as plain filter-then-last.
#![allow(clippy::double_ended_iterator_last, clippy::unnecessary_sort_by)]

use detcd_core::api::*;
use detcd_core::apply::{Command, Response, StateMachine};
use detcd_core::error::{Error, Result};
use detcd_core::kv::{Event, EventType, KeyRange, KeyValue, LeaseId, ResponseHeader};
use detcd_core::lease::{DEFAULT_MIN_TTL, MAX_LEASE_TTL};
use detcd_core::mvcc::check::check_txn;
use detcd_core::mvcc::compare_kv;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// One change in the model's log.
#[derive(Debug, Clone)]
struct Change {
    revision: i64,
    /// Position among the changes of its revision.
    sub: u32,
    key: Vec<u8>,
    /// `None` for a delete.
    kv: Option<KeyValue>,
}

#[derive(Debug, Clone)]
struct Model {
    log: Vec<Change>,
    revision: i64,
    compacted: i64,
    /// Lease id -> granted TTL.
    leases: BTreeMap<LeaseId, i64>,
}

impl Model {
    fn new() -> Self {
        Model { log: Vec::new(), revision: 1, compacted: 0, leases: BTreeMap::new() }
    }

    fn sub(&self, revision: i64) -> u32 {
        self.log.iter().filter(|c| c.revision == revision).count() as u32
    }

    fn header(&self) -> ResponseHeader {
        ResponseHeader { revision: self.revision, ..Default::default() }
    }

    /// The pair under `key` at `revision`, by scanning the whole log.
    fn get_at(&self, key: &[u8], revision: i64) -> Option<KeyValue> {
        let last = self.log.iter().filter(|c| c.key == key && c.revision <= revision).last()?;
        last.kv.clone()
    }

    /// Every live pair at `revision`, in key order.
    fn all_at(&self, revision: i64) -> Vec<KeyValue> {
        let mut keys: Vec<Vec<u8>> = self.log.iter().map(|c| c.key.clone()).collect();
        keys.sort();
        keys.dedup();
        keys.iter().filter_map(|k| self.get_at(k, revision)).collect()
    }

    fn in_range(&self, range: &KeyRange, revision: i64) -> Vec<KeyValue> {
        self.all_at(revision).into_iter().filter(|kv| range.contains(&kv.key)).collect()
    }

    fn check_revision(&self, revision: i64) -> Result<i64> {
        if revision <= 0 {
            Ok(self.revision)
        } else if revision > self.revision {
            Err(Error::FutureRevision)
        } else if revision < self.compacted {
            Err(Error::Compacted { compact_revision: self.compacted })
        } else {
            Ok(revision)
        }
    }

    fn range(&self, r: &RangeRequest) -> Result<RangeResponse> {
        if r.key.is_empty() {
            return Err(Error::EmptyKey);
        }
        let revision = self.check_revision(r.revision)?;
        Ok(self.range_at(r, revision))
    }

    fn range_at(&self, r: &RangeRequest, revision: i64) -> RangeResponse {
        let all = self.in_range(&r.key_range(), revision);
        let count = all.len() as i64;
        if r.count_only {
            return RangeResponse { header: self.header(), kvs: vec![], more: false, count };
        }
        let mut kvs: Vec<KeyValue> = all
            .into_iter()
            .filter(|kv| r.max_mod_revision == 0 || kv.mod_revision <= r.max_mod_revision)
            .filter(|kv| r.min_mod_revision == 0 || kv.mod_revision >= r.min_mod_revision)
            .filter(|kv| r.max_create_revision == 0 || kv.create_revision <= r.max_create_revision)
            .filter(|kv| r.min_create_revision == 0 || kv.create_revision >= r.min_create_revision)
            .collect();
        let key_of = |kv: &KeyValue| -> (Vec<u8>, i64) {
            match r.sort_target {
                SortTarget::Key => (kv.key.clone(), 0),
                SortTarget::Version => (vec![], kv.version),
                SortTarget::Create => (vec![], kv.create_revision),
                SortTarget::Mod => (vec![], kv.mod_revision),
                SortTarget::Value => (kv.value.clone(), 0),
            }
        };
        let order = match (r.sort_order, r.sort_target) {
            (SortOrder::None, SortTarget::Key) => SortOrder::None,
            (SortOrder::None, _) => SortOrder::Ascend,
            (o, _) => o,
        };
        match order {
            SortOrder::None => {}
            SortOrder::Ascend => kvs.sort_by_key(key_of),
            SortOrder::Descend => kvs.sort_by(|a, b| key_of(b).cmp(&key_of(a))),
        }
        let mut more = false;
        if r.limit > 0 && kvs.len() > r.limit as usize {
            kvs.truncate(r.limit as usize);
            more = true;
        }
        if r.keys_only {
            kvs.iter_mut().for_each(|kv| kv.value.clear());
        }
        RangeResponse { header: self.header(), kvs, more, count }
    }

    fn current_keys_with_lease(&self, lease: LeaseId) -> Vec<Vec<u8>> {
        self.all_at(self.revision)
            .into_iter()
            .filter(|kv| kv.lease == lease)
            .map(|kv| kv.key)
            .collect()
    }

    /// Records a put at `revision` (the write's revision) and returns the event.
    fn do_put(&mut self, revision: i64, key: &[u8], value: Vec<u8>, lease: LeaseId) -> Event {
        let prev = self.get_at(key, revision);
        let (create_revision, version) = match &prev {
            Some(p) => (p.create_revision, p.version + 1),
            None => (revision, 1),
        };
        let kv = KeyValue {
            key: key.to_vec(),
            create_revision,
            mod_revision: revision,
            version,
            value,
            lease,
        };
        let sub = self.sub(revision);
        self.log.push(Change { revision, sub, key: key.to_vec(), kv: Some(kv.clone()) });
        Event { kind: EventType::Put, kv, prev_kv: prev }
    }

    fn do_delete(&mut self, revision: i64, key: &[u8]) -> Option<Event> {
        let prev = self.get_at(key, revision)?;
        let sub = self.sub(revision);
        self.log.push(Change { revision, sub, key: key.to_vec(), kv: None });
        let kv = KeyValue { key: key.to_vec(), mod_revision: revision, ..Default::default() };
        Some(Event { kind: EventType::Delete, kv, prev_kv: Some(prev) })
    }

    fn check_put(&self, r: &PutRequest) -> Result<()> {
        if r.key.is_empty() {
            return Err(Error::EmptyKey);
        }
        if r.ignore_value && !r.value.is_empty() {
            return Err(Error::ValueProvided);
        }
        if r.ignore_lease && r.lease != 0 {
            return Err(Error::LeaseProvided);
        }
        self.check_put_state(r)
    }

    fn check_put_state(&self, r: &PutRequest) -> Result<()> {
        if (r.ignore_value || r.ignore_lease) && self.get_at(&r.key, self.revision).is_none() {
            return Err(Error::KeyNotFound);
        }
        if r.lease != 0 && !self.leases.contains_key(&r.lease) {
            return Err(Error::LeaseNotFound);
        }
        Ok(())
    }

    fn exec_put(&mut self, revision: i64, r: &PutRequest, events: &mut Vec<Event>) -> PutResponse {
        let current = self.get_at(&r.key, revision).unwrap_or_default();
        let value = if r.ignore_value { current.value } else { r.value.clone() };
        let lease = if r.ignore_lease { current.lease } else { r.lease };
        let event = self.do_put(revision, &r.key, value, lease);
        let prev_kv = if r.prev_kv { event.prev_kv.clone() } else { None };
        events.push(event);
        PutResponse { header: ResponseHeader::default(), prev_kv }
    }

    fn exec_delete(
        &mut self,
        revision: i64,
        r: &DeleteRangeRequest,
        events: &mut Vec<Event>,
    ) -> DeleteRangeResponse {
        let range = KeyRange { key: r.key.clone(), range_end: r.range_end.clone() };
        let mut prev_kvs = Vec::new();
        for kv in self.in_range(&range, revision) {
            if let Some(event) = self.do_delete(revision, &kv.key) {
                prev_kvs.push(kv);
                events.push(event);
            }
        }
        let deleted = prev_kvs.len() as i64;
        DeleteRangeResponse {
            header: ResponseHeader::default(),
            deleted,
            prev_kvs: if r.prev_kv { prev_kvs } else { vec![] },
        }
    }

    fn compare(&self, c: &Compare) -> bool {
        let range = KeyRange { key: c.key.clone(), range_end: c.range_end.clone() };
        let kvs = self.in_range(&range, self.revision);
        if kvs.is_empty() {
            return !matches!(c.target, CompareTarget::Value(_))
                && compare_kv(c, &KeyValue::default());
        }
        kvs.iter().all(|kv| compare_kv(c, kv))
    }

    /// Checks the path a txn takes against the pre-txn state (compares and put preconditions).
    fn check_txn_path(&self, t: &TxnRequest) -> Result<()> {
        let branch =
            if t.compare.iter().all(|c| self.compare(c)) { &t.success } else { &t.failure };
        for op in branch {
            match op {
                RequestOp::Range(r) => self.check_revision(r.revision).map(|_| ())?,
                RequestOp::Put(r) => self.check_put_state(r)?,
                RequestOp::DeleteRange(_) => {}
                RequestOp::Txn(t) => self.check_txn_path(t)?,
            }
        }
        Ok(())
    }

    /// Runs a txn on `self` (a scratch copy); compares were decided on `before`.
    fn exec_txn(
        &mut self,
        before: &Model,
        t: &TxnRequest,
        revision: i64,
        events: &mut Vec<Event>,
    ) -> TxnResponse {
        let succeeded = t.compare.iter().all(|c| before.compare(c));
        let branch = if succeeded { &t.success } else { &t.failure };
        let mut responses = Vec::new();
        for op in branch {
            responses.push(match op {
                RequestOp::Range(r) => {
                    let read = if r.revision > 0 {
                        r.revision
                    } else if events.is_empty() {
                        revision - 1
                    } else {
                        revision
                    };
                    ResponseOp::Range(self.range_at(r, read))
                }
                RequestOp::Put(r) => ResponseOp::Put(self.exec_put(revision, r, events)),
                RequestOp::DeleteRange(r) => {
                    ResponseOp::DeleteRange(self.exec_delete(revision, r, events))
                }
                RequestOp::Txn(inner) => {
                    ResponseOp::Txn(self.exec_txn(before, inner, revision, events))
                }
            });
        }
        TxnResponse { header: ResponseHeader::default(), succeeded, responses }
    }

    fn apply(
        &mut self,
        command: &Command,
        granted_id: Option<LeaseId>,
    ) -> (Result<Response>, Vec<Event>) {
        let mut events = Vec::new();
        let result = self.apply_inner(command, granted_id, &mut events);
        if result.is_err() {
            events.clear();
        }
        (result, events)
    }

    fn apply_inner(
        &mut self,
        command: &Command,
        granted_id: Option<LeaseId>,
        events: &mut Vec<Event>,
    ) -> Result<Response> {
        let next = self.revision + 1;
        match command {
            Command::Noop => Ok(Response::Noop(self.header())),
            // The generators never propose alarms; `core/tests/quota.rs` covers them.
            Command::Alarm(_) => panic!("the model has no alarms"),
            // Nor downgrades; `apply::snapshot`'s tests and `tests/downgrade.rs` cover them.
            Command::DowngradeInfoSet(_) => panic!("the model has no downgrades"),
            // The auth store has its own tests (tests/auth.rs); the generated logs hold none.
            Command::Auth(_) | Command::As(..) => Err(Error::Other("not modelled".into())),
            Command::Range(r) => self.range(r).map(Response::Range),
            Command::Put(r) => {
                self.check_put(r)?;
                let mut response = self.exec_put(next, r, events);
                self.revision = next;
                response.header = self.header();
                Ok(Response::Put(response))
            }
            Command::DeleteRange(r) => {
                if r.key.is_empty() {
                    return Err(Error::EmptyKey);
                }
                let mut response = self.exec_delete(next, r, events);
                if !events.is_empty() {
                    self.revision = next;
                }
                response.header = self.header();
                Ok(Response::DeleteRange(response))
            }
            Command::Txn(t) => {
                check_txn(t)?;
                self.check_txn_path(t)?;
                let before = self.clone();
                let mut response = self.exec_txn(&before, t, next, events);
                if !events.is_empty() {
                    self.revision = next;
                }
                stamp(&mut response, self.revision);
                Ok(Response::Txn(response))
            }
            Command::Compact(c) => {
                if c.revision <= self.compacted {
                    return Err(Error::Compacted { compact_revision: self.compacted });
                }
                if c.revision > self.revision {
                    return Err(Error::FutureRevision);
                }
                self.compacted = c.revision;
                Ok(Response::Compact(CompactionResponse { header: self.header() }))
            }
            Command::LeaseGrant(g) => {
                if g.ttl > MAX_LEASE_TTL {
                    return Err(Error::LeaseTtlTooLarge);
                }
                if g.id < 0 {
                    return Err(Error::Other("lease id must be positive".into()));
                }
                if self.leases.contains_key(&g.id) {
                    return Err(Error::LeaseExists);
                }
                let id = if g.id == 0 { granted_id.expect("server chose an id") } else { g.id };
                assert!(id > 0 && !self.leases.contains_key(&id), "chosen id {id} is fresh");
                let ttl = g.ttl.max(DEFAULT_MIN_TTL);
                self.leases.insert(id, ttl);
                Ok(Response::LeaseGrant(LeaseGrantResponse { header: self.header(), id, ttl }))
            }
            Command::LeaseRevoke(r) => {
                if self.leases.remove(&r.id).is_none() {
                    return Err(Error::LeaseNotFound);
                }
                for key in self.current_keys_with_lease(r.id) {
                    events.extend(self.do_delete(next, &key));
                }
                if !events.is_empty() {
                    self.revision = next;
                }
                Ok(Response::LeaseRevoke(LeaseRevokeResponse { header: self.header() }))
            }
        }
    }

    fn events(&self, range: &KeyRange, from: i64, to: i64) -> Result<Vec<Event>> {
        if from < self.compacted {
            return Err(Error::Compacted { compact_revision: self.compacted });
        }
        let to = to.min(self.revision);
        let mut out = Vec::new();
        for (i, change) in self.log.iter().enumerate() {
            if change.revision < from || change.revision > to || !range.contains(&change.key) {
                continue;
            }
            let prev = self.log[..i]
                .iter()
                .filter(|c| c.key == change.key)
                .last()
                .and_then(|c| c.kv.clone());
            out.push(match &change.kv {
                Some(kv) => Event { kind: EventType::Put, kv: kv.clone(), prev_kv: prev },
                None => Event {
                    kind: EventType::Delete,
                    kv: KeyValue {
                        key: change.key.clone(),
                        mod_revision: change.revision,
                        ..Default::default()
                    },
                    prev_kv: prev,
                },
            });
        }
        Ok(out)
    }
}

fn stamp(t: &mut TxnResponse, revision: i64) {
    t.header.revision = revision;
    for op in &mut t.responses {
        match op {
            ResponseOp::Range(r) => r.header.revision = revision,
            ResponseOp::Put(r) => r.header.revision = revision,
            ResponseOp::DeleteRange(r) => r.header.revision = revision,
            ResponseOp::Txn(t) => stamp(t, revision),
        }
    }
}

// ---- generators ----

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        20 => prop::sample::select(vec!["a", "b", "c", "d", "e", "aa", "ab"]).prop_map(|k| k.as_bytes().to_vec()),
        1 => Just(Vec::new()),
    ]
}

fn range_end(key: Vec<u8>) -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    prop_oneof![
        3 => Just((key.clone(), Vec::new())),
        1 => Just((key.clone(), detcd_core::kv::prefix_end(&key))),
        1 => Just((key.clone(), vec![0])),
        1 => prop::sample::select(vec!["b", "c", "e", "z"]).prop_map(move |e| (key.clone(), e.as_bytes().to_vec())),
    ]
}

fn key_range() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    key().prop_flat_map(range_end)
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec!["", "1", "2", "x", "yy"]).prop_map(|v| v.as_bytes().to_vec())
}

fn lease() -> impl Strategy<Value = LeaseId> {
    prop_oneof![3 => Just(0), 2 => 1i64..=4]
}

fn put() -> impl Strategy<Value = PutRequest> {
    (key(), value(), lease(), any::<bool>(), prop::bool::weighted(0.1), prop::bool::weighted(0.1))
        .prop_map(|(key, value, lease, prev_kv, ignore_value, ignore_lease)| {
            // Mostly well-formed: ignore flags usually come without the field they ignore.
            let value = if ignore_value && value.len() > 1 { Vec::new() } else { value };
            let lease = if ignore_lease && lease > 2 { 0 } else { lease };
            PutRequest { key, value, lease, prev_kv, ignore_value, ignore_lease }
        })
}

fn range_request() -> impl Strategy<Value = RangeRequest> {
    (
        key_range(),
        0i64..4,
        -1i64..12,
        prop::sample::select(vec![SortOrder::None, SortOrder::Ascend, SortOrder::Descend]),
        prop::sample::select(vec![
            SortTarget::Key,
            SortTarget::Version,
            SortTarget::Create,
            SortTarget::Mod,
            SortTarget::Value,
        ]),
        any::<bool>(),
        prop::bool::weighted(0.2),
        (0i64..8, 0i64..8, 0i64..8, 0i64..8),
    )
        .prop_map(
            |(
                (key, range_end),
                limit,
                revision,
                sort_order,
                sort_target,
                keys_only,
                count_only,
                f,
            )| RangeRequest {
                key,
                range_end,
                limit,
                revision,
                sort_order,
                sort_target,
                serializable: false,
                keys_only,
                count_only,
                min_mod_revision: if f.0 > 5 { f.0 } else { 0 },
                max_mod_revision: if f.1 > 4 { f.1 + 3 } else { 0 },
                min_create_revision: if f.2 > 5 { f.2 } else { 0 },
                max_create_revision: if f.3 > 4 { f.3 + 3 } else { 0 },
            },
        )
}

fn delete() -> impl Strategy<Value = DeleteRangeRequest> {
    (key_range(), any::<bool>()).prop_map(|((key, range_end), prev_kv)| DeleteRangeRequest {
        key,
        range_end,
        prev_kv,
    })
}

fn compare() -> impl Strategy<Value = Compare> {
    let target = prop_oneof![
        (0i64..4).prop_map(CompareTarget::Version),
        (0i64..12).prop_map(CompareTarget::Create),
        (0i64..12).prop_map(CompareTarget::Mod),
        value().prop_map(CompareTarget::Value),
        (0i64..5).prop_map(CompareTarget::Lease),
    ];
    let result = prop::sample::select(vec![
        CompareResult::Equal,
        CompareResult::NotEqual,
        CompareResult::Greater,
        CompareResult::Less,
    ]);
    (key_range(), target, result).prop_map(|((key, range_end), target, result)| Compare {
        key,
        range_end,
        target,
        result,
    })
}

fn flat_op() -> impl Strategy<Value = RequestOp> {
    prop_oneof![
        range_request().prop_map(RequestOp::Range),
        put().prop_map(RequestOp::Put),
        delete().prop_map(RequestOp::DeleteRange),
    ]
}

fn txn(depth: u32) -> BoxedStrategy<TxnRequest> {
    let op = if depth == 0 {
        flat_op().boxed()
    } else {
        prop_oneof![6 => flat_op(), 1 => txn(depth - 1).prop_map(RequestOp::Txn)].boxed()
    };
    (
        prop::collection::vec(compare(), 0..3),
        prop::collection::vec(op.clone(), 0..4),
        prop::collection::vec(op, 0..4),
    )
        .prop_map(|(compare, success, failure)| TxnRequest { compare, success, failure })
        .boxed()
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        8 => put().prop_map(Command::Put),
        3 => delete().prop_map(Command::DeleteRange),
        5 => txn(1).prop_map(Command::Txn),
        2 => range_request().prop_map(Command::Range),
        1 => (0i64..14).prop_map(|revision| Command::Compact(CompactionRequest { revision, physical: false })),
        2 => (-1i64..6, 0i64..=4).prop_map(|(ttl, id)| Command::LeaseGrant(LeaseGrantRequest { ttl, id })),
        1 => (0i64..=4).prop_map(|id| Command::LeaseRevoke(LeaseRevokeRequest { id })),
        1 => Just(Command::Noop),
    ]
}

// ---- the comparison ----

fn all_keys() -> KeyRange {
    KeyRange { key: vec![0], range_end: vec![0] }
}

/// Everything observable must agree: reads at every readable revision, events, hashes, leases.
fn compare_everything(machine: &StateMachine, model: &Model, probes: &[RangeRequest]) {
    assert_eq!(machine.revision(), model.revision);
    assert_eq!(machine.store().compact_revision(), model.compacted);
    for revision in model.compacted.max(1)..=model.revision {
        let all = RangeRequest { key: vec![0], range_end: vec![0], revision, ..Default::default() };
        assert_eq!(machine.range(&all), model.range(&all), "full read at {revision}");
        for probe in probes {
            let probe = RangeRequest { revision, ..probe.clone() };
            assert_eq!(machine.range(&probe), model.range(&probe), "{probe:?}");
        }
    }
    let from = model.compacted;
    assert_eq!(
        machine.events(&all_keys(), from, i64::MAX),
        model.events(&all_keys(), from, i64::MAX)
    );
    if from > 1 {
        assert_eq!(
            machine.events(&all_keys(), from - 1, i64::MAX),
            model.events(&all_keys(), from - 1, i64::MAX)
        );
    }
    for probe in probes {
        let range = probe.key_range();
        assert_eq!(
            machine.events(&range, from + 1, model.revision - 1),
            model.events(&range, from + 1, model.revision - 1)
        );
    }
    for (id, ttl) in &model.leases {
        let lease = machine.lessor().lookup(*id).expect("lease exists");
        assert_eq!(lease.ttl, *ttl);
        let keys: Vec<Vec<u8>> = lease.keys.iter().cloned().collect();
        assert_eq!(keys, model.current_keys_with_lease(*id), "keys of lease {id}");
    }
    assert_eq!(machine.lessor().ids(), model.leases.keys().copied().collect::<Vec<_>>());
}

/// The hash the model expects: computed from the full log, as the store's doc defines it.
fn model_hash(model: &Model, revision: i64) -> Result<(u32, i64)> {
    let revision = model.check_revision(revision)?;
    let c = model.compacted;
    let mut keys: Vec<Vec<u8>> = model.log.iter().map(|ch| ch.key.clone()).collect();
    keys.sort();
    keys.dedup();
    let mut hasher = crc32fast::Hasher::new();
    for key in keys {
        let changes: Vec<(usize, &Change)> =
            model.log.iter().filter(|ch| ch.key == key).enumerate().collect();
        let base = changes
            .iter()
            .filter(|(_, ch)| ch.revision <= c)
            .last()
            .filter(|(_, ch)| ch.kv.is_some() || ch.revision == c);
        let visible: Vec<&Change> = base
            .into_iter()
            .map(|(_, ch)| *ch)
            .chain(
                changes
                    .iter()
                    .filter(|(_, ch)| ch.revision > c && ch.revision <= revision)
                    .map(|(_, ch)| *ch),
            )
            .collect();
        if visible.is_empty() {
            continue;
        }
        hasher.update(&(key.len() as u64).to_le_bytes());
        hasher.update(&key);
        for ch in visible {
            hasher.update(&ch.revision.to_le_bytes());
            let sub = ch.sub;
            hasher.update(&sub.to_le_bytes());
            match &ch.kv {
                None => hasher.update(&[0]),
                Some(kv) => {
                    hasher.update(&[1]);
                    hasher.update(&kv.create_revision.to_le_bytes());
                    hasher.update(&kv.version.to_le_bytes());
                    hasher.update(&kv.lease.to_le_bytes());
                    hasher.update(&(kv.value.len() as u64).to_le_bytes());
                    hasher.update(&kv.value);
                }
            }
        }
    }
    hasher.update(&c.to_le_bytes());
    Ok((hasher.finalize(), c))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn state_machine_matches_the_naive_model(
        commands in prop::collection::vec(command(), 1..60),
        probes in prop::collection::vec(range_request(), 1..4),
    ) {
        let mut machine = StateMachine::new();
        let mut model = Model::new();
        for (i, command) in commands.iter().enumerate() {
            let before = machine.clone();
            let (result, events) = machine.apply(i as u64 + 1, command);
            let granted = match &result { Ok(Response::LeaseGrant(g)) => Some(g.id), _ => None };
            let (expected, expected_events) = model.apply(command, granted);
            prop_assert_eq!(&result, &expected, "command {:?}", command);
            prop_assert_eq!(&events, &expected_events, "events of {:?}", command);
            if result.is_err() || !command.is_write() {
                let mut unchanged = before.clone();
                let _ = unchanged.apply(i as u64 + 1, &Command::Noop);
                prop_assert_eq!(&machine, &unchanged, "refused or read-only {:?} changed state", command);
            }
            if i % 8 == 7 || i + 1 == commands.len() {
                compare_everything(&machine, &model, &probes);
                for revision in [0, model.compacted, model.revision, model.compacted - 1, model.revision + 1] {
                    prop_assert_eq!(machine.hash_kv(revision), model_hash(&model, revision));
                }
            }
        }
        let restored = StateMachine::restore(&machine.snapshot()).expect("restore");
        prop_assert_eq!(&restored, &machine);
    }
}
