//! Linearizable histories by construction, for tests and benchmarks.
//!
//! Operations are executed one at a time against a sequential model (their linearization
//! points are increasing instants); each gets a call time somewhat before its point and a return
//! time somewhat after, so real clients' overlap is imitated while a linearization (the
//! execution order) is known to exist. A client never has two operations open at once.
//!
//! Randomness comes from a caller-supplied source of `u64`s, so callers pick the generator
//! (the benches use a seeded ChaCha) and this crate needs no `rand` dependency.

use serde_json::{json, Value};

use crate::history::{History, Operation};

/// The shape of a generated history.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub clients: usize,
    pub ops: usize,
    pub keys: usize,
    /// How far (in linearization points) a call or return may stray from its point: the larger,
    /// the more concurrency.
    pub window: f64,
    /// The share (0..=1) of operations whose outcome is unknown.
    pub unknown: f64,
}

/// A source of random numbers.
pub type Random<'a> = &'a mut dyn FnMut() -> u64;

fn uniform(random: &mut dyn FnMut() -> u64) -> f64 {
    (random() >> 11) as f64 / (1u64 << 53) as f64
}

fn below(random: &mut dyn FnMut() -> u64, n: usize) -> usize {
    (random() % n.max(1) as u64) as usize
}

/// Schedules operation `index` on a free client; returns (client, call, return).
struct Scheduler {
    free_at: Vec<f64>,
}

impl Scheduler {
    fn place(
        &mut self,
        point: f64,
        shape: &Shape,
        random: &mut dyn FnMut() -> u64,
    ) -> Option<(u64, f64, f64)> {
        let free: Vec<usize> =
            (0..self.free_at.len()).filter(|&c| self.free_at[c] < point).collect();
        if free.is_empty() {
            return None;
        }
        let client = free[below(random, free.len())];
        let earliest = self.free_at[client].max(point - shape.window);
        let call = earliest + (point - earliest) * uniform(random);
        let ret = point + shape.window * uniform(random);
        self.free_at[client] = ret;
        Some((client as u64, call, ret))
    }
}

/// A `kv` history (get / put / append over `shape.keys` keys).
pub fn kv(shape: Shape, random: Random<'_>) -> History {
    let mut values: Vec<Option<String>> = vec![None; shape.keys.max(1)];
    let mut scheduler = Scheduler { free_at: vec![-1.0; shape.clients.max(1)] };
    let mut ops = Vec::with_capacity(shape.ops);
    let mut point = 0.0;
    while ops.len() < shape.ops {
        point += 1.0;
        let Some((client, call, ret)) = scheduler.place(point, &shape, random) else { continue };
        let k = below(random, values.len());
        let key = Some(format!("k{k}"));
        let n = ops.len();
        let (f, input, output) = match below(random, 3) {
            0 => ("get", Value::Null, values[k].clone().map_or(Value::Null, Value::String)),
            1 => {
                values[k] = Some(format!("x{n}y"));
                ("put", json!(format!("x{n}y")), Value::Null)
            }
            _ => {
                let suffix = format!("x{n}y");
                values[k] = Some(format!("{}{suffix}", values[k].as_deref().unwrap_or("")));
                ("append", json!(suffix), Value::Null)
            }
        };
        let unknown = uniform(random) < shape.unknown;
        let (ret, output) = if unknown { (None, Value::Null) } else { (Some(ret), output) };
        ops.push(Operation { client, call, ret, f: f.to_string(), key, input, output });
    }
    History::new(ops)
}

/// A `register` history (read / write / cas over small integers).
pub fn register(shape: Shape, random: Random<'_>) -> History {
    let mut value = Value::Null;
    let mut scheduler = Scheduler { free_at: vec![-1.0; shape.clients.max(1)] };
    let mut ops = Vec::with_capacity(shape.ops);
    let mut point = 0.0;
    while ops.len() < shape.ops {
        point += 1.0;
        let Some((client, call, ret)) = scheduler.place(point, &shape, random) else { continue };
        let (f, input, output) = match below(random, 3) {
            0 => ("read", Value::Null, value.clone()),
            1 => {
                value = json!(below(random, 5));
                ("write", value.clone(), Value::Null)
            }
            _ => {
                let (expected, new) = (json!(below(random, 5)), json!(below(random, 5)));
                let swapped = expected == value;
                if swapped {
                    value = new.clone();
                }
                ("cas", json!([expected, new]), json!(swapped))
            }
        };
        let unknown = uniform(random) < shape.unknown;
        let (ret, output) = if unknown { (None, Value::Null) } else { (Some(ret), output) };
        ops.push(Operation { client, call, ret, f: f.to_string(), key: None, input, output });
    }
    History::new(ops)
}

/// An `etcd` history: range / put / delete / compare-and-put txns with header revisions.
pub fn etcd(shape: Shape, random: Random<'_>) -> History {
    use std::collections::BTreeMap;
    let mut revision = 1i64;
    let mut store: BTreeMap<String, (String, i64, i64, i64)> = BTreeMap::new();
    let mut scheduler = Scheduler { free_at: vec![-1.0; shape.clients.max(1)] };
    let mut ops = Vec::with_capacity(shape.ops);
    let mut point = 0.0;
    let kv_json = |key: &str, (value, create, modr, version): &(String, i64, i64, i64)| json!({"key": key, "value": value, "create_revision": create, "mod_revision": modr, "version": version});
    while ops.len() < shape.ops {
        point += 1.0;
        let Some((client, call, ret)) = scheduler.place(point, &shape, random) else { continue };
        let key = format!("k{}", below(random, shape.keys.max(1)));
        let n = ops.len();
        let (f, input, output) = match below(random, 4) {
            0 => {
                let kvs: Vec<Value> =
                    store.get(&key).map(|kv| kv_json(&key, kv)).into_iter().collect();
                ("range", json!({"key": key}), json!({"revision": revision, "kvs": kvs}))
            }
            1 => {
                revision += 1;
                let entry = store.entry(key.clone()).or_insert((String::new(), revision, 0, 0));
                *entry = (format!("v{n}"), entry.1, revision, entry.3 + 1);
                (
                    "put",
                    json!({"key": key, "value": format!("v{n}")}),
                    json!({"revision": revision}),
                )
            }
            2 => {
                let deleted = store.remove(&key).is_some() as i64;
                revision += deleted;
                ("delete", json!({"key": key}), json!({"revision": revision, "deleted": deleted}))
            }
            _ => {
                let guess = store.get(&key).map_or(0, |kv| kv.2) - below(random, 2) as i64;
                let succeeded = store.get(&key).map_or(0, |kv| kv.2) == guess;
                let results = if succeeded {
                    revision += 1;
                    let entry = store.entry(key.clone()).or_insert((String::new(), revision, 0, 0));
                    *entry = (format!("v{n}"), entry.1, revision, entry.3 + 1);
                    json!([{}])
                } else {
                    let kvs: Vec<Value> =
                        store.get(&key).map(|kv| kv_json(&key, kv)).into_iter().collect();
                    json!([{"kvs": kvs}])
                };
                let input = json!({
                    "compare": [{"key": key, "target": "mod", "result": "equal", "value": guess}],
                    "success": [{"put": {"key": key, "value": format!("v{n}")}}],
                    "failure": [{"range": {"key": key}}],
                });
                (
                    "txn",
                    input,
                    json!({"revision": revision, "succeeded": succeeded, "results": results}),
                )
            }
        };
        let unknown = uniform(random) < shape.unknown;
        let (ret, output) = if unknown { (None, Value::Null) } else { (Some(ret), output) };
        ops.push(Operation { client, call, ret, f: f.to_string(), key: None, input, output });
    }
    History::new(ops)
}

/// Corrupts the first completed read at or after `from`: it now returns a value no operation
/// wrote, which no linearization can explain. Returns the index corrupted, if any.
pub fn corrupt_read(history: &mut History, from: usize) -> Option<usize> {
    let n = history.ops.len();
    (0..n).map(|i| (from + i) % n.max(1)).find(|&i| {
        let op = &mut history.ops[i];
        let is_read = matches!(op.f.as_str(), "read" | "get" | "range");
        if !is_read || op.is_unknown() {
            return false;
        }
        if op.f == "range" {
            op.output["kvs"] = json!([{"key": "k0", "value": "never-written"}]);
        } else {
            op.output = json!("never-written");
        }
        true
    })
}
