//! Bank: transfers between accounts are atomic, and the total never changes.
//!
//! Input: the initial balances and a [`History`] of two operations (no `key`):
//!
//! | `f` | `input` | `output` |
//! |---|---|---|
//! | `transfer` | `{"from": "a", "to": "b", "amount": 10}` | `true` applied, `false` refused (no effect) |
//! | `read` | (ignored) | `{"a": 90, "b": 110, ...}`: every account's balance, read atomically |
//!
//! Checks: every completed read sums to the initial total (rule `sum`), and reads and transfers
//! are linearizable against [`BankModel`] (rule `linearizable`), which is what "every transfer
//! applies fully or not at all" means to an observer: a half-applied transfer shows as a read no
//! order of whole transfers explains. Finding records are operation indices.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::history::{History, Operation};
use crate::linearizability::{self, Model, Next, Options, Verdict};
use crate::verdict::{finding, Finding, SafetyVerdict};

/// The bank as a sequential specification.
#[derive(Clone, Debug)]
pub struct BankModel {
    pub initial: BTreeMap<String, i64>,
}

#[derive(Debug)]
pub enum BankOp {
    Transfer { from: String, to: String, amount: i64, applied: Option<bool> },
    Read(Option<BTreeMap<String, i64>>),
}

impl Model for BankModel {
    type State = BTreeMap<String, i64>;
    type Op = BankOp;

    fn name(&self) -> &'static str {
        "bank"
    }

    fn decode(&self, op: &Operation) -> Result<BankOp, String> {
        match op.f.as_str() {
            "transfer" => {
                let text =
                    |name: &str| op.input.get(name).and_then(Value::as_str).map(str::to_string);
                let amount = op.input.get("amount").and_then(Value::as_i64);
                let (Some(from), Some(to), Some(amount)) = (text("from"), text("to"), amount)
                else {
                    return Err(format!(
                        "transfer input must be {{from, to, amount}}, got {}",
                        op.input
                    ));
                };
                let applied = if op.is_unknown() { None } else { op.output.as_bool() };
                Ok(BankOp::Transfer { from, to, amount, applied })
            }
            "read" if op.is_unknown() => Ok(BankOp::Read(None)),
            "read" => balances(&op.output).map(|b| BankOp::Read(Some(b))),
            other => Err(format!("bank has no operation {other:?} (transfer, read)")),
        }
    }

    fn init(&self) -> Self::State {
        self.initial.clone()
    }

    fn step(&self, state: &Self::State, op: &BankOp) -> Next<Self::State> {
        match op {
            BankOp::Read(None) => Next::Same,
            BankOp::Read(Some(seen)) => Next::same_if(seen == state),
            BankOp::Transfer { applied: Some(false), .. } => Next::Same,
            BankOp::Transfer { from, to, amount, .. } => {
                let mut next = state.clone();
                *next.entry(from.clone()).or_default() -= amount;
                *next.entry(to.clone()).or_default() += amount;
                Next::To(next)
            }
        }
    }

    fn is_read_only(&self, op: &BankOp) -> bool {
        matches!(op, BankOp::Read(_))
    }
}

fn balances(output: &Value) -> Result<BTreeMap<String, i64>, String> {
    let Some(object) = output.as_object() else {
        return Err(format!("read output must be {{account: balance}}, got {output}"));
    };
    object
        .iter()
        .map(|(k, v)| {
            v.as_i64().map(|b| (k.clone(), b)).ok_or(format!("balance of {k} is not an integer"))
        })
        .collect()
}

/// The rule of the finding that says the linearizability search ran out of budget: no violation
/// was found, none was ruled out.
pub const UNKNOWN: &str = "linearizable_unknown";

/// Checks a bank history.
pub fn check(
    initial: &BTreeMap<String, i64>,
    history: &History,
    options: Options,
) -> Result<SafetyVerdict, String> {
    let total: i64 = initial.values().sum();
    let mut findings: Vec<Finding> = Vec::new();
    for (index, op) in history.ops.iter().enumerate() {
        if op.f != "read" || op.is_unknown() {
            continue;
        }
        let sum: i64 = balances(&op.output)?.values().sum();
        if sum != total {
            findings.push(finding(
                "sum",
                vec![index],
                format!(
                    "client {} read balances summing to {sum} at t={} but the total is always {total}",
                    op.client,
                    op.ret.unwrap_or(op.call)
                ),
            ));
        }
    }
    let model = BankModel { initial: initial.clone() };
    match linearizability::check(&model, history, options).map_err(|e| e.to_string())? {
        Verdict::Linearizable => {}
        Verdict::Unknown => findings.push(finding(
            UNKNOWN,
            vec![],
            "linearizability check ran out of budget".into(),
        )),
        Verdict::NotLinearizable(v) => {
            let stuck = &history.ops[v.stuck];
            let last = v.longest.last().map(|s| format!(" after #{}", s.op)).unwrap_or_default();
            let message = format!(
                "client {} {} at t={} but every linearization{last} requires balances {}",
                stuck.client,
                if stuck.f == "read" { format!("read {}", stuck.output) } else { stuck.describe() },
                stuck.ret.unwrap_or(stuck.call),
                v.state,
            );
            findings.push(finding("linearizable", v.window.clone(), message));
        }
    }
    Ok(SafetyVerdict::from_findings(findings))
}
