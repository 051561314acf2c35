//! Bank: transfers between accounts are atomic, and the total never changes.
//!
//! Input: the initial balances and a [`History`] of two operations (no `key`):
//!
//! | `f` | `input` | `output` |
//! |---|---|---|
//! | `transfer` | `{"from": "a", "to": "b", "amount": 10, "guarded": true}` | `true` applied, `false` refused (no effect) |
//! | `read` | (ignored) | `{"a": 90, "b": 110, ...}`: every account's balance, read atomically |
//!
//! Checks: every completed read sums to the initial total (rule `sum`), and reads and transfers
//! are linearizable against [`BankModel`] (rule `linearizable`), which is what "every transfer
//! applies fully or not at all" means to an observer: a half-applied transfer shows as a read no
//! order of whole transfers explains. Finding records are operation indices.
//!
//! A transfer of unknown outcome may say when it can have taken effect at the earliest:
//! output `{"applies_after": t}` (an STM transaction whose last attempt's reads returned at `t`
//! commits after `t`; its earlier attempts certainly failed). The search then treats `t` as its
//! call ([`Model::takes_effect_after`]).
//!
//! `guarded` (optional, default false) says the transfer commits only if neither account was
//! written since the client read both (a compare on both mod revisions, as the `bank` scenario
//! does), and that it read them before the call; or, for a transfer of unknown outcome whose
//! output is `{"read_by": t}`, by time `t` (an STM transaction reads after its call). Then a
//! transfer of unknown outcome cannot take effect after any applied transfer called after those
//! reads that writes one of its accounts: that write made the guard false for good. The checker tells the search so ([`Model::closers`]); without
//! it, every transfer that timed out and never took effect stays a candidate to the end of the
//! history, and an hour of simulated faults cannot be searched.

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
    Transfer {
        from: String,
        to: String,
        amount: i64,
        applied: Option<bool>,
        /// For a guarded transfer, the time by which it had read both accounts.
        guard_read_by: Option<f64>,
        /// For a transfer of unknown outcome, the time its last attempt's reads returned: it
        /// committed, if at all, after that.
        applies_after: Option<f64>,
    },
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
                let guarded = match op.input.get("guarded") {
                    None => false,
                    Some(Value::Bool(guarded)) => *guarded,
                    Some(other) => {
                        return Err(format!("guarded must be true or false, got {other}"))
                    }
                };
                let read_by = match op.output.get("read_by") {
                    Some(time) if op.is_unknown() => {
                        Some(time.as_f64().ok_or(format!("read_by must be a time, got {time}"))?)
                    }
                    _ => None,
                };
                let applies_after = match op.output.get("applies_after") {
                    Some(time) if op.is_unknown() => Some(
                        time.as_f64().ok_or(format!("applies_after must be a time, got {time}"))?,
                    ),
                    _ => None,
                };
                let guard_read_by = guarded.then(|| read_by.unwrap_or(op.call).max(op.call));
                Ok(BankOp::Transfer { from, to, amount, applied, guard_read_by, applies_after })
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

    fn takes_effect_after(&self, op: &BankOp) -> Option<f64> {
        match op {
            BankOp::Transfer { applies_after, .. } => *applies_after,
            BankOp::Read(_) => None,
        }
    }

    /// Each guarded transfer of unknown outcome is closed by the applied transfers called after
    /// its reads that write one of its accounts; the first few to return are enough to end its
    /// candidacy soon, and fewer pairs only leave the search more to try.
    fn closers(&self, history: &History, decoded: &[BankOp]) -> Vec<(usize, usize)> {
        const CLOSERS_PER_TRANSFER: usize = 3;
        let mut applied: Vec<(usize, &str, &str)> = decoded
            .iter()
            .enumerate()
            .filter_map(|(i, op)| match op {
                BankOp::Transfer { from, to, applied: Some(true), .. } => Some((i, &**from, &**to)),
                _ => None,
            })
            .collect();
        applied.sort_by(|a, b| {
            let ret = |i: usize| history.ops[i].ret.unwrap_or(f64::INFINITY);
            ret(a.0).total_cmp(&ret(b.0)).then(a.0.cmp(&b.0))
        });
        let mut pairs = Vec::new();
        for (unknown, op) in decoded.iter().enumerate() {
            let BankOp::Transfer { from, to, applied: None, guard_read_by: Some(read), .. } = op
            else {
                continue;
            };
            let read_by = *read;
            let writes_its_accounts =
                |a: &str, b: &str| [a, b].iter().any(|k| k == from || k == to);
            // Whatever was called after the reads returned after them too.
            let start = applied
                .partition_point(|&(i, _, _)| history.ops[i].ret.is_some_and(|ret| ret <= read_by));
            pairs.extend(
                applied[start..]
                    .iter()
                    .filter(|&&(i, a, b)| {
                        history.ops[i].call > read_by && writes_its_accounts(a, b)
                    })
                    .take(CLOSERS_PER_TRANSFER)
                    .map(|&(closer, _, _)| (unknown, closer)),
            );
        }
        pairs
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
