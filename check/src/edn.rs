//! Import of Jepsen EDN histories.
//!
//! Jepsen records each operation twice: an `:invoke` event, then a completion from the same
//! `:process`: `:ok` (happened, `:value` is the result), `:fail` (definitely did not happen) or
//! `:info` (unknown). For example:
//!
//! ```text
//! {:process 0, :type :invoke, :f :write, :value 3}
//! {:process 1, :type :invoke, :f :read, :value nil}
//! {:process 0, :type :ok, :f :write, :value 3}
//! {:process 1, :type :ok, :f :read, :value 3}
//! {:process 2, :type :invoke, :f :cas, :value [3 4]}
//! {:process 2, :type :fail, :f :cas, :value [3 4]}
//! ```
//!
//! The file is either one map per line or one vector (or list) of maps. Event positions become
//! `call`/`return` times (only order matters). Mapping to [`Operation`]s:
//!
//! - register workload: `:read` -> `read` with output = the `:ok` value; `:write v` -> `write`
//!   with input `v`; `:cas [a b]` -> `cas` with input `[a, b]` and output `true` on `:ok`,
//!   `false` on `:fail`.
//! - key-value workload (Jepsen's `independent` tuples, `:value [k v]`, or a separate `:key k`
//!   with a plain `:value`): the same per key, with `key` = `k`; `:read`/`:write`/`:append`
//!   become `get`/`put`/`append` (`:get`/`:put` stay as they are).
//! - `:fail` of anything but `:cas` drops the operation (it had no effect); `:info`, or an
//!   invocation never completed, gives `return: null`.
//!
//! Keywords become strings without the colon; vectors and lists become arrays.

use std::collections::BTreeMap;

use edn_format::{Keyword, Value as Edn};
use serde_json::Value;

use crate::history::{History, Operation};
use crate::jsonl::LoadError;

/// Which Jepsen workload the history comes from (decides how `:value` is split).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// A single register: values are plain.
    Register,
    /// Independent keys: values are `[key value]` tuples.
    KeyValue,
}

/// Parses a Jepsen EDN history for the register workload (see [`parse_workload`]).
pub fn parse(file: &str, text: &str) -> Result<History, LoadError> {
    parse_workload(file, text, Workload::Register)
}

/// Parses a Jepsen EDN history; `file` only names the source in errors.
pub fn parse_workload(file: &str, text: &str, workload: Workload) -> Result<History, LoadError> {
    let events = read_events(file, text)?;
    let mut pending: BTreeMap<i64, (usize, usize, &Edn)> = BTreeMap::new();
    let mut ops: Vec<(usize, Operation)> = Vec::new();
    for (position, (line, event)) in events.iter().enumerate() {
        let error =
            |message: String| LoadError::Parse { file: file.to_string(), line: *line, message };
        let process = match get(event, "process") {
            Some(Edn::Integer(p)) => *p,
            // Nemesis events (`:process :nemesis`) are not client operations.
            Some(Edn::Keyword(_)) => continue,
            _ => return Err(error("event has no integer :process".into())),
        };
        let kind =
            keyword(event, "type").ok_or_else(|| error("event has no :type keyword".into()))?;
        if kind == "invoke" {
            if pending.insert(process, (position, *line, event)).is_some() {
                return Err(error(format!("process {process} invoked twice without completing")));
            }
            continue;
        }
        let Some((call, _, invoke)) = pending.remove(&process) else {
            return Err(error(format!(
                "process {process} completed an operation it never invoked"
            )));
        };
        let outcome = match kind.as_str() {
            "ok" => Outcome::Ok,
            "fail" => Outcome::Fail,
            "info" => Outcome::Info,
            other => return Err(error(format!("unknown :type :{other}"))),
        };
        let op =
            convert(process, call, position, invoke, event, outcome, workload).map_err(error)?;
        if let Some(op) = op {
            ops.push((call, op));
        }
    }
    for (process, (call, line, invoke)) in pending {
        let error = |message: String| LoadError::Parse { file: file.to_string(), line, message };
        if let Some(op) =
            convert(process, call, 0, invoke, invoke, Outcome::Info, workload).map_err(error)?
        {
            ops.push((call, op));
        }
    }
    ops.sort_by_key(|(call, _)| *call);
    Ok(History::new(ops.into_iter().map(|(_, op)| op).collect()))
}

#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    Ok,
    Fail,
    Info,
}

/// Reads the events with the line each starts on.
fn read_events(file: &str, text: &str) -> Result<Vec<(usize, Edn)>, LoadError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('(') {
        let whole = edn_format::parse_str(text).map_err(|e| LoadError::Parse {
            file: file.to_string(),
            line: e.row.max(1),
            message: format!("{:?}", e.error),
        })?;
        return match whole {
            Edn::Vector(items) | Edn::List(items) => {
                Ok(items.into_iter().map(|v| (1, v)).collect())
            }
            _ => Err(LoadError::Parse {
                file: file.to_string(),
                line: 1,
                message: "expected a vector of events".into(),
            }),
        };
    }
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_text = line.trim();
        if line_text.is_empty() || line_text.starts_with(';') {
            continue;
        }
        let value = edn_format::parse_str(line_text).map_err(|e| LoadError::Parse {
            file: file.to_string(),
            line: index + 1,
            message: format!("not an EDN map: {:?}", e.error),
        })?;
        if !matches!(value, Edn::Map(_)) {
            return Err(LoadError::Parse {
                file: file.to_string(),
                line: index + 1,
                message: "expected an EDN map".into(),
            });
        }
        events.push((index + 1, value));
    }
    Ok(events)
}

fn convert(
    process: i64,
    call: usize,
    ret: usize,
    invoke: &Edn,
    done: &Edn,
    outcome: Outcome,
    workload: Workload,
) -> Result<Option<Operation>, String> {
    let f = keyword(invoke, "f").ok_or("operation has no :f keyword")?;
    let (key, invoked, returned) = match (workload, get(invoke, "key")) {
        // Keyed maps (`:key "k", :value v`), as porcupine's key-value histories are written.
        (Workload::KeyValue, Some(key)) => (
            Some(text_of(key)),
            to_json(get(invoke, "value").unwrap_or(&Edn::Nil)),
            to_json(get(done, "value").unwrap_or(&Edn::Nil)),
        ),
        _ => {
            let (key, invoked) = split(get(invoke, "value"), workload)?;
            let (_, returned) = split(get(done, "value"), workload)?;
            (key, invoked, returned)
        }
    };
    let client = u64::try_from(process).map_err(|_| format!("negative :process {process}"))?;
    let ret = (outcome != Outcome::Info).then_some(ret as f64);
    let name = |register: &str, kv: &str| {
        if workload == Workload::Register { register } else { kv }.to_string()
    };
    let (f, input, output) = match (f.as_str(), outcome) {
        ("cas", Outcome::Fail) => ("cas".to_string(), invoked, Value::Bool(false)),
        (_, Outcome::Fail) => return Ok(None),
        ("cas", _) => ("cas".to_string(), invoked, Value::Bool(true)),
        ("read", _) => (name("read", "get"), Value::Null, returned),
        ("write", _) => (name("write", "put"), invoked, Value::Null),
        ("append", _) => ("append".to_string(), invoked, Value::Null),
        (other, _) => (other.to_string(), invoked, returned),
    };
    let output = if ret.is_none() { Value::Null } else { output };
    Ok(Some(Operation { client, call: call as f64, ret, f, key, input, output }))
}

/// Splits `[k v]` for the key-value workload.
fn split(value: Option<&Edn>, workload: Workload) -> Result<(Option<String>, Value), String> {
    let value = value.unwrap_or(&Edn::Nil);
    match workload {
        Workload::Register => Ok((None, to_json(value))),
        Workload::KeyValue => match value {
            Edn::Vector(pair) | Edn::List(pair) if pair.len() == 2 => {
                Ok((Some(text_of(&pair[0])), to_json(&pair[1])))
            }
            _ => Err(format!("key-value workload expects :value [key value], got {value}")),
        },
    }
}

/// A key as text: strings and keywords as themselves, anything else as JSON.
fn text_of(value: &Edn) -> String {
    match to_json(value) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn get<'a>(event: &'a Edn, name: &str) -> Option<&'a Edn> {
    match event {
        Edn::Map(map) => map.get(&Edn::Keyword(Keyword::from_name(name))),
        _ => None,
    }
}

fn keyword(event: &Edn, name: &str) -> Option<String> {
    match get(event, name)? {
        Edn::Keyword(k) => Some(k.name().to_string()),
        _ => None,
    }
}

/// Converts EDN data to JSON: keywords and symbols become strings.
pub fn to_json(value: &Edn) -> Value {
    match value {
        Edn::Nil => Value::Null,
        Edn::Boolean(b) => Value::Bool(*b),
        Edn::Integer(i) => Value::from(*i),
        Edn::Float(f) => {
            serde_json::Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
        }
        Edn::String(s) => Value::String(s.clone()),
        Edn::Character(c) => Value::String(c.to_string()),
        Edn::Keyword(k) => Value::String(k.name().to_string()),
        Edn::Symbol(s) => Value::String(s.name().to_string()),
        Edn::Vector(items) | Edn::List(items) => Value::Array(items.iter().map(to_json).collect()),
        Edn::Set(items) => Value::Array(items.iter().map(to_json).collect()),
        Edn::Map(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        other => Value::String(other.to_string()),
    }
}
