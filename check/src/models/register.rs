//! `register`: one read/write/compare-and-set register, initially `null`.
//!
//! | `f` | `input` | `output` |
//! |---|---|---|
//! | `read` | (ignored) | the value read |
//! | `write` | the value | (ignored) |
//! | `cas` | `[expected, new]` | `true` if it swapped, `false` if the compare failed |
//!
//! Values are any JSON, compared by their canonical text. The register is one object: it does
//! not partition (use `kv` for many registers).
//!
//! ```text
//! {"client":0,"call":0,"return":1,"f":"write","input":1}
//! {"client":1,"call":2,"return":3,"f":"cas","input":[1,2],"output":true}
//! {"client":0,"call":4,"return":5,"f":"read","output":2}
//! ```

use serde_json::Value;

use crate::history::Operation;
use crate::linearizability::{Model, Next};

/// The register model.
#[derive(Clone, Copy, Debug, Default)]
pub struct Register;

/// A decoded register operation; `None` outputs are unknown outcomes.
#[derive(Debug)]
pub enum RegisterOp {
    Read(Option<String>),
    Write(String),
    Cas { expected: String, new: String, swapped: Option<bool> },
}

/// The canonical text of a JSON value (object keys are sorted by serde_json's map).
pub fn canonical(value: &Value) -> String {
    value.to_string()
}

/// Decodes `[expected, new]`.
pub fn cas_pair(input: &Value) -> Result<(String, String), String> {
    match input {
        Value::Array(pair) if pair.len() == 2 => Ok((canonical(&pair[0]), canonical(&pair[1]))),
        _ => Err(format!("cas input must be [expected, new], got {input}")),
    }
}

/// Decodes a cas outcome.
pub fn cas_outcome(op: &Operation) -> Result<Option<bool>, String> {
    if op.is_unknown() {
        return Ok(None);
    }
    match &op.output {
        Value::Bool(b) => Ok(Some(*b)),
        other => Err(format!("cas output must be true or false, got {other}")),
    }
}

impl Model for Register {
    type State = String;
    type Op = RegisterOp;

    fn name(&self) -> &'static str {
        "register"
    }

    fn decode(&self, op: &Operation) -> Result<RegisterOp, String> {
        match op.f.as_str() {
            "read" => Ok(RegisterOp::Read((!op.is_unknown()).then(|| canonical(&op.output)))),
            "write" => Ok(RegisterOp::Write(canonical(&op.input))),
            "cas" => {
                let (expected, new) = cas_pair(&op.input)?;
                Ok(RegisterOp::Cas { expected, new, swapped: cas_outcome(op)? })
            }
            other => Err(format!("register has no operation {other:?} (read, write, cas)")),
        }
    }

    fn init(&self) -> String {
        "null".to_string()
    }

    fn step(&self, state: &String, op: &RegisterOp) -> Next<String> {
        match op {
            RegisterOp::Read(None) => Next::Same,
            RegisterOp::Read(Some(value)) => Next::same_if(value == state),
            RegisterOp::Write(value) => Next::To(value.clone()),
            RegisterOp::Cas { expected, new, swapped } => {
                let matches = expected == state;
                match swapped {
                    Some(swapped) if *swapped != matches => Next::Illegal,
                    _ if matches => Next::To(new.clone()),
                    _ => Next::Same,
                }
            }
        }
    }

    fn is_read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    fn effect_name(&self, op: &RegisterOp) -> Option<String> {
        // Values are canonical JSON texts, so a write's name and a compare's cannot collide.
        match op {
            RegisterOp::Read(_) => None,
            RegisterOp::Write(value) => Some(format!("write {value}")),
            RegisterOp::Cas { expected, new, .. } => Some(format!("cas {expected} {new}")),
        }
    }

    fn overwrites(&self, later: &RegisterOp, _earlier: &RegisterOp) -> bool {
        matches!(later, RegisterOp::Write(_))
    }

    fn describe_state(&self, state: &String) -> String {
        state.clone()
    }
}
