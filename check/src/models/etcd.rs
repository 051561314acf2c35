//! `etcd`: etcd's revisioned key space as a sequential specification.
//!
//! The state is the store revision (starting at 1), the live keys with their `create_revision`,
//! `mod_revision`, `version`, `value` and `lease`, and the set of live leases. Semantics follow
//! ETCD-SEMANTICS.md: a write that changes something raises the revision by one; all writes of a
//! txn share one revision; a delete that deletes nothing and a txn whose branch writes nothing do
//! not raise it; revoking a lease deletes its keys in one revision. The store is one object
//! (every write moves the shared revision), so this model does not partition.
//!
//! Operations (`f`, `input`, `output`); every output may carry `revision` (the response header
//! revision) and then it is checked: for a write, the revision it produced (or the current one
//! when it changed nothing); for a read, the store revision when served. Absent output fields are
//! not checked, so a recorder may leave out what it does not know. An output `{"error": "..."}`
//! means the request had no effect; for `lease not found` errors the model checks that the lease
//! indeed did not exist.
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
//!
//! - `kv` = `{"key", "value", "create_revision"?, "mod_revision"?, "version"?, "lease"?}`; a kv in
//!   an output is compared on the fields it has.
//! - Historical (`revision` > 0) and `serializable` ranges are accepted without judging their
//!   result (the model keeps no old versions; serializable reads may be stale by design); `count`
//!   is the number of matching keys, `kvs` is cut to `limit`.
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
    /// A historical (`revision` > 0) or `serializable` read: its result is not judged (the model
    /// keeps no old versions, and a serializable read may be stale by design).
    pub unchecked: bool,
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
    /// Failed without effect; `lease_missing` when the error says the lease was not found.
    Error {
        lease_missing: bool,
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
            Outcome::Error { lease_missing: text.contains("lease not found") }
        } else {
            Outcome::Ok {
                revision: int(&op.output, "revision")?,
                expect: Box::new(decode_expect(&op.output)?),
            }
        };
        Ok(EtcdOp { request, outcome })
    }

    fn init(&self) -> Store {
        Store { revision: 1, kvs: BTreeMap::new(), leases: BTreeSet::new() }
    }

    fn step(&self, state: &Store, op: &EtcdOp) -> Next<Store> {
        match &op.outcome {
            Outcome::Error { lease_missing: false } => Next::Same,
            Outcome::Error { lease_missing: true } => {
                Next::same_if(missing_lease(state, &op.request))
            }
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
                        revision_ok(state.revision) && check_range(state, range, expect),
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
        matches!(op.request, Request::Range(_) | Request::LeaseKeepAlive(_))
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
        format!("rev {} {{{}}} leases {:?}", state.revision, kvs.join(", "), state.leases)
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
        Request::Range(range) => expect.is_none_or(|e| check_range(store, range, e)),
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
    }
}

fn check_range(store: &Store, range: &Range, expect: &Expect) -> bool {
    if range.unchecked {
        return true;
    }
    let found: Vec<(&Arc<str>, &KeyValue)> = matching(store, range).collect();
    if expect.count.is_some_and(|c| c != found.len() as i64) {
        return false;
    }
    let Some(kvs) = &expect.kvs else { return true };
    let returned = range.limit.filter(|&l| l > 0).map_or(found.len(), |l| l.min(found.len()));
    kvs.len() == returned
        && kvs.iter().zip(&found).all(|(e, (k, kv))| {
            kv_matches(k, kv, e)
                || (range.keys_only && kv_matches(k, kv, &KvExpect { value: None, ..e.clone() }))
        })
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
        other => Err(format!(
            "etcd has no operation {other:?} (range, put, delete, txn, lease_grant, lease_revoke, lease_keepalive)"
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
    if name.starts_with("lease") {
        return Err("lease requests cannot be inside a txn".into());
    }
    decode_request(name, input)
}

fn decode_range(input: &Value) -> Result<Range, String> {
    Ok(Range {
        key: text(input, "key")?.ok_or("missing key")?,
        range_end: text(input, "range_end")?,
        limit: int(input, "limit")?.map(|l| l.max(0) as usize),
        unchecked: int(input, "revision")?.unwrap_or(0) > 0
            || input.get("serializable").and_then(Value::as_bool).unwrap_or(false),
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
