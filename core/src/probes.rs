//! Coverage probes: named rare moments that a sweep must reach (FoundationDB's `CODE_PROBE`,
//! Antithesis's "sometimes" assertions).
//!
//! A path no seed executes is untested, however many seeds pass. Each probe marks one rare but
//! important moment — a deposed leader asked to read, a snapshot installed under open watchers, a
//! compaction landing on a delete — with one `probes::hit(Probe::X)` line where it happens. The
//! simulator counts the hits of every run; `sweep --coverage` says how many seeds reached each
//! probe, and a CI test fails when a probe is reached by no seed of its sweep, so a change that
//! makes a path unreachable is noticed.
//!
//! Invariants: a hit only increments a per-thread counter (one simulation per thread, like
//! `buggify` and `plant`): it draws no randomness, takes no time and changes nothing the run
//! does. Outside the simulator (`--cfg madsim` off) `hit` is an empty inline function.

/// The probes. Hits from the core and from the simulator's harness share this one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Probe {
    /// A member that believed it led took a linearizable read, and could not confirm leadership.
    DeposedLeaderRead,
    /// A member that believed it led took a keep-alive, and could not confirm leadership.
    DeposedLeaderKeepAlive,
    /// A linearizable read failed here for want of leadership and was sent on to a leader.
    ReadIndexRetried,
    /// A forwarded request was still unanswered when raft named a new leader (it went again to
    /// the new one, or its client was told the leader changed).
    ForwardFollowedLeader,
    /// A member's countdown expired a lease but could not commit the revoke (leadership lost).
    LeaseExpiryLostLeadership,
    /// A keep-alive reached the leader for a lease that no longer exists.
    KeepAliveForMissingLease,
    /// A follower installed a snapshot sent by the leader.
    SnapshotInstalled,
    /// A follower installed a snapshot while watchers were open on it.
    SnapshotInstalledUnderWatchers,
    /// A member purged log entries behind a snapshot.
    LogPurged,
    /// A member started from a snapshot on its own disk.
    RestartFromSnapshot,
    /// A member started on a store that had been compacted.
    RestartAfterCompaction,
    /// A compaction landed on a revision whose event is a delete.
    CompactionAtDelete,
    /// A compaction landed on the newest revision.
    CompactionAtNewest,
    /// A read (range, or a txn's range) asked for a compacted revision.
    ReadCompactedRevision,
    /// A watcher fell behind its stream's outbox and was moved to catch up from history.
    WatcherFellBehind,
    /// A watcher catching up from history was canceled because its revision was compacted away.
    WatcherCompactedWhileCatchingUp,
    /// A progress request was asked while a watcher on the stream was behind.
    ProgressRequestedWhileBehind,
    /// A forwarded batch of requests was lost on the wire (its outcomes unknown).
    ForwardedBatchLost,
    /// A proposal was appended, then discarded by a leader change.
    ProposalDiscarded,
    /// A WAL segment filled and the log rolled to the next one.
    WalSegmentRolled,
    /// Recovery cut a torn record (not preallocated zeros) off the end of the WAL.
    WalTornTailCut,
    /// An fsync failed and the log refused all further appends.
    WalFsyncFailed,
    /// A single-member cluster crashed with log bytes written but not yet synced.
    SingleMemberCrashUnsynced,
    /// A member crashed while it led.
    LeaderCrashed,
    /// A member joined the cluster as a voter while the run went on.
    MemberPromoted,
    /// A member learnt that it was removed from the cluster, and stopped.
    RemovedMemberStopped,
}

impl Probe {
    pub const ALL: [Probe; 26] = [
        Probe::DeposedLeaderRead,
        Probe::DeposedLeaderKeepAlive,
        Probe::ReadIndexRetried,
        Probe::ForwardFollowedLeader,
        Probe::LeaseExpiryLostLeadership,
        Probe::KeepAliveForMissingLease,
        Probe::SnapshotInstalled,
        Probe::SnapshotInstalledUnderWatchers,
        Probe::LogPurged,
        Probe::RestartFromSnapshot,
        Probe::RestartAfterCompaction,
        Probe::CompactionAtDelete,
        Probe::CompactionAtNewest,
        Probe::ReadCompactedRevision,
        Probe::WatcherFellBehind,
        Probe::WatcherCompactedWhileCatchingUp,
        Probe::ProgressRequestedWhileBehind,
        Probe::ForwardedBatchLost,
        Probe::ProposalDiscarded,
        Probe::WalSegmentRolled,
        Probe::WalTornTailCut,
        Probe::WalFsyncFailed,
        Probe::SingleMemberCrashUnsynced,
        Probe::LeaderCrashed,
        Probe::MemberPromoted,
        Probe::RemovedMemberStopped,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Probe::DeposedLeaderRead => "deposed-leader-read",
            Probe::DeposedLeaderKeepAlive => "deposed-leader-keepalive",
            Probe::ReadIndexRetried => "read-index-retried",
            Probe::ForwardFollowedLeader => "forward-followed-leader",
            Probe::LeaseExpiryLostLeadership => "lease-expiry-lost-leadership",
            Probe::KeepAliveForMissingLease => "keepalive-missing-lease",
            Probe::SnapshotInstalled => "snapshot-installed",
            Probe::SnapshotInstalledUnderWatchers => "snapshot-installed-under-watchers",
            Probe::LogPurged => "log-purged",
            Probe::RestartFromSnapshot => "restart-from-snapshot",
            Probe::RestartAfterCompaction => "restart-after-compaction",
            Probe::CompactionAtDelete => "compaction-at-delete",
            Probe::CompactionAtNewest => "compaction-at-newest",
            Probe::ReadCompactedRevision => "read-compacted-revision",
            Probe::WatcherFellBehind => "watcher-fell-behind",
            Probe::WatcherCompactedWhileCatchingUp => "watcher-compacted-catching-up",
            Probe::ProgressRequestedWhileBehind => "progress-requested-while-behind",
            Probe::ForwardedBatchLost => "forwarded-batch-lost",
            Probe::ProposalDiscarded => "proposal-discarded",
            Probe::WalSegmentRolled => "wal-segment-rolled",
            Probe::WalTornTailCut => "wal-torn-tail-cut",
            Probe::WalFsyncFailed => "wal-fsync-failed",
            Probe::SingleMemberCrashUnsynced => "single-member-crash-unsynced",
            Probe::LeaderCrashed => "leader-crashed",
            Probe::MemberPromoted => "member-promoted",
            Probe::RemovedMemberStopped => "removed-member-stopped",
        }
    }

    /// The probe called `name`, if any.
    pub fn parse(name: &str) -> Option<Probe> {
        Probe::ALL.into_iter().find(|probe| probe.name() == name)
    }
}

#[cfg(madsim)]
mod simulated {
    use super::Probe;
    use std::cell::RefCell;

    thread_local! {
        // One simulation per thread: per-thread counts are per-run counts.
        static HITS: RefCell<[u64; Probe::ALL.len()]> = const { RefCell::new([0; Probe::ALL.len()]) };
    }

    pub fn hit(probe: Probe) {
        HITS.with(|hits| hits.borrow_mut()[probe as usize] += 1);
    }

    pub fn reset() {
        HITS.with(|hits| *hits.borrow_mut() = [0; Probe::ALL.len()]);
    }

    pub fn hits() -> Vec<(Probe, u64)> {
        HITS.with(|hits| {
            let hits = hits.borrow();
            Probe::ALL.into_iter().map(|probe| (probe, hits[probe as usize])).collect()
        })
    }
}

/// Records that the moment `probe` names happened in this run.
#[cfg(madsim)]
pub fn hit(probe: Probe) {
    simulated::hit(probe)
}

/// Forgets this thread's hits: the start of a run.
#[cfg(madsim)]
pub fn reset() {
    simulated::reset()
}

/// How often each probe was hit in this thread's run, in `Probe::ALL` order.
#[cfg(madsim)]
pub fn hits() -> Vec<(Probe, u64)> {
    simulated::hits()
}

#[cfg(not(madsim))]
#[inline(always)]
pub fn hit(_probe: Probe) {}

#[cfg(test)]
mod tests {
    use super::Probe;

    #[test]
    fn every_probe_has_its_own_name_and_its_place_in_all() {
        for (index, probe) in Probe::ALL.into_iter().enumerate() {
            assert_eq!(probe as usize, index, "{probe:?} out of place in Probe::ALL");
            assert_eq!(Probe::parse(probe.name()), Some(probe));
        }
        assert_eq!(Probe::parse("nope"), None);
    }

    #[cfg(madsim)]
    #[test]
    fn hits_count_per_thread_and_reset_forgets_them() {
        super::reset();
        super::hit(Probe::LogPurged);
        super::hit(Probe::LogPurged);
        let on_other_thread = std::thread::spawn(|| {
            super::hit(Probe::LogPurged);
            super::hits()
        });
        let other = on_other_thread.join().unwrap_or_default();
        let count = |hits: &[(Probe, u64)]| {
            hits.iter().find(|(p, _)| *p == Probe::LogPurged).map_or(0, |(_, n)| *n)
        };
        assert_eq!(count(&super::hits()), 2);
        assert_eq!(count(&other), 1);
        super::reset();
        assert_eq!(count(&super::hits()), 0);
    }
}
