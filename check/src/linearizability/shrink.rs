//! Shrinking a violation to the shortest prefix of the history that is already not
//! linearizable, so the explanation points at the first completion that no order can explain.
//!
//! The prefix up to time `T` holds every operation called by `T`; those that returned after `T`
//! get an unknown outcome (at `T` nobody knew it yet). If a history is linearizable, so is each of
//! its prefixes: its completed operations precede every operation called after `T`, and pending
//! ones may be dropped. So "prefix up to the k-th completion is not linearizable" is monotone in
//! k, and a binary search over completions finds the first one that breaks it.
//!
//! The search of the whole history already proves some prefixes linearizable: a partial
//! linearization it reached that holds every operation returned before `t` is one of each
//! prefix cut before `t`, once the operations called after the cut are dropped (they follow
//! every completion of the prefix in it) and the rest are truncated after the last completion.
//! The first completion at or after `t` is usually the one that breaks it, so it is tried first:
//! then one search of a prefix suffices, where a plain binary search refutes several.

use std::sync::atomic::AtomicBool;

use serde_json::Value;

use super::model::Model;
use super::search::{self, Budget, Entry, SearchResult};
use super::ClosedBy;
use crate::history::History;

/// The shortest failing prefix: it ends with `stuck`'s return.
pub struct Shrunk<S> {
    /// The operation whose completion makes the prefix non-linearizable.
    pub stuck: usize,
    /// The operations of the prefix.
    pub prefix: Vec<usize>,
    /// The longest partial linearization of the prefix (history indices) and the state after it.
    pub longest: Vec<usize>,
    pub state: S,
}

/// Finds the shortest failing prefix of partition `ops`, or `None` when the budget runs out
/// (the caller then explains with the whole partition's search). `reached` is what the search of
/// the whole partition proved (see the module doc); `budget.max_steps` bounds all the searches
/// together.
#[allow(clippy::too_many_arguments)]
pub fn shortest_failing_prefix<M: Model>(
    model: &M,
    history: &History,
    decoded: &[M::Op],
    closed_by: &ClosedBy,
    ops: &[usize],
    reached: Option<f64>,
    budget: Budget,
    cancel: &AtomicBool,
) -> Option<Shrunk<M::State>> {
    let mut completions: Vec<usize> =
        ops.iter().copied().filter(|&i| history.ops[i].ret.is_some()).collect();
    completions.sort_by(|&a, &b| {
        history.ops[a].ret.unwrap_or(0.0).total_cmp(&history.ops[b].ret.unwrap_or(0.0))
    });
    let ret = |i: usize| history.ops[i].ret.unwrap_or(0.0);
    let mut high = completions.len().checked_sub(1)?;
    let mut low = reached.map_or(0, |t| completions.partition_point(|&i| ret(i) < t)).min(high);
    let mut spent = 0u64;
    // The refutation of the prefix ending at `completions[high]`, once one was searched.
    let mut refuted = None;
    let mut first = true;
    while low < high {
        // The lowest candidate first (see the module doc), then halves.
        let middle = if std::mem::take(&mut first) { low } else { (low + high) / 2 };
        let left =
            Budget { max_steps: budget.max_steps.map(|m| m.saturating_sub(spent)), ..budget };
        match attempt(
            model,
            history,
            decoded,
            closed_by,
            ops,
            completions[middle],
            left,
            cancel,
            &mut spent,
        )? {
            (result @ SearchResult::NotLinearizable { .. }, prefix) => {
                high = middle;
                refuted = Some((result, prefix));
            }
            (SearchResult::Linearizable, _) => low = middle + 1,
            (SearchResult::Unknown, _) => return None,
        }
    }
    let stuck = completions[high];
    let left = Budget { max_steps: budget.max_steps.map(|m| m.saturating_sub(spent)), ..budget };
    let result = match refuted {
        Some(result) => result,
        None => attempt(model, history, decoded, closed_by, ops, stuck, left, cancel, &mut spent)?,
    };
    match result {
        (SearchResult::NotLinearizable { longest, state, .. }, prefix) => {
            let longest = longest.into_iter().map(|local| prefix[local]).collect();
            Some(Shrunk { stuck, prefix, longest, state })
        }
        _ => None,
    }
}

/// Searches the prefix up to `last`'s return; returns the result and the prefix's operations.
#[allow(clippy::too_many_arguments)]
fn attempt<M: Model>(
    model: &M,
    history: &History,
    decoded: &[M::Op],
    closed_by: &ClosedBy,
    ops: &[usize],
    last: usize,
    budget: Budget,
    cancel: &AtomicBool,
    spent: &mut u64,
) -> Option<(SearchResult<M::State>, Vec<usize>)> {
    if budget.max_steps == Some(0) {
        return None;
    }
    let cut = history.ops[last].ret?;
    let prefix: Vec<usize> = ops.iter().copied().filter(|&i| history.ops[i].call <= cut).collect();
    let late = |i: usize| history.ops[i].ret.is_some_and(|r| r > cut);
    // Operations still running at the cut: same request, outcome unknown.
    let mut pending = Vec::new();
    for &i in prefix.iter().filter(|&&i| late(i)) {
        let mut op = history.ops[i].clone();
        op.ret = None;
        op.output = Value::Null;
        pending.push(model.decode(&op).ok()?);
    }
    let mut pending_ops = pending.iter();
    let mut entries = Vec::with_capacity(prefix.len());
    // A closer still running at the cut keeps closing: if it took effect, what it closes
    // could not follow it.
    for (&i, closed_by) in prefix.iter().zip(closed_by.within(&prefix)) {
        let call = history.ops[i].call;
        let entry = if late(i) {
            Entry { op: pending_ops.next()?, call, ret: None, closed_by }
        } else {
            let call = super::effective_call(model, &decoded[i], call);
            Entry { op: &decoded[i], call, ret: history.ops[i].ret, closed_by }
        };
        entries.push(entry);
    }
    Some((search::search_counting(model, &entries, budget, cancel, spent), prefix))
}
