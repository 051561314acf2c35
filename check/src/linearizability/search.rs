//! The Wing & Gong / Lowe search for a linearization of one partition.
//!
//! Events (calls and returns) are kept in time order in a doubly linked list. Walking it, a call
//! is a candidate to linearise next: if the model accepts it, the call and its return are
//! *lifted* out of the list and the walk restarts from the head. Reaching a return whose call was
//! not linearised means the current prefix is wrong: the last choice is undone (*unlifted*,
//! which restores the list in O(1)) and the walk goes on after it. Each (linearised set, state)
//! pair is explored at most once: a cache of them prunes the search (Lowe's memoisation). The
//! cache also owns every state reached, in an arena; the search refers to states by index.
//!
//! One pruning beyond Lowe's: a read with a known outcome (the model says it never changes the
//! state) that is legal after a prefix is taken at once, and if everything after it fails, the
//! prefix fails: any linearization extending the prefix could have taken the read right there.
//!
//! Ties in time order put calls before returns, so operations that touch at one instant count as
//! concurrent (the permissive reading). Operations with unknown outcome have no return event:
//! they may be linearised anywhere after their call, or never; the search succeeds once every
//! operation with a known outcome is linearised. An entry's `closed_by` names operations after
//! which it may no longer be linearised (see [`super::Model::closers`]): once one of them is in
//! the prefix, the entry is no candidate. The future of a prefix still depends only on its
//! (linearised set, state) pair, so the memo stays sound.
//!
//! Subsumption: leaving out an operation with unknown outcome never hurts. A pair (L, s) whose
//! search finished without success also dooms every (L', s) where L' adds only unknown-outcome
//! operations to L: a completion of (L', s) is one of (L, s) too, since those operations have
//! no return to reach (so they never block a candidate), are never required, and close nothing
//! that is not closed at L' already (closers only forbid). So the memo's entries are bucketed by
//! (known-outcome operations of the set, state), and a new pair is pruned by a finished entry of
//! its bucket whose set it contains and from which it differs only in unknown operations. Only
//! finished entries prune (those still on the search stack are not yet refuted): the earliest
//! wrongly refuted entry would have to be pruned by one refuted before it, itself wrongly.
//!
//! Redundant unknown operations: one whose step changes nothing, or one right before another
//! unknown one that overwrites its effect ([`super::Model::overwrites`]), can be left out of any
//! linearization, which stays valid with a smaller set. So the search never takes them: in any
//! linearization, dropping them repeatedly gives one the search does take. Since the second
//! rule depends on the last operation taken, each memo entry keeps its last operation when that
//! had an unknown outcome, and an entry subsumes another only if it was constrained no more:
//! it has no such last operation, or the same one.
//!
//! Symmetry: unknown-outcome operations with the same [`super::Model::effect_name`] (and no part
//! in any `closed_by`) are interchangeable, and are linearised only in call order: a member is
//! no candidate while the member called just before it is not linearised. Nothing is lost: in
//! any linearization that takes a later member B while an earlier one A is left out, A can take
//! B's place, since A is called no later than B (so it is a candidate wherever B is: neither
//! has a return or closers), its step is the same function of the state, and B is then left
//! out instead. Without this, k unknown writes of one value give 2^k linearised sets where k+1
//! are distinct, and a history with many timed-out writes of few values explodes.
//!
//! Outgrown operations: a step into a state in which one of the earliest pending completions
//! (the first [`LOOKAHEAD`] returns of the event list) is outgrown ([`super::Model::outgrown`])
//! while all its revivers are already linearised is not taken: that operation has a known
//! outcome, so every linearization must take it, and nothing left can make it legal again.
//! Reads of append-only values are where this matters: appends in a wrong order (or a
//! timed-out append that never took effect) are refuted at once, where the plain search
//! learns it only at the read's return, after trying every order of what lies in between.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::bitset::{fx_hash, zobrist, Bitset, IdentityHasher};
use super::longest::Longest;
use super::model::{Model, Next};

/// Limits on one search, so a pathological history yields "unknown" instead of running forever.
#[derive(Clone, Copy, Debug, Default)]
pub struct Budget {
    /// Give up after this many search steps (per partition).
    pub max_steps: Option<u64>,
    /// Give up at this instant.
    pub deadline: Option<Instant>,
}

/// One operation as the search sees it: decoded, with call and optional return time.
pub struct Entry<'a, O> {
    pub op: &'a O,
    pub call: f64,
    pub ret: Option<f64>,
    /// Entries (indices into the same slice) after whose linearization this one may not follow.
    pub closed_by: Vec<usize>,
}

/// The result of searching one partition.
#[derive(Debug)]
pub enum SearchResult<S> {
    Linearizable,
    /// No linearization exists; `longest` is the longest linearised prefix seen (local operation
    /// indices in order) and `state` the model's state after it.
    NotLinearizable {
        longest: Vec<usize>,
        state: S,
        /// The latest time `t` such that some partial linearization the search reached held
        /// every operation that returned before `t`; the prefixes of the history cut before `t`
        /// are therefore linearizable (see [`super::shrink`]). `None` when the first return
        /// was never passed.
        reached: Option<f64>,
    },
    /// The budget ran out (or another partition already failed).
    Unknown,
}

const HEAD: usize = 0;
const NIL: usize = usize::MAX;

/// The event list: node 0 is the head sentinel, nodes 1.. are events.
struct Events {
    next: Vec<usize>,
    prev: Vec<usize>,
    /// The operation of each node.
    op: Vec<usize>,
    /// For a call node, its return node (or NIL); for a return node, NIL.
    ret: Vec<usize>,
    is_call: Vec<bool>,
}

impl Events {
    fn new<O>(entries: &[Entry<'_, O>]) -> Events {
        // One integer per event, ordered as the events must be: by time (`f64::total_cmp`'s
        // order), calls before returns at equal times, then by operation for determinism.
        // Keys are distinct, so an unstable sort gives one order.
        let key = |time: f64, is_return: bool, index: usize| -> u128 {
            let bits = time.to_bits();
            let ordered = if bits >> 63 == 1 { !bits } else { bits | 1 << 63 };
            (ordered as u128) << 64 | (is_return as u128) << 32 | index as u128
        };
        let mut timeline: Vec<u128> = Vec::with_capacity(entries.len() * 2);
        for (index, entry) in entries.iter().enumerate() {
            timeline.push(key(entry.call, false, index));
            if let Some(ret) = entry.ret {
                timeline.push(key(ret, true, index));
            }
        }
        timeline.sort_unstable();
        let nodes = timeline.len() + 1;
        let mut events = Events {
            next: (1..=nodes).map(|n| if n == nodes { NIL } else { n }).collect(),
            prev: (0..nodes).map(|n| if n == 0 { NIL } else { n - 1 }).collect(),
            op: vec![NIL; nodes],
            ret: vec![NIL; nodes],
            is_call: vec![false; nodes],
        };
        let mut call_node = vec![NIL; entries.len()];
        for (position, &key) in timeline.iter().enumerate() {
            let node = position + 1;
            let (op, is_call) = (key as u32 as usize, (key >> 32) & 1 == 0);
            events.op[node] = op;
            events.is_call[node] = is_call;
            if is_call {
                call_node[op] = node;
            } else {
                events.ret[call_node[op]] = node;
            }
        }
        events
    }

    fn unlink(&mut self, node: usize) {
        let (prev, next) = (self.prev[node], self.next[node]);
        self.next[prev] = next;
        if next != NIL {
            self.prev[next] = prev;
        }
    }

    fn relink(&mut self, node: usize) {
        let (prev, next) = (self.prev[node], self.next[node]);
        self.next[prev] = node;
        if next != NIL {
            self.prev[next] = node;
        }
    }

    /// Removes a call and its return from the list.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        if self.ret[call] != NIL {
            self.unlink(self.ret[call]);
        }
    }

    /// Undoes [`Events::lift`] (must be the most recent lift not yet undone).
    fn unlift(&mut self, call: usize) {
        if self.ret[call] != NIL {
            self.relink(self.ret[call]);
        }
        self.relink(call);
    }
}

/// The memo of explored (linearised set, state) pairs. Sets live in one flat arena and entries
/// chain per hash, so a new entry costs no allocation beyond amortised growth. States live in
/// an arena too, addressed by index: the search holds indices, so moving to a state, undoing a
/// choice or sharing a state between entries copies and allocates nothing.
struct Cache<S> {
    heads: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>,
    /// Per entry: the next entry with the same hash (or u32::MAX).
    chain: Vec<u32>,
    words: usize,
    sets: Vec<u64>,
    /// Per entry: its state, an index into `states`.
    entry_state: Vec<StateId>,
    /// Every state the search has moved to, each once per entry that introduced it.
    states: Vec<S>,
    /// Per entry: its search finished (it was undone), so it is refuted and may prune the
    /// pairs it subsumes (see the module doc).
    finished: Vec<bool>,
    /// The operations with a known outcome, as set words.
    known: Vec<u64>,
    /// Per entry: its last operation, if that had an unknown outcome (else `NONE`).
    last: Vec<u32>,
}

/// No operation, in [`Cache::last`].
const NONE: u32 = u32::MAX;

/// A state in the cache's arena.
type StateId = u32;

/// A state a step leads to: one already in the arena (the step changed nothing), or a new one.
enum Candidate<S> {
    Known(StateId),
    New(S),
}

impl<S: Eq> Cache<S> {
    fn new(known: Bitset, init: S) -> Self {
        let words = known.words().len();
        Cache {
            finished: Vec::new(),
            last: Vec::new(),
            known: known.words().to_vec(),
            heads: HashMap::default(),
            chain: Vec::new(),
            words,
            sets: Vec::new(),
            entry_state: Vec::new(),
            states: vec![init],
        }
    }

    fn state(&self, id: StateId) -> &S {
        &self.states[id as usize]
    }

    /// Records the pair and returns its state's id and its entry; `None` when it was seen
    /// before or a finished entry subsumes it. `hash` covers the set's known-outcome operations
    /// and the state only, so subsuming entries share its chain.
    fn insert(
        &mut self,
        hash: u64,
        bits: &Bitset,
        last: u32,
        candidate: Candidate<S>,
    ) -> Option<(StateId, u32)> {
        let index = self.entry_state.len() as u32;
        let head = match self.heads.entry(hash) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(index);
                u32::MAX
            }
            std::collections::hash_map::Entry::Occupied(mut slot) => {
                let mut entry = *slot.get();
                while entry != u32::MAX {
                    let e = entry as usize;
                    let set = &self.sets[e * self.words..(e + 1) * self.words];
                    // An equal set is never on the search stack (sets grow along it), so it is
                    // finished too.
                    let seen = (self.last[e] == NONE || self.last[e] == last)
                        && (set == bits.words()
                            || (self.finished[e] && subsumes(set, bits.words(), &self.known)));
                    if seen && same_state(&self.states, self.entry_state[e], &candidate) {
                        return None;
                    }
                    entry = self.chain[e];
                }
                std::mem::replace(slot.get_mut(), index)
            }
        };
        let id = match candidate {
            Candidate::Known(id) => id,
            Candidate::New(state) => {
                self.states.push(state);
                (self.states.len() - 1) as StateId
            }
        };
        self.chain.push(head);
        self.sets.extend_from_slice(bits.words());
        self.entry_state.push(id);
        self.finished.push(false);
        self.last.push(last);
        Some((id, index))
    }

    /// Marks an entry's search as finished without success.
    fn finish(&mut self, entry: u32) {
        self.finished[entry as usize] = true;
    }
}

/// Whether the refuted set `set` subsumes `current`: it is contained in it, and the two differ
/// only in operations outside `known`.
fn subsumes(set: &[u64], current: &[u64], known: &[u64]) -> bool {
    set.iter()
        .zip(current)
        .zip(known)
        .all(|((&old, &new), &known)| old & !new == 0 && (old ^ new) & known == 0)
}

/// Whether the state `id` of the arena `states` equals `candidate`.
fn same_state<S: Eq>(states: &[S], id: StateId, candidate: &Candidate<S>) -> bool {
    match candidate {
        Candidate::Known(known) => id == *known || states[id as usize] == states[*known as usize],
        Candidate::New(state) => states[id as usize] == *state,
    }
}

/// Searches for a linearization of `entries` under `model`.
pub fn search<M: Model>(
    model: &M,
    entries: &[Entry<'_, M::Op>],
    budget: Budget,
    cancel: &AtomicBool,
) -> SearchResult<M::State> {
    search_counting(model, entries, budget, cancel, &mut 0)
}

/// [`search`], adding the steps it took to `spent`.
pub fn search_counting<M: Model>(
    model: &M,
    entries: &[Entry<'_, M::Op>],
    budget: Budget,
    cancel: &AtomicBool,
    spent: &mut u64,
) -> SearchResult<M::State> {
    let mut steps: u64 = 0;
    let result = run(model, entries, budget, cancel, &mut steps);
    *spent += steps;
    result
}

fn run<M: Model>(
    model: &M,
    entries: &[Entry<'_, M::Op>],
    budget: Budget,
    cancel: &AtomicBool,
    steps: &mut u64,
) -> SearchResult<M::State> {
    let mut events = Events::new(entries);
    let mut remaining = entries.iter().filter(|e| e.ret.is_some()).count();
    // Known reads: see `backtrack` below.
    let greedy: Vec<bool> =
        entries.iter().map(|e| e.ret.is_some() && model.is_read_only(e.op)).collect();
    let waits_for = waits_for(model, entries);
    let revivers = revivers(model, entries);
    let init = model.init();
    let mut state_hash = fx_hash(&init);
    let mut bits = Bitset::new(entries.len());
    let mut bits_hash = 0u64;
    let mut known = Bitset::new(entries.len());
    for (index, entry) in entries.iter().enumerate() {
        if entry.ret.is_some() {
            known.set(index);
        }
    }
    let mut cache = Cache::new(known, init);
    let mut state: StateId = 0;
    // Each choice: its call node, the state and state hash before it, and its memo entry.
    let mut stack: Vec<(usize, StateId, u64, u32)> = Vec::new();
    let mut longest = Longest::default();
    let mut longest_state = state;
    let mut entry = events.next[HEAD];
    // Which candidates this walk tries: those with a known outcome first, then (a second walk
    // over the same candidates) the unknown ones, so that pairs with fewer unknown operations
    // are refuted first and subsume the others (see the module doc).
    let mut unknown_walk = false;
    // Without unknown operations there is no second walk to make.
    let any_unknown = entries.iter().any(|e| e.ret.is_none());
    let mut reached: Option<f64> = None;
    while remaining > 0 && entry != NIL {
        *steps += 1;
        if *steps & 1023 == 0 && out_of_budget(*steps, budget, cancel) {
            return SearchResult::Unknown;
        }
        let op = events.op[entry];
        if !events.is_call[entry] && !unknown_walk {
            // The first return of a walk from the head: every earlier return is linearised.
            let at = entries[op].ret;
            if reached.is_none_or(|r| at.is_some_and(|at| at > r)) {
                reached = at;
            }
            if any_unknown {
                unknown_walk = true;
                entry = events.next[HEAD];
                continue;
            }
        }
        // A return whose call is not linearised means the current prefix is wrong.
        let mut backtrack = !events.is_call[entry];
        let closed = entries[op].closed_by.iter().any(|&closer| bits.contains(closer))
            || waits_for[op].is_some_and(|before| !bits.contains(before))
            || entries[op].ret.is_none() != unknown_walk;
        if !backtrack && !closed {
            let next = match model.step(cache.state(state), entries[op].op) {
                Next::Illegal => None,
                // An unknown operation that changes nothing is left out: dropping it from any
                // linearization keeps it valid and leaves the set smaller (see subsumption).
                Next::Same if entries[op].ret.is_none() => None,
                _ if entries[op].ret.is_none()
                    && stack.last().is_some_and(|&(node, _, _, _)| {
                        let last = events.op[node];
                        entries[last].ret.is_none()
                            && model.overwrites(entries[op].op, entries[last].op)
                    }) =>
                {
                    None
                }
                Next::Same => Some((Candidate::Known(state), state_hash)),
                Next::To(next)
                    if !revivers.is_empty()
                        && outgrows(model, entries, &events, &revivers, &bits, op, &next) =>
                {
                    None
                }
                Next::To(next) => {
                    let hash = fx_hash(&next);
                    Some((Candidate::New(next), hash))
                }
            };
            if let Some((candidate, next_hash)) = next {
                bits.set(op);
                // The memo's hash leaves unknown-outcome operations out (see `Cache::insert`).
                let op_hash = if entries[op].ret.is_some() { zobrist(op) } else { 0 };
                let hash = bits_hash ^ op_hash ^ next_hash.rotate_left(17);
                let last = if entries[op].ret.is_none() { op as u32 } else { NONE };
                if let Some((next_state, memo)) = cache.insert(hash, &bits, last, candidate) {
                    bits_hash ^= op_hash;
                    let previous = std::mem::replace(&mut state, next_state);
                    let previous_hash = std::mem::replace(&mut state_hash, next_hash);
                    stack.push((entry, previous, previous_hash, memo));
                    events.lift(entry);
                    if entries[op].ret.is_some() {
                        remaining -= 1;
                    }
                    longest.pushed(op, stack.len());
                    if longest.is_beaten_by(stack.len()) {
                        longest.record(&stack, |(node, _, _, _)| events.op[*node]);
                        longest_state = state;
                    }
                    entry = events.next[HEAD];
                    unknown_walk = false;
                    continue;
                }
                bits.clear(op);
                // A known read legal here whose continuation already failed: the whole prefix
                // fails (see below).
                backtrack = greedy[op];
            }
        }
        if !backtrack {
            entry = events.next[entry];
            continue;
        }
        // Undo choices. A known read that is legal after a prefix can be moved to right after
        // it in any linearization extending that prefix (it changes no state, everything that
        // must precede it is already in the prefix, and moving it earlier breaks no real-time
        // order). So when its continuation fails, the prefix itself fails: keep undoing until
        // a choice that is not such a read.
        loop {
            let Some((call, previous, previous_hash, memo)) = stack.pop() else {
                let state = cache.states.swap_remove(longest_state as usize);
                return SearchResult::NotLinearizable {
                    longest: longest.into_ops(),
                    state,
                    reached,
                };
            };
            longest.popped(stack.len());
            cache.finish(memo);
            let undone = events.op[call];
            bits.clear(undone);
            if entries[undone].ret.is_some() {
                bits_hash ^= zobrist(undone);
            }
            state = previous;
            state_hash = previous_hash;
            events.unlift(call);
            if entries[undone].ret.is_some() {
                remaining += 1;
            }
            entry = events.next[call];
            unknown_walk = entries[undone].ret.is_none();
            if !greedy[undone] {
                break;
            }
        }
    }
    SearchResult::Linearizable
}

/// For each entry, the interchangeable entry called just before it (see the module doc), which
/// must be linearised first.
fn waits_for<M: Model>(model: &M, entries: &[Entry<'_, M::Op>]) -> Vec<Option<usize>> {
    let mut waits = vec![None; entries.len()];
    let mut closer = vec![false; entries.len()];
    for entry in entries {
        for &c in &entry.closed_by {
            closer[c] = true;
        }
    }
    let mut classes: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    for (index, entry) in entries.iter().enumerate() {
        if entry.ret.is_none() && entry.closed_by.is_empty() && !closer[index] {
            if let Some(name) = model.effect_name(entry.op) {
                classes.entry(name).or_default().push(index);
            }
        }
    }
    for mut members in classes.into_values() {
        members.sort_by(|&a, &b| entries[a].call.total_cmp(&entries[b].call).then(a.cmp(&b)));
        for pair in members.windows(2) {
            waits[pair[1]] = Some(pair[0]);
        }
    }
    waits
}

/// How many of the earliest pending returns [`outgrows`] looks at: the operations about to
/// block the search are among them, and looking further costs every step more.
const LOOKAHEAD: usize = 8;

/// Per entry, its revivers ([`Model::revivers`]) when it has a known outcome (only those must
/// be linearised); empty when the model has none at all.
fn revivers<M: Model>(model: &M, entries: &[Entry<'_, M::Op>]) -> Vec<Option<Vec<usize>>> {
    let ops: Vec<&M::Op> = entries.iter().map(|e| e.op).collect();
    let mut revivers = model.revivers(&ops);
    if revivers.len() != entries.len() {
        return Vec::new();
    }
    for (revive, entry) in revivers.iter_mut().zip(entries) {
        if entry.ret.is_none() {
            *revive = None;
        }
    }
    if revivers.iter().all(Option::is_none) {
        return Vec::new();
    }
    revivers
}

/// Whether taking `taken` into `state` leaves one of the first [`LOOKAHEAD`] pending returns
/// outgrown with every reviver already linearised (see the module doc).
fn outgrows<M: Model>(
    model: &M,
    entries: &[Entry<'_, M::Op>],
    events: &Events,
    revivers: &[Option<Vec<usize>>],
    bits: &Bitset,
    taken: usize,
    state: &M::State,
) -> bool {
    let mut node = events.next[HEAD];
    let mut returns = 0;
    while node != NIL && returns < LOOKAHEAD {
        if !events.is_call[node] {
            returns += 1;
            let op = events.op[node];
            if let Some(revive) = &revivers[op] {
                if op != taken
                    && revive.iter().all(|&r| r == taken || bits.contains(r))
                    && model.outgrown(state, entries[op].op)
                {
                    return true;
                }
            }
        }
        node = events.next[node];
    }
    false
}

fn out_of_budget(steps: u64, budget: Budget, cancel: &AtomicBool) -> bool {
    cancel.load(Ordering::Relaxed)
        || budget.max_steps.is_some_and(|max| steps >= max)
        || budget.deadline.is_some_and(|deadline| Instant::now() >= deadline)
}
