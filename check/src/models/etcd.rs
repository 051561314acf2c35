//! `etcd`: etcd's revisioned key space as a sequential specification.
//!
//! The state is the store revision (starting at 1), the compact revision (0 = never compacted),
//! the live keys with their `create_revision`, `mod_revision`, `version`, `value` and `lease`,
//! and the set of live leases. Semantics follow
//! ETCD-SEMANTICS.md: a write that changes something raises the revision by one; all writes of a
//! txn share one revision; a delete that deletes nothing and a txn whose branch writes nothing do
//! not raise it; revoking a lease deletes its keys in one revision. The store is one object
//! (every write moves the shared revision), so this model does not partition.
//!
//! Operations (`f`, `input`, `output`); every output may carry `revision` (the response header
//! revision) and then it is checked: for a write, the revision it produced (or the current one
//! when it changed nothing); for a read, the store revision when served. Absent output fields are
//! not checked, so a recorder may leave out what it does not know. An output `{"error": "..."}`
//! means the request had no effect. Three error texts are judged (matched by the part after
//! `etcdserver: `, as `detcd_core::Error`'s `Display` prints them), every other error is taken as
//! a refusal that explains itself (no leader, a timeout the client saw as definite, ...):
//!
//! | error text | judged |
//! |---|---|
//! | `etcdserver: requested lease not found` | the lease indeed did not exist |
//! | `etcdserver: mvcc: required revision has been compacted` | the request's revision is below the compact revision (a `compact`: at or below it); an optional `"compact_revision"` beside `"error"` must be the model's |
//! | `etcdserver: mvcc: required revision is a future revision` | the request's revision is above the store revision |
//!
//! A txn is refused as a whole, before any of its writes, by the first refusal met in the branch
//! its compares choose (in order: a range's revision, a put's lease), as etcd checks it.
//!
//! | `f` | `input` | `output` |
//! |---|---|---|
//! | `range` | `{"key", "range_end"?, "limit"?, "keys_only"?, "revision"?, "serializable"?}` | `{"revision", "kvs": [kv...], "count"?}` |
//! | `put` | `{"key", "value", "lease"?, "prev_kv"?: bool}` | `{"revision", "prev_kv"?: kv or null}` |
//! | `delete` | `{"key", "range_end"?}` | `{"revision", "deleted"?}` |
//! | `txn` | `{"compare": [cmp...], "success": [req...], "failure": [req...]}` | `{"revision", "succeeded"?, "results"?: [resp...]}` |
//! | `lease_grant` | `{"id", "ttl"?}` | `{"revision"?}` |
//! | `lease_revoke` | `{"id"}` | `{"revision"?}` |
//! | `lease_keepalive` | `{"id"}` | `{}` (or the `lease not found` error) |
//! | `compact` | `{"revision"}` | `{"revision"?}` (the store revision, which compaction leaves alone) |
//!
//! - `kv` = `{"key", "value", "create_revision"?, "mod_revision"?, "version"?, "lease"?}`; a kv in
//!   an output is compared on the fields it has.
//! - `compact` at `revision` succeeds when the compact revision `< revision <=` the store
//!   revision, and then only raises the compact revision; at or below the compact revision it is
//!   refused as compacted, above the store revision as a future revision.
//! - A historical range (`revision` > 0, alone or inside a txn) is judged for its refusal
//!   exactly: below the compact revision it must fail as compacted, above the store revision as
//!   a future revision, and otherwise it must answer (a result below the compaction, or a
//!   compacted error at or above it, is a violation). Its result is judged as far as the present
//!   key space implies the past without keeping old versions: at the store revision exactly (or,
//!   in a txn, before the txn's first write) like a current read; below it, with no `limit`, a key
//!   live now and unchanged since `revision` must be returned as it is now, a key live now whose
//!   generation began at or before `revision` must be returned with that `create_revision` and a
//!   lower `version`, every returned pair must lie in the range, in key order, written at or
//!   before `revision`, and `count` must be the number returned. Keys deleted since, or recreated
//!   after `revision`, are not judged (their older versions are gone from the model).
//! - `serializable` ranges are accepted without judging their result or refusal (they may be
//!   stale by design: a member behind may still answer below a compaction it has not applied,
//!   or refuse a revision it has not reached); `count` is the number of matching keys, `kvs` is
//!   cut to `limit`.
//! - `range_end` follows etcd: half-open end; `"\u0000"` = every key >= `key`.
//! - `cmp` = `{"key", "range_end"?, "target": "version"|"create"|"mod"|"value"|"lease",
//!   "result": "equal"|"not_equal"|"greater"|"less", "value": number or string}`; a missing key
//!   compares as 0 (and a `value` compare on it is false); with `range_end` every key in the range
//!   must satisfy it.
//! - `req` inside a txn = `{"range": {...}}`, `{"put": {...}}` or `{"delete": {...}}` with the
//!   inputs above; `resp` = the matching output without `revision`.
//! - Lease ids are chosen by the client (the simulator grants with explicit ids), so an unknown
//!   `lease_grant` still has a known id. A lease expiry is recorded as `lease_revoke` (the
//!   simulator knows when the expiry was committed).
//!
//! ```text
//! {"client":0,"call":0,"return":1,"f":"put","input":{"key":"a","value":"1"},"output":{"revision":2}}
//! {"client":1,"call":2,"return":3,"f":"txn","input":{"compare":[{"key":"a","target":"mod","result":"equal","value":2}],"success":[{"put":{"key":"a","value":"2"}}],"failure":[{"range":{"key":"a"}}]},"output":{"revision":3,"succeeded":true,"results":[{}]}}
//! {"client":0,"call":4,"return":5,"f":"range","input":{"key":"a"},"output":{"revision":3,"kvs":[{"key":"a","value":"2","create_revision":2,"mod_revision":3,"version":2}]}}
//! {"client":1,"call":6,"return":7,"f":"compact","input":{"revision":3},"output":{"revision":3}}
//! {"client":0,"call":8,"return":9,"f":"range","input":{"key":"a","revision":2},"output":{"error":"etcdserver: mvcc: required revision has been compacted","compact_revision":3}}
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::history::Operation;
use crate::linearizability::{Model, Next};

/// The etcd model.
#[derive(Clone, Copy, Debug, Default)]
pub struct Etcd;

/// One live key. Keys and values are shared (`Arc<str>`), so copying the store for a write
/// copies no text: the search copies the store once per write it tries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyValue {
    pub value: Arc<str>,
    pub create_revision: i64,
    pub mod_revision: i64,
    pub version: i64,
    pub lease: i64,
}

/// The store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Store {
    pub revision: i64,
    /// The revision of the last compaction (0 = never): reads below it are refused. One more
    /// integer, so the search's copies of the store stay as cheap as before.
    pub compact_revision: i64,
    pub kvs: BTreeMap<Arc<str>, KeyValue>,
    pub leases: BTreeSet<i64>,
}

/// A kv as expected by an output: only the fields it has are checked.
#[derive(Clone, Debug, Default)]
pub struct KvExpect {
    pub key: String,
    pub value: Option<String>,
    pub create_revision: Option<i64>,
    pub mod_revision: Option<i64>,
    pub version: Option<i64>,
    pub lease: Option<i64>,
}

#[derive(Debug)]
pub struct Range {
    pub key: String,
    pub range_end: Option<String>,
    pub limit: Option<usize>,
    /// The revision read at; 0 (or less) = the current one.
    pub revision: i64,
    /// A `serializable` read: its result is not judged (it may be stale by design).
    pub serializable: bool,
    /// `keys_only`: values are not compared.
    pub keys_only: bool,
}

#[derive(Debug)]
pub struct Compare {
    pub range: Range,
    pub target: Target,
    pub result: std::cmp::Ordering,
    pub negate: bool,
    pub value: CompareValue,
}

#[derive(Debug, Clone, Copy)]
pub enum Target {
    Version,
    Create,
    Mod,
    Value,
    Lease,
}

#[derive(Debug)]
pub enum CompareValue {
    Number(i64),
    Text(String),
}

/// A request that can stand alone or inside a txn.
#[derive(Debug)]
pub enum Request {
    Range(Range),
    Put { key: Arc<str>, value: Arc<str>, lease: i64, prev_kv: bool },
    Delete(Range),
    Txn { compare: Vec<Compare>, success: Vec<Request>, failure: Vec<Request> },
    LeaseGrant(i64),
    LeaseRevoke(i64),
    LeaseKeepAlive(i64),
    Compact(i64),
}

/// A refusal the model judges, recognised by its error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `etcdserver: requested lease not found`.
    LeaseMissing,
    /// `etcdserver: mvcc: required revision has been compacted`.
    Compacted,
    /// `etcdserver: mvcc: required revision is a future revision`.
    FutureRevision,
}

impl Refusal {
    /// The refusal an error text names, if the model judges it.
    pub fn from_error(text: &str) -> Option<Refusal> {
        if text.contains("requested lease not found") {
            Some(Refusal::LeaseMissing)
        } else if text.contains("mvcc: required revision has been compacted") {
            Some(Refusal::Compacted)
        } else if text.contains("mvcc: required revision is a future revision") {
            Some(Refusal::FutureRevision)
        } else {
            None
        }
    }
}

/// What the client saw, typed; `None` fields are not checked.
#[derive(Debug, Default)]
pub struct Expect {
    pub kvs: Option<Vec<KvExpect>>,
    pub count: Option<i64>,
    pub prev_kv: Option<Option<KvExpect>>,
    pub deleted: Option<i64>,
    pub succeeded: Option<bool>,
    pub results: Option<Vec<Expect>>,
}

/// The outcome of an operation as recorded.
#[derive(Debug)]
pub enum Outcome {
    Unknown,
    /// Failed without effect; `refusal` when the error is one the model judges, and the compact
    /// revision a compacted error named, if recorded.
    Error {
        refusal: Option<Refusal>,
        compact_revision: Option<i64>,
    },
    Ok {
        revision: Option<i64>,
        expect: Box<Expect>,
    },
}

#[derive(Debug)]
pub struct EtcdOp {
    pub request: Request,
    pub outcome: Outcome,
}

impl Model for Etcd {
    type State = Store;
    type Op = EtcdOp;

    fn name(&self) -> &'static str {
        "etcd"
    }

    fn decode(&self, op: &Operation) -> Result<EtcdOp, String> {
        let request = decode_request(&op.f, &op.input)?;
        let outcome = if op.is_unknown() {
            Outcome::Unknown
        } else if let Some(error) = op.output.get("error") {
            let text = error.as_str().unwrap_or_default();
            Outcome::Error {
                refusal: Refusal::from_error(text),
                compact_revision: int(&op.output, "compact_revision")?,
            }
        } else {
            Outcome::Ok {
                revision: int(&op.output, "revision")?,
                expect: Box::new(decode_expect(&op.output)?),
            }
        };
        Ok(EtcdOp { request, outcome })
    }

    fn init(&self) -> Store {
        Store { revision: 1, compact_revision: 0, kvs: BTreeMap::new(), leases: BTreeSet::new() }
    }

    fn step(&self, state: &Store, op: &EtcdOp) -> Next<Store> {
        if matches!(&op.request, Request::Range(range) if range.serializable) {
            // Served from one member's replica, perhaps behind: any answer or refusal fits.
            return Next::Same;
        }
        match &op.outcome {
            Outcome::Error { refusal: None, .. } => Next::Same,
            Outcome::Error { refusal: Some(Refusal::LeaseMissing), .. } => {
                Next::same_if(missing_lease(state, &op.request))
            }
            Outcome::Error { refusal: Some(refusal), compact_revision } => Next::same_if(
                refused(state, &op.request) == Some(*refusal)
                    && compact_revision.is_none_or(|c| c == state.compact_revision),
            ),
            Outcome::Unknown => {
                // A request that would fail (a missing lease) fails without effect.
                let mut next = state.clone();
                if apply(&mut next, &op.request, None) && next != *state {
                    Next::To(next)
                } else {
                    Next::Same
                }
            }
            Outcome::Ok { revision, expect } => {
                let revision_ok = |r: i64| revision.is_none_or(|seen| seen == r);
                if let Request::Range(range) = &op.request {
                    // Reads change nothing: judge them without copying the store.
                    return Next::same_if(
                        revision_ok(state.revision)
                            && read_refusal(state, range.revision).is_none()
                            && check_range(state, range, expect, range.revision == state.revision),
                    );
                }
                let mut next = state.clone();
                let ok = apply(&mut next, &op.request, Some(expect)) && revision_ok(next.revision);
                match ok {
                    false => Next::Illegal,
                    true if next == *state => Next::Same,
                    true => Next::To(next),
                }
            }
        }
    }

    fn is_read_only(&self, op: &EtcdOp) -> bool {
        reads_only(&op.request)
    }

    fn describe_state(&self, state: &Store) -> String {
        let kvs: Vec<String> = state
            .kvs
            .iter()
            .map(|(k, kv)| {
                format!(
                    "{k}={:?}@{}/{}v{}",
                    kv.value, kv.create_revision, kv.mod_revision, kv.version
                )
            })
            .collect();
        let compacted = match state.compact_revision {
            0 => String::new(),
            c => format!(" compacted {c}"),
        };
        format!(
            "rev {}{compacted} {{{}}} leases {:?}",
            state.revision,
            kvs.join(", "),
            state.leases
        )
    }
}

/// True for a request that can never change the state: a range, a keep-alive, or a txn whose
/// branches only read (it writes nothing, so it leaves the revision alone too).
fn reads_only(request: &Request) -> bool {
    match request {
        Request::Range(_) | Request::LeaseKeepAlive(_) => true,
        Request::Txn { success, failure, .. } => success.iter().chain(failure).all(reads_only),
        _ => false,
    }
}

/// The refusal about revisions a read at `revision` meets: above the store revision it is a
/// future revision, below the compact revision it is compacted (etcd checks in that order; the
/// compact revision never exceeds the store revision, so both cannot hold).
fn read_refusal(state: &Store, revision: i64) -> Option<Refusal> {
    if revision <= 0 {
        None
    } else if revision > state.revision {
        Some(Refusal::FutureRevision)
    } else if revision < state.compact_revision {
        Some(Refusal::Compacted)
    } else {
        None
    }
}

/// The refusal `request` meets in `state`, before it changes anything: what the apply-time
/// checks of etcd (and detcd's `check_txn_state`) return. A txn is checked along the branch its
/// compares choose, op by op, and fails as a whole with the first refusal.
fn refused(state: &Store, request: &Request) -> Option<Refusal> {
    match request {
        Request::Range(range) => read_refusal(state, range.revision),
        Request::Compact(revision) if *revision <= state.compact_revision => {
            Some(Refusal::Compacted)
        }
        Request::Compact(revision) if *revision > state.revision => Some(Refusal::FutureRevision),
        Request::Put { lease, .. } if *lease != 0 && !state.leases.contains(lease) => {
            Some(Refusal::LeaseMissing)
        }
        Request::Txn { compare, success, failure } => {
            let branch = if compare.iter().all(|c| holds(state, c)) { success } else { failure };
            branch.iter().find_map(|request| refused(state, request))
        }
        Request::LeaseRevoke(id) | Request::LeaseKeepAlive(id) if !state.leases.contains(id) => {
            Some(Refusal::LeaseMissing)
        }
        _ => None,
    }
}

/// True when the request's failure with "lease not found" is explained by the state.
fn missing_lease(state: &Store, request: &Request) -> bool {
    match request {
        Request::Put { lease, .. } => *lease != 0 && !state.leases.contains(lease),
        Request::LeaseRevoke(id) | Request::LeaseKeepAlive(id) => !state.leases.contains(id),
        Request::Txn { success, failure, .. } => {
            success.iter().chain(failure).any(|r| missing_lease(state, r))
        }
        _ => false,
    }
}

/// Applies a request to the store, checking the expected response when given. Returns false
/// when the request cannot have produced the recorded response (or would have failed).
fn apply(store: &mut Store, request: &Request, expect: Option<&Expect>) -> bool {
    let write_revision = store.revision + 1;
    let mut changed = false;
    let ok = execute(store, request, expect, write_revision, &mut changed);
    if changed {
        store.revision = write_revision;
    }
    ok
}

fn execute(
    store: &mut Store,
    request: &Request,
    expect: Option<&Expect>,
    rev: i64,
    changed: &mut bool,
) -> bool {
    match request {
        Request::Range(range) => {
            // Inside a txn the store is still at its revision before the txn (it moves when the
            // txn ends), so this is the txn's refusal check; a read at that revision sees the key
            // space exactly as it is here until the txn's first write.
            read_refusal(store, range.revision).is_none()
                && expect.is_none_or(|e| {
                    check_range(store, range, e, range.revision == store.revision && !*changed)
                })
        }
        Request::Put { key, value, lease, prev_kv } => {
            if *lease != 0 && !store.leases.contains(lease) {
                return false;
            }
            let previous = store.kvs.get(key.as_ref()).cloned();
            if *prev_kv {
                let seen = expect.and_then(|e| e.prev_kv.as_ref());
                if !seen
                    .is_none_or(|seen| optional_kv_matches(key, previous.as_ref(), seen.as_ref()))
                {
                    return false;
                }
            }
            let kv = KeyValue {
                value: value.clone(),
                create_revision: previous.as_ref().map_or(rev, |p| p.create_revision),
                mod_revision: rev,
                version: previous.as_ref().map_or(1, |p| p.version + 1),
                lease: *lease,
            };
            store.kvs.insert(key.clone(), kv);
            *changed = true;
            true
        }
        Request::Delete(range) => {
            let doomed: Vec<Arc<str>> = matching(store, range).map(|(k, _)| k.clone()).collect();
            if expect.and_then(|e| e.deleted).is_some_and(|d| d != doomed.len() as i64) {
                return false;
            }
            for key in &doomed {
                store.kvs.remove(key);
            }
            *changed |= !doomed.is_empty();
            true
        }
        Request::Txn { compare, success, failure } => {
            let succeeded = compare.iter().all(|c| holds(store, c));
            if expect.and_then(|e| e.succeeded).is_some_and(|s| s != succeeded) {
                return false;
            }
            let branch = if succeeded { success } else { failure };
            let results = expect.and_then(|e| e.results.as_ref());
            if results.is_some_and(|r| r.len() != branch.len()) {
                return false;
            }
            branch
                .iter()
                .enumerate()
                .all(|(i, request)| execute(store, request, results.map(|r| &r[i]), rev, changed))
        }
        Request::LeaseGrant(id) => store.leases.insert(*id),
        Request::LeaseRevoke(id) => {
            if !store.leases.remove(id) {
                return false;
            }
            let before = store.kvs.len();
            store.kvs.retain(|_, kv| kv.lease != *id);
            *changed |= store.kvs.len() != before;
            true
        }
        Request::LeaseKeepAlive(id) => store.leases.contains(id),
        Request::Compact(revision) => {
            if refused(store, request).is_some() {
                return false;
            }
            // Compaction forgets history the model never kept; the revision stays.
            store.compact_revision = *revision;
            true
        }
    }
}

/// Judges a range's answer. `exact` says `store` holds the key space exactly as the read
/// revision saw it (a current read, or a read at the store revision itself); otherwise the read
/// is of the past, judged by [`check_past_range`].
fn check_range(store: &Store, range: &Range, expect: &Expect, exact: bool) -> bool {
    if range.serializable {
        return true;
    }
    if range.revision > 0 && !exact {
        return check_past_range(store, range, expect);
    }
    let found: Vec<(&Arc<str>, &KeyValue)> = matching(store, range).collect();
    if expect.count.is_some_and(|c| c != found.len() as i64) {
        return false;
    }
    let Some(kvs) = &expect.kvs else { return true };
    let returned = range.limit.filter(|&l| l > 0).map_or(found.len(), |l| l.min(found.len()));
    kvs.len() == returned
        && kvs.iter().zip(&found).all(|(e, (k, kv))| pair_matches(range, k, kv, e))
}

/// A read at `range.revision`, below the store revision, judged by what the key space now
/// implies about it. A key live now has been live, unchanged, since its `mod_revision`, and live
/// in one generation since its `create_revision`; so at revision `r` it was exactly as now when
/// `mod_revision <= r`, and live with the same `create_revision` and an older `version` when
/// `create_revision <= r`. What a key deleted since `r` (or recreated after it) held at `r` is not
/// known here, so such keys are only held to the rules every returned pair obeys: inside the
/// range, in key order, written at or before `r`. An answer cut by `limit` is not judged (which
/// keys made the cut depends on keys the model cannot see).
fn check_past_range(store: &Store, range: &Range, expect: &Expect) -> bool {
    let r = range.revision;
    let Some(kvs) = &expect.kvs else { return true };
    if range.limit.is_some_and(|l| l > 0) {
        return true;
    }
    if expect.count.is_some_and(|c| c != kvs.len() as i64) {
        return false;
    }
    let in_order = kvs.windows(2).all(|w| w[0].key < w[1].key);
    let plausible = kvs.iter().all(|e| {
        in_range(range, &e.key)
            && e.mod_revision.is_none_or(|m| m <= r)
            && e.create_revision.zip(e.mod_revision).is_none_or(|(c, m)| c <= m)
    });
    if !in_order || !plausible {
        return false;
    }
    let returned =
        |key: &str| kvs.binary_search_by(|e| e.key.as_str().cmp(key)).ok().map(|i| &kvs[i]);
    matching(store, range).all(|(key, kv)| match returned(key) {
        _ if kv.create_revision > r => true,
        None => false,
        Some(e) if kv.mod_revision <= r => pair_matches(range, key, kv, e),
        Some(e) => {
            e.create_revision.is_none_or(|c| c == kv.create_revision)
                && e.version.is_none_or(|v| v < kv.version)
                && e.mod_revision.is_none_or(|m| m >= kv.create_revision)
        }
    })
}

/// Whether `key` lies inside the range (half-open; `"\0"` as end = every key from `key` on).
fn in_range(range: &Range, key: &str) -> bool {
    match range.range_end.as_deref() {
        None => key == range.key,
        Some("\0") => key >= range.key.as_str(),
        Some(end) => range.key.as_str() <= key && key < end,
    }
}

/// A returned pair against the stored one; `keys_only` answers carry no value to compare.
fn pair_matches(range: &Range, key: &str, kv: &KeyValue, e: &KvExpect) -> bool {
    kv_matches(key, kv, e)
        || (range.keys_only && kv_matches(key, kv, &KvExpect { value: None, ..e.clone() }))
}

fn matching<'a>(
    store: &'a Store,
    range: &'a Range,
) -> impl Iterator<Item = (&'a Arc<str>, &'a KeyValue)> {
    let key = range.key.as_str();
    let end = match range.range_end.as_deref() {
        None => Bound::Included(key),
        Some("\0") => Bound::Unbounded,
        Some(end) => Bound::Excluded(end),
    };
    // BTreeMap::range panics on an inverted range; etcd answers it with nothing.
    let end = match end {
        Bound::Excluded(e) if e <= key => Bound::Excluded(key),
        end => end,
    };
    store.kvs.range::<str, _>((Bound::Included(key), end))
}

fn kv_matches(key: &str, kv: &KeyValue, e: &KvExpect) -> bool {
    e.key == key
        && e.value.as_ref().is_none_or(|v| **v == *kv.value)
        && e.create_revision.is_none_or(|v| v == kv.create_revision)
        && e.mod_revision.is_none_or(|v| v == kv.mod_revision)
        && e.version.is_none_or(|v| v == kv.version)
        && e.lease.is_none_or(|v| v == kv.lease)
}

fn optional_kv_matches(key: &str, actual: Option<&KeyValue>, seen: Option<&KvExpect>) -> bool {
    match (actual, seen) {
        (None, None) => true,
        (Some(kv), Some(e)) => kv_matches(key, kv, e),
        _ => false,
    }
}

fn holds(store: &Store, compare: &Compare) -> bool {
    if compare.range.range_end.is_none() {
        return holds_for(store.kvs.get(compare.range.key.as_str()), compare);
    }
    matching(store, &compare.range).all(|(_, kv)| holds_for(Some(kv), compare))
}

fn holds_for(kv: Option<&KeyValue>, compare: &Compare) -> bool {
    let ordering = match (compare.target, &compare.value) {
        (Target::Value, CompareValue::Text(expected)) => match kv {
            None => return false,
            Some(kv) => kv.value.as_ref().cmp(expected.as_str()),
        },
        (Target::Value, CompareValue::Number(_)) => return false,
        (target, value) => {
            let actual = kv.map_or(0, |kv| match target {
                Target::Version => kv.version,
                Target::Create => kv.create_revision,
                Target::Mod => kv.mod_revision,
                Target::Lease => kv.lease,
                Target::Value => 0,
            });
            match value {
                CompareValue::Number(n) => actual.cmp(n),
                CompareValue::Text(_) => return false,
            }
        }
    };
    (ordering == compare.result) != compare.negate
}

fn decode_request(f: &str, input: &Value) -> Result<Request, String> {
    match f {
        "range" | "get" => Ok(Request::Range(decode_range(input)?)),
        "put" => Ok(Request::Put {
            key: text(input, "key")?.ok_or("put needs a key")?.into(),
            value: text(input, "value")?.unwrap_or_default().into(),
            lease: int(input, "lease")?.unwrap_or(0),
            prev_kv: input.get("prev_kv").and_then(Value::as_bool).unwrap_or(false),
        }),
        "delete" | "delete_range" => Ok(Request::Delete(decode_range(input)?)),
        "txn" => Ok(Request::Txn {
            compare: list(input, "compare")?.iter().map(decode_compare).collect::<Result<_, _>>()?,
            success: list(input, "success")?.iter().map(decode_nested).collect::<Result<_, _>>()?,
            failure: list(input, "failure")?.iter().map(decode_nested).collect::<Result<_, _>>()?,
        }),
        "lease_grant" => Ok(Request::LeaseGrant(int(input, "id")?.ok_or("lease_grant needs an id")?)),
        "lease_revoke" => Ok(Request::LeaseRevoke(int(input, "id")?.ok_or("lease_revoke needs an id")?)),
        "lease_keepalive" => Ok(Request::LeaseKeepAlive(int(input, "id")?.ok_or("lease_keepalive needs an id")?)),
        "compact" => Ok(Request::Compact(int(input, "revision")?.ok_or("compact needs a revision")?)),
        other => Err(format!(
            "etcd has no operation {other:?} (range, put, delete, txn, lease_grant, lease_revoke, lease_keepalive, compact)"
        )),
    }
}

/// `{"put": {...}}` and the like inside a txn.
fn decode_nested(value: &Value) -> Result<Request, String> {
    let Some((name, input)) = value.as_object().and_then(|o| o.iter().next()) else {
        return Err(format!(
            "txn request must be {{\"range\"|\"put\"|\"delete\"|\"txn\": {{...}}}}, got {value}"
        ));
    };
    if name.starts_with("lease") || name == "compact" {
        return Err("lease and compact requests cannot be inside a txn".into());
    }
    decode_request(name, input)
}

fn decode_range(input: &Value) -> Result<Range, String> {
    Ok(Range {
        key: text(input, "key")?.ok_or("missing key")?,
        range_end: text(input, "range_end")?,
        limit: int(input, "limit")?.map(|l| l.max(0) as usize),
        revision: int(input, "revision")?.unwrap_or(0),
        serializable: input.get("serializable").and_then(Value::as_bool).unwrap_or(false),
        keys_only: input.get("keys_only").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn decode_compare(value: &Value) -> Result<Compare, String> {
    let target = match text(value, "target")?.as_deref() {
        Some("version") => Target::Version,
        Some("create") => Target::Create,
        Some("mod") => Target::Mod,
        Some("value") => Target::Value,
        Some("lease") => Target::Lease,
        other => {
            return Err(format!(
                "compare target must be version|create|mod|value|lease, got {other:?}"
            ))
        }
    };
    let (result, negate) = match text(value, "result")?.as_deref() {
        Some("equal") => (std::cmp::Ordering::Equal, false),
        Some("not_equal") => (std::cmp::Ordering::Equal, true),
        Some("greater") => (std::cmp::Ordering::Greater, false),
        Some("less") => (std::cmp::Ordering::Less, false),
        other => {
            return Err(format!(
                "compare result must be equal|not_equal|greater|less, got {other:?}"
            ))
        }
    };
    let value_field = value.get("value").unwrap_or(&Value::Null);
    let compared = match value_field {
        Value::String(s) => CompareValue::Text(s.clone()),
        Value::Number(n) => {
            CompareValue::Number(n.as_i64().ok_or("compare value must be an integer")?)
        }
        other => return Err(format!("compare value must be a number or a string, got {other}")),
    };
    Ok(Compare { range: decode_range(value)?, target, result, negate, value: compared })
}

fn decode_expect(output: &Value) -> Result<Expect, String> {
    let kvs = match output.get("kvs") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(items.iter().map(decode_kv).collect::<Result<_, _>>()?),
        Some(other) => return Err(format!("kvs must be an array, got {other}")),
    };
    let prev_kv = match output.get("prev_kv") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(kv) => Some(Some(decode_kv(kv)?)),
    };
    let results = match output.get("results") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            Some(items.iter().map(decode_expect).collect::<Result<_, _>>()?)
        }
        Some(other) => return Err(format!("results must be an array, got {other}")),
    };
    Ok(Expect {
        kvs,
        count: int(output, "count")?,
        prev_kv,
        deleted: int(output, "deleted")?,
        succeeded: output.get("succeeded").and_then(Value::as_bool),
        results,
    })
}

fn decode_kv(value: &Value) -> Result<KvExpect, String> {
    Ok(KvExpect {
        key: text(value, "key")?.ok_or("kv needs a key")?,
        value: text(value, "value")?,
        create_revision: int(value, "create_revision")?,
        mod_revision: int(value, "mod_revision")?,
        version: int(value, "version")?,
        lease: int(value, "lease")?,
    })
}

fn field<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    value.as_object().and_then(|o: &Map<String, Value>| o.get(name)).filter(|v| !v.is_null())
}

fn text(value: &Value, name: &str) -> Result<Option<String>, String> {
    match field(value, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{name} must be a string, got {other}")),
    }
}

fn int(value: &Value, name: &str) -> Result<Option<i64>, String> {
    match field(value, name) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(format!("{name} must be an integer, got {v}")),
    }
}

fn list<'a>(value: &'a Value, name: &str) -> Result<&'a [Value], String> {
    match field(value, name) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!("{name} must be an array, got {other}")),
    }
}
