//! Property test: the WAL on a crashing, tearing simulated disk against a model of "what was synced".
//!
//! Random appends, votes, commits, conflict truncations, purges, syncs, failing syncs, reopens and
//! crashes run against the WAL and against a tiny independent model. The model remembers the state
//! at the last successful sync plus the records appended since. After a crash, the recovered log
//! must equal the synced state with some *prefix* of those pending records applied: nothing synced
//! is lost, nothing is invented, and records never survive out of order.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use detcd_core::storage::{
    Disk, Entry, Purged, Record, SimDisk, SimDiskFaults, Wal, WalOptions, WalState,
};
use futures::executor::block_on;
use proptest::prelude::*;

/// One step of a run, in abstract form; turned into a valid record against the current model.
#[derive(Debug, Clone)]
enum Op {
    Append {
        count: u64,
        term: u64,
    },
    Vote(u8),
    Commit(u8),
    /// Truncate this many entries off the end (if there are that many).
    Truncate(u64),
    /// Purge this many entries off the front (beyond the end empties the log).
    Purge(u64),
    Sync,
    FailingSync,
    Reopen,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1..4u64, 1..4u64).prop_map(|(count, term)| Op::Append { count, term }),
        1 => any::<u8>().prop_map(Op::Vote),
        1 => any::<u8>().prop_map(Op::Commit),
        1 => (0..5u64).prop_map(Op::Truncate),
        1 => (0..8u64).prop_map(Op::Purge),
        4 => Just(Op::Sync),
        1 => Just(Op::FailingSync),
        1 => Just(Op::Reopen),
        2 => Just(Op::Crash),
    ]
}

/// The model: what the log should hold, kept as simply as possible.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Model {
    entries: BTreeMap<u64, (u64, Bytes)>,
    vote: Option<Bytes>,
    committed: Option<Bytes>,
    purged: Option<u64>,
}

impl Model {
    fn of(state: &WalState) -> Model {
        Model {
            entries: state
                .entries
                .values()
                .map(|e| (e.index, (e.term, e.payload.clone())))
                .collect(),
            vote: state.vote.clone(),
            committed: state.committed.clone(),
            purged: state.purged.as_ref().map(|purged| purged.index),
        }
    }

    fn next_index(&self) -> u64 {
        match (self.entries.keys().next_back(), self.purged) {
            (Some(last), _) => last + 1,
            (None, Some(purged)) => purged + 1,
            (None, None) => 1,
        }
    }

    fn first_index(&self) -> u64 {
        self.entries.keys().next().copied().unwrap_or_else(|| self.next_index())
    }

    fn apply(&mut self, record: &Record) {
        match record {
            Record::Entry(entry) => {
                self.entries.insert(entry.index, (entry.term, entry.payload.clone()));
            }
            Record::Vote(vote) => self.vote = Some(vote.clone()),
            Record::Committed(committed) => self.committed = committed.clone(),
            Record::Truncate { since } => self.entries.retain(|index, _| index < since),
            Record::Purge(purged) => {
                self.entries.retain(|index, _| *index > purged.index);
                self.purged = Some(purged.index);
            }
        }
    }

    /// The records `op` stands for, valid against this model.
    fn records_for(&self, op: &Op, step: usize) -> Vec<Record> {
        match op {
            Op::Append { count, term } => (0..*count)
                .map(|offset| {
                    let index = self.next_index() + offset;
                    let payload = Bytes::from(format!("step {step} entry {index}"));
                    Record::Entry(Entry { index, term: *term, payload })
                })
                .collect(),
            Op::Vote(vote) => vec![Record::Vote(Bytes::from(vec![*vote; 3]))],
            Op::Commit(commit) => vec![Record::Committed(Some(Bytes::from(vec![*commit; 2])))],
            Op::Truncate(count) => {
                let since = self.next_index().saturating_sub(*count).max(self.first_index());
                vec![Record::Truncate { since }]
            }
            Op::Purge(count) => {
                let index = (self.first_index() + count).saturating_sub(1);
                let index = index.max(self.purged.unwrap_or(0));
                vec![Record::Purge(Purged { index, log_id: Bytes::from(index.to_string()) })]
            }
            _ => Vec::new(),
        }
    }
}

/// The durable state plus the records whose fate a crash decides.
struct Expected {
    synced: Model,
    pending: Vec<Record>,
}

impl Expected {
    fn current(&self) -> Model {
        let mut model = self.synced.clone();
        self.pending.iter().for_each(|record| model.apply(record));
        model
    }

    /// Every state a crash may leave: the synced one with a prefix of the pending records.
    fn possible_after_crash(&self) -> Vec<Model> {
        let mut model = self.synced.clone();
        let mut possible = vec![model.clone()];
        for record in &self.pending {
            model.apply(record);
            possible.push(model.clone());
        }
        possible
    }

    fn all_durable(&mut self, now: Model) {
        self.synced = now;
        self.pending.clear();
    }
}

fn open(disk: &Arc<dyn Disk>) -> Wal {
    let options = WalOptions { segment_size: 300, ..WalOptions::default() };
    match block_on(Wal::open(disk.clone(), options)) {
        Ok(wal) => wal,
        Err(err) => panic!("recovery failed: {err}"),
    }
}

fn run(seed: u64, ops: &[Op]) -> Result<(), TestCaseError> {
    let faults = SimDiskFaults { torn_write_probability: 0.5, ..SimDiskFaults::default() };
    let sim = SimDisk::new(seed, faults.clone());
    let disk: Arc<dyn Disk> = Arc::new(sim.clone());
    let mut wal = open(&disk);
    let mut expected = Expected { synced: Model::default(), pending: Vec::new() };
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Sync => {
                prop_assert!(block_on(wal.sync()).is_ok());
                let now = expected.current();
                expected.all_durable(now);
            }
            Op::FailingSync => {
                // Half the fsyncs fail: sometimes the records', sometimes a roll's or a purge's.
                sim.set_faults(SimDiskFaults { fsync_error_probability: 0.5, ..faults.clone() });
                let _ = block_on(wal.sync());
                sim.set_faults(faults.clone());
                // Poisoned or not, restart from what is on disk.
                drop(wal);
                wal = crash_and_check(&sim, &disk, &mut expected, step)?;
            }
            Op::Reopen => {
                drop(wal);
                wal = open(&disk);
                let now = expected.current();
                prop_assert_eq!(Model::of(wal.state()), now.clone(), "reopen at step {}", step);
                expected.all_durable(now);
            }
            Op::Crash => {
                drop(wal);
                wal = crash_and_check(&sim, &disk, &mut expected, step)?;
            }
            _ => {
                let records = expected.current().records_for(op, step);
                prop_assert!(wal.append(records.clone()).is_ok(), "append at step {}", step);
                expected.pending.extend(records);
                prop_assert_eq!(Model::of(wal.state()), expected.current());
            }
        }
    }
    Ok(())
}

fn crash_and_check(
    sim: &SimDisk,
    disk: &Arc<dyn Disk>,
    expected: &mut Expected,
    step: usize,
) -> Result<Wal, TestCaseError> {
    sim.crash();
    let wal = open(disk);
    let recovered = Model::of(wal.state());
    prop_assert!(
        expected.possible_after_crash().contains(&recovered),
        "step {}: recovered {:?}\nsynced {:?}\npending {:?}",
        step,
        recovered,
        expected.synced,
        expected.pending
    );
    expected.all_durable(recovered);
    Ok(wal)
}

proptest! {
    #[test]
    fn storage_wal_recovers_exactly_a_synced_prefix(seed in any::<u64>(), ops in prop::collection::vec(op(), 1..60)) {
        run(seed, &ops)?;
    }
}
