//! Linearizability checking: is there one total order of the operations, consistent with their
//! real-time order, in which a sequential model explains every outcome?
//!
//! [`check`] decodes the history with a [`Model`], drops unknown-outcome operations that cannot
//! change the state or whose effect nothing observed ([`Model::unobserved`]), splits the rest into independent partitions when the model allows
//! (P-compositionality), and runs the [`search`] on each, optionally on OS threads. The verdict is
//! one of linearizable, not linearizable (with a [`Violation`] explaining it) or unknown (the
//! [`Budget`] ran out). A violation is [`shrink`]ed to the shortest failing prefix of its
//! partition, so it blames the first completion no order can explain.
//!
//! `Options::parallel` runs partitions on OS threads (std::thread::scope), and only for
//! histories of at least [`PARALLEL_MIN_OPS`] operations and partitions still open after a
//! first round of small step budgets on the calling thread; with it off (as inside a madsim
//! simulation, which refuses threads) everything runs on the calling thread. Inside a
//! simulation prefer `Budget::max_steps` to a deadline (virtual time does not move while the
//! checker runs).

pub mod bitset;
mod longest;
pub mod model;
pub mod search;
pub mod shrink;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

pub use model::{partition_by_key, Model, Next};
pub use search::Budget;
use search::{Entry, SearchResult};

use crate::history::History;

/// Below this many operations a history is checked on the calling thread even when `parallel`.
pub const PARALLEL_MIN_OPS: usize = 1000;

/// How to run a check.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub budget: Budget,
    /// Check partitions on OS threads. Must be off inside a simulation (madsim refuses threads):
    /// then every partition is checked on the calling thread.
    pub parallel: bool,
}

/// The verdict on a history.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Linearizable,
    NotLinearizable(Box<Violation>),
    Unknown,
}

/// Why a history is not linearizable, in data a report can draw. Operation numbers are indices
/// into the history's `ops`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// The partition (key) that failed, if the model partitions.
    pub partition: Option<String>,
    /// The longest partial linearization of the shortest failing prefix: operations in order,
    /// with the state after each.
    pub longest: Vec<Step>,
    /// The model state at the end of the longest partial linearization.
    pub state: String,
    /// The operation whose completion makes the history non-linearizable: the shortest prefix
    /// of the history that cannot be linearized ends with its return (see [`shrink`]).
    pub stuck: usize,
    /// The smallest window that cannot be linearised: the stuck operation and every operation
    /// of that prefix, not in the longest partial linearization, that overlaps it in time.
    pub window: Vec<usize>,
    /// A plain-language explanation.
    pub message: String,
}

/// One operation of a partial linearization and the state after it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    pub op: usize,
    pub state: String,
}

/// Why a history could not be checked at all.
#[derive(Debug, thiserror::Error)]
#[error("operation #{index} ({description}): {message}")]
pub struct DecodeError {
    pub index: usize,
    pub description: String,
    pub message: String,
}

/// Checks `history` against `model`.
pub fn check<M: Model>(
    model: &M,
    history: &History,
    options: Options,
) -> Result<Verdict, DecodeError> {
    let mut decoded = Vec::with_capacity(history.ops.len());
    for (index, op) in history.ops.iter().enumerate() {
        let typed = model.decode(op).map_err(|message| DecodeError {
            index,
            description: op.describe(),
            message,
        })?;
        decoded.push(typed);
    }
    let parts: Vec<(Option<String>, Vec<usize>)> = model
        .partition(history)
        .into_iter()
        .map(|(label, ops)| {
            let known: Vec<(&M::Op, bool)> =
                ops.iter().map(|&i| (&decoded[i], !history.ops[i].is_unknown())).collect();
            let unobserved = model.unobserved(&known);
            let relevant = ops
                .into_iter()
                .zip(known)
                .enumerate()
                .filter(|&(position, (_, (op, known)))| {
                    known || !(model.is_read_only(op) || unobserved.get(position) == Some(&true))
                })
                .map(|(_, (i, _))| i)
                .collect();
            (label, relevant)
        })
        .collect();
    let closed_by = closed_by(model, history, &decoded);
    let cancel = AtomicBool::new(false);
    let run = |part: &(Option<String>, Vec<usize>), budget: Budget| -> Verdict {
        check_part(model, history, &decoded, &closed_by, part, budget, &cancel)
    };
    // Threads pay off only when there is enough work to share.
    let worth_threads = parts.len() > 1 && history.ops.len() >= PARALLEL_MIN_OPS;
    let verdicts: Vec<Verdict> = if options.parallel && worth_threads {
        // Most partitions are decided within the serial path's first round: threads (and the
        // memory their allocator heaps take) pay off only for the ones left open after it.
        let limit =
            options.budget.max_steps.map_or(SERIAL_FIRST_STEPS, |max| max.min(SERIAL_FIRST_STEPS));
        let final_round = options.budget.max_steps.is_some_and(|max| max <= SERIAL_FIRST_STEPS);
        let first = Budget { max_steps: Some(limit), ..options.budget };
        let mut verdicts = Vec::with_capacity(parts.len());
        let mut open = Vec::new();
        for part in &parts {
            match run(part, first) {
                Verdict::NotLinearizable(violation) => {
                    return Ok(Verdict::NotLinearizable(violation))
                }
                Verdict::Unknown
                    if !final_round
                        && options.budget.deadline.is_none_or(|d| Instant::now() < d) =>
                {
                    open.push(part.clone())
                }
                other => verdicts.push(other),
            }
        }
        verdicts.extend(run_parallel(&open, &|part| run(part, options.budget), &cancel));
        verdicts
    } else {
        run_serial(&parts, &run, options.budget)
    };
    Ok(combine(verdicts))
}

/// For each operation of a history, the operations after which it may not be linearised
/// ([`Model::closers`]), as history indices.
pub struct ClosedBy(Vec<Vec<usize>>);

fn closed_by<M: Model>(model: &M, history: &History, decoded: &[M::Op]) -> ClosedBy {
    let mut closed = vec![Vec::new(); history.ops.len()];
    for (unknown, closer) in model.closers(history, decoded) {
        if unknown < closed.len() && closer < closed.len() && unknown != closer {
            closed[unknown].push(closer);
        }
    }
    ClosedBy(closed)
}

impl ClosedBy {
    /// The closers of each of `ops`, as positions in `ops`; closers outside `ops` are left out
    /// (that only leaves the search more to try).
    pub fn within(&self, ops: &[usize]) -> Vec<Vec<usize>> {
        if ops.iter().all(|&i| self.0[i].is_empty()) {
            return vec![Vec::new(); ops.len()];
        }
        let position: std::collections::HashMap<usize, usize> =
            ops.iter().enumerate().map(|(local, &i)| (i, local)).collect();
        ops.iter()
            .map(|&i| self.0[i].iter().filter_map(|c| position.get(c).copied()).collect())
            .collect()
    }
}

/// The first step budget of the serial path's rounds.
const SERIAL_FIRST_STEPS: u64 = 20_000;

/// Checks partitions on this thread in rounds of growing step budgets (x4 each round): a
/// partition that is cheap to refute is found before an expensive one is finished, as the
/// parallel path finds it. Re-running costs at most a third more than one run with the final
/// budget. A partition still unknown under the caller's own budget is unknown.
fn run_serial<F>(parts: &[(Option<String>, Vec<usize>)], run: &F, budget: Budget) -> Vec<Verdict>
where
    F: Fn(&(Option<String>, Vec<usize>), Budget) -> Verdict,
{
    let mut verdicts: Vec<Option<Verdict>> = vec![None; parts.len()];
    let mut limit = SERIAL_FIRST_STEPS;
    loop {
        // A lone open partition has nothing to race: give it the caller's budget at once.
        let alone = verdicts.iter().filter(|v| v.is_none()).count() == 1;
        let capped = alone || budget.max_steps.is_some_and(|max| max <= limit);
        let round = if alone {
            budget
        } else {
            Budget {
                max_steps: Some(budget.max_steps.map_or(limit, |max| max.min(limit))),
                ..budget
            }
        };
        let mut open = false;
        for (part, verdict) in parts.iter().zip(verdicts.iter_mut()) {
            if verdict.is_some() {
                continue;
            }
            match run(part, round) {
                Verdict::Unknown
                    if !capped && budget.deadline.is_none_or(|d| Instant::now() < d) =>
                {
                    open = true
                }
                Verdict::NotLinearizable(violation) => {
                    return vec![Verdict::NotLinearizable(violation)]
                }
                other => *verdict = Some(other),
            }
        }
        if !open {
            return verdicts.into_iter().map(|v| v.unwrap_or(Verdict::Unknown)).collect();
        }
        limit = limit.saturating_mul(4);
    }
}

/// A violation anywhere wins; else unknown anywhere; else linearizable.
fn combine(verdicts: Vec<Verdict>) -> Verdict {
    let mut result = Verdict::Linearizable;
    for verdict in verdicts {
        match verdict {
            Verdict::NotLinearizable(_) => return verdict,
            Verdict::Unknown => result = Verdict::Unknown,
            Verdict::Linearizable => {}
        }
    }
    result
}

fn run_parallel<F>(
    parts: &[(Option<String>, Vec<usize>)],
    run: &F,
    cancel: &AtomicBool,
) -> Vec<Verdict>
where
    F: Fn(&(Option<String>, Vec<usize>)) -> Verdict + Sync,
{
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(parts.len());
    // Largest partitions first, so one big partition does not start last.
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(parts[i].1.len()));
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let slot = next.fetch_add(1, Ordering::Relaxed);
                let Some(&part) = order.get(slot) else { break };
                let verdict = run(&parts[part]);
                if matches!(verdict, Verdict::NotLinearizable(_)) {
                    cancel.store(true, Ordering::Relaxed);
                }
                if let Ok(mut results) = results.lock() {
                    results.push((part, verdict));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    // Report the first failing partition in partition order, whatever thread finished first.
    results.sort_by_key(|(part, _)| *part);
    results.into_iter().map(|(_, verdict)| verdict).collect()
}

/// When the search may linearise `op` from: its call, or later if the model knows it took
/// effect later ([`Model::takes_effect_after`]).
pub(crate) fn effective_call<M: Model>(model: &M, op: &M::Op, call: f64) -> f64 {
    model.takes_effect_after(op).map_or(call, |after| after.max(call))
}

fn check_part<M: Model>(
    model: &M,
    history: &History,
    decoded: &[M::Op],
    closed_by: &ClosedBy,
    (label, ops): &(Option<String>, Vec<usize>),
    budget: Budget,
    cancel: &AtomicBool,
) -> Verdict {
    let local = closed_by.within(ops);
    let entries: Vec<Entry<'_, M::Op>> = ops
        .iter()
        .zip(local)
        .map(|(&i, closed_by)| Entry {
            op: &decoded[i],
            call: effective_call(model, &decoded[i], history.ops[i].call),
            ret: history.ops[i].ret,
            closed_by,
        })
        .collect();
    match search::search(model, &entries, budget, cancel) {
        SearchResult::Linearizable => Verdict::Linearizable,
        SearchResult::Unknown => Verdict::Unknown,
        SearchResult::NotLinearizable { longest, state, reached } => {
            // Shrinking costs a few more searches; bound them so an explanation never hangs.
            // (Its own cap, not the search's: the serial path's early rounds are small.)
            let shrink_budget = Budget { max_steps: Some(SHRINK_MAX_STEPS), ..budget };
            let violation = match shrink::shortest_failing_prefix(
                model,
                history,
                decoded,
                closed_by,
                ops,
                reached,
                shrink_budget,
                cancel,
            ) {
                Some(shrunk) => explain(
                    model,
                    history,
                    decoded,
                    label,
                    &shrunk.prefix,
                    shrunk.longest,
                    shrunk.state,
                    Some(shrunk.stuck),
                ),
                None => {
                    let longest = longest.into_iter().map(|local| ops[local]).collect();
                    explain(model, history, decoded, label, ops, longest, state, None)
                }
            };
            Verdict::NotLinearizable(Box::new(violation))
        }
    }
}

/// The step budget of all the searches that shrink one violation together.
const SHRINK_MAX_STEPS: u64 = 1_000_000;

/// Builds the [`Violation`] from the longest partial linearization of `ops`; `stuck` is the
/// operation to blame when known (from shrinking), else the earliest completion left out.
#[allow(clippy::too_many_arguments)]
fn explain<M: Model>(
    model: &M,
    history: &History,
    decoded: &[M::Op],
    label: &Option<String>,
    ops: &[usize],
    longest: Vec<usize>,
    state: M::State,
    stuck: Option<usize>,
) -> Violation {
    let mut steps = Vec::with_capacity(longest.len());
    let mut replay = model.init();
    for &op in &longest {
        // Replaying the search's own choices; a refusal would be a model bug, shown as is.
        replay = model.step(&replay, &decoded[op]).resolve(&replay).unwrap_or(replay);
        steps.push(Step { op, state: model.describe_state(&replay) });
    }
    let done: std::collections::HashSet<usize> = longest.iter().copied().collect();
    let stuck = stuck.unwrap_or_else(|| {
        ops.iter()
            .copied()
            .filter(|i| !done.contains(i) && history.ops[*i].ret.is_some())
            .min_by(|a, b| {
                history.ops[*a].ret.unwrap_or(0.0).total_cmp(&history.ops[*b].ret.unwrap_or(0.0))
            })
            .unwrap_or(0)
    });
    let window: Vec<usize> = ops
        .iter()
        .copied()
        .filter(|i| {
            !done.contains(i) && (*i == stuck || history.ops[*i].overlaps(&history.ops[stuck]))
        })
        .collect();
    let state_text = model.describe_state(&state);
    let where_ = label.as_ref().map(|k| format!("key {k}: ")).unwrap_or_default();
    let message = format!(
        "{where_}the history up to the return of operation #{stuck} ({}) is already not linearizable: \
         after linearizing {} operation(s) the state is {state_text}, and #{stuck} cannot be \
         linearized in any order with the {} operation(s) concurrent with it",
        history.ops[stuck].describe(),
        steps.len(),
        window.len().saturating_sub(1),
    );
    Violation {
        partition: label.clone(),
        longest: steps,
        state: state_text,
        stuck,
        window,
        message,
    }
}
