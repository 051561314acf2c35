//! What a sequential specification looks like to the linearizability checker.
//!
//! A model decodes each recorded [`Operation`] into its own typed form once, then the search asks
//! it, again and again, whether that operation (with the outcome the client saw) can happen in a
//! given state, and what the state is afterwards. States are values (`Clone + Eq + Hash`) so the
//! search can memoise `(linearised set, state)` pairs it has already explored.
//!
//! Invariants a model must keep:
//! - `step` is a pure function of its arguments (the search calls it in any order, many times).
//! - For an operation with an unknown outcome, `step` must accept it (it returns `Some`): the
//!   operation's effect is applied as the state dictates. The search never needs to linearise
//!   such an operation, which covers "it never took effect".
//! - A pair from [`Model::closers`] must be a guarantee of the system under test, not a guess:
//!   it forbids orders, so a wrong pair can make a correct history fail (a missing pair never
//!   does, it only leaves the search more to try).

use std::fmt::Debug;
use std::hash::Hash;

use crate::history::{History, Operation};

/// A sequential specification the linearizability search checks a history against.
pub trait Model: Sync {
    /// The state of the specified object; hashed and compared to memoise the search.
    type State: Clone + Eq + Hash + Debug + Send;
    /// One operation with its outcome, decoded from an [`Operation`].
    type Op: Debug + Send + Sync;

    /// The model's name, as given on the command line.
    fn name(&self) -> &'static str;

    /// Decodes one operation, or says plainly what is wrong with it.
    fn decode(&self, op: &Operation) -> Result<Self::Op, String>;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// What `op`, with its recorded outcome, does in `state`.
    fn step(&self, state: &Self::State, op: &Self::Op) -> Next<Self::State>;

    /// True when the operation never changes the state: such operations with an unknown
    /// outcome constrain nothing and are dropped before the search.
    fn is_read_only(&self, op: &Self::Op) -> bool;

    /// Pairs `(unknown, closer)` of history indices: the operation `unknown`, whose outcome is
    /// unknown, cannot take effect after `closer` has. A compare-and-swap whose guard a later
    /// write made false for good is the typical case. Without such facts an unknown operation
    /// that never took effect stays a candidate to the end of the history, and every subset of
    /// those piles up in the search; each pair ends one's candidacy. The default knows none.
    fn closers(&self, _history: &History, _decoded: &[Self::Op]) -> Vec<(usize, usize)> {
        Vec::new()
    }

    /// A name for what `op` does when its outcome is unknown, shared by exactly the operations
    /// whose step is the same function of the state (a write of one value, a compare-and-swap
    /// of one pair). The search treats unknown operations of one name as interchangeable and
    /// linearizes them only in call order, which prunes the subsets of them that differ only in
    /// which one took effect (see [`super::search`]). A name shared by operations that differ
    /// in effect would make the search miss orders; `None` (the default) opts out.
    fn effect_name(&self, _op: &Self::Op) -> Option<String> {
        None
    }

    /// True when `later`, applied right after `earlier`, leaves the same state as applied
    /// without it, whatever the state before: a write over anything on its register. The search
    /// then never linearises an unknown-outcome `later` right after an unknown-outcome
    /// `earlier` (leaving `earlier` out does as well, with less). A wrong `true` would make the
    /// search miss orders; the default says `false`.
    fn overwrites(&self, _later: &Self::Op, _earlier: &Self::Op) -> bool {
        false
    }

    /// The earliest time `op` can have taken effect, when its recorded outcome knows more than
    /// its call: a transaction of unknown outcome whose last attempt finished its reads at `t`
    /// committed, if at all, after `t`. The search treats `t` as the operation's call, so what
    /// returned before `t` precedes it. A time later than the real earliest effect would make
    /// the search miss orders; the default (`None`) is the call.
    fn takes_effect_after(&self, _op: &Self::Op) -> Option<f64> {
        None
    }

    /// For each of `ops` (one partition's operations, each with whether its outcome is
    /// known), whether it is an unknown-outcome operation that no linearization needs: one
    /// whose effect no known outcome of the partition can have observed, so that leaving it
    /// out of any linearization leaves a valid one. Such operations are dropped before the
    /// search, as read-only ones are. A wrong `true` would make a correct history fail; the
    /// default says `false` for all.
    fn unobserved(&self, ops: &[(&Self::Op, bool)]) -> Vec<bool> {
        vec![false; ops.len()]
    }

    /// Outgrown operations, for pruning (see [`super::search`]): for each of `ops` (one
    /// partition's operations, in order), `Some(revivers)` when the operation can be
    /// *outgrown*, else `None`. Once [`Model::outgrown`] holds for an operation in a state, it
    /// must hold in every state reached from there by steps of operations other than its
    /// revivers (positions in `ops`); a read of an append-only value is the typical case: once
    /// the value is no longer a prefix of what was read, only a write of such a prefix makes it
    /// one again. A missing reviver would make the search miss orders. The default (an empty
    /// list) opts out.
    fn revivers(&self, _ops: &[&Self::Op]) -> Vec<Option<Vec<usize>>> {
        Vec::new()
    }

    /// Whether `op`, which has a known outcome, is outgrown in `state`: it is illegal here and
    /// stays so until one of its revivers ([`Model::revivers`]) is applied. A `true` in doubt
    /// would make the search miss orders; `false` in doubt only leaves it more to try.
    fn outgrown(&self, _state: &Self::State, _op: &Self::Op) -> bool {
        false
    }

    /// Splits the history into independent parts (P-compositionality): the whole history is
    /// linearizable iff every part is. Returns operation indices per part, with a label for
    /// each part. The default is one part.
    fn partition(&self, history: &History) -> Vec<(Option<String>, Vec<usize>)> {
        vec![(None, (0..history.ops.len()).collect())]
    }

    /// A short description of a state for explanations.
    fn describe_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// The result of one model step. `Same` spares the search a clone for operations that leave the
/// state as it is (reads, failed compares), which are most of a typical history.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<S> {
    /// The operation, with its recorded outcome, cannot happen in this state.
    Illegal,
    /// It can, and leaves the state unchanged.
    Same,
    /// It can, and this is the new state.
    To(S),
}

impl<S> Next<S> {
    /// `Same` when `legal`, else `Illegal`.
    pub fn same_if(legal: bool) -> Next<S> {
        if legal {
            Next::Same
        } else {
            Next::Illegal
        }
    }

    /// The state after the step, given the state before (`None` when illegal).
    pub fn resolve(self, before: &S) -> Option<S>
    where
        S: Clone,
    {
        match self {
            Next::Illegal => None,
            Next::Same => Some(before.clone()),
            Next::To(state) => Some(state),
        }
    }
}

/// Partitions by the operations' `key` field; used by models whose keys are independent.
pub fn partition_by_key(history: &History) -> Vec<(Option<String>, Vec<usize>)> {
    let mut parts: std::collections::BTreeMap<Option<String>, Vec<usize>> = Default::default();
    for (index, op) in history.ops.iter().enumerate() {
        parts.entry(op.key.clone()).or_default().push(index);
    }
    parts.into_iter().collect()
}
