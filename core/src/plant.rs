//! Planted bugs: real classes of consensus, storage, lease and watch bugs that the simulator can
//! switch on, one per run, to prove that its scenarios and checkers catch them.
//!
//! Each bug has one site in the core, a line that asks `active(Bug::X)`. The switch is per thread
//! (one simulation per thread), set by the simulator at the start of a run like `buggify::reset`.
//!
//! A server built with the cargo feature `planted-bugs` (off by default, refused in a release
//! build) carries the same sites for real-process runs (`detcd-chaos run --plant`): there one bug
//! is chosen for the whole process at start (`set_for_process`), since a process is one run.
//!
//! Invariants: with no bug planted every site behaves exactly as the code without the site;
//! outside the simulator (`--cfg madsim` off) and without `planted-bugs`, `active` is the
//! constant `false`, so the server build carries no planted behaviour at all.
//!
//! Two bugs break an invariant the core checks with `invariant!` (`revision-skip` the revision
//! step, `group-commit-overreach` acknowledging before the fsync): those checks stand aside while
//! that bug is planted, so the scenario's checkers, not a panic, have to find it.

/// The environment variable that names the bug a server built with `planted-bugs` switches on
/// (read by the server at start, set by `detcd-chaos run --plant`).
pub const PROCESS_VARIABLE: &str = "DETCD_PLANTED_BUG";

/// The bugs that can be planted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bug {
    /// Linearizable reads are served from the local replica without a read index, so a follower
    /// (or a deposed leader) answers from a state that may be behind.
    StaleRead,
    /// A log append is acknowledged to raft before the WAL fsync: a crash loses entries the
    /// member already counted toward a commit.
    AckBeforeDurable,
    /// Followers count leases down on their own clocks (which never see keep-alives) and
    /// propose revokes, so a kept-alive lease expires.
    FollowerLeaseExpiry,
    /// A new leader does not give leases their full TTL back: it treats every lease as due.
    NoLeaseRefresh,
    /// A keep-alive is acknowledged without confirming leadership, so a deposed leader renews
    /// leases the real leader is counting down.
    UnconfirmedKeepAlive,
    /// A lease revoke (or expiry) deletes only the first of the lease's keys; the rest outlive it.
    PartialRevoke,
    /// Watch catch-up from history starts one revision late, skipping that revision's events.
    WatchSkip,
    /// Live watch delivery drops delete events (catch-up from history still has them).
    LostDeleteEvent,
    /// A txn that writes several keys loses its later writes now and then (every fourth
    /// revision), as if applied half.
    TornTxn,
    /// A write that changes nothing (a failed txn, a delete of nothing) still raises the revision.
    RevisionSkip,
    /// A mutex waiter whose turn comes takes the lock without checking that its own key (and so
    /// its session's lease) still exists: a waiter that expired while waiting is told it owns it.
    LockToExpiredWaiter,
    /// Reads at exactly the compact revision are refused as compacted, though a compaction keeps
    /// every key's version at that revision for them (the boundary counted as gone).
    CompactOffByOne,
    /// A read below the compact revision is served from whatever the compaction left, instead
    /// of being refused: keys whose older versions were dropped answer wrongly or not at all.
    CompactedRead,
    /// A follower that installs a snapshot takes the snapshot's revision as already delivered to
    /// its open watchers instead of catching them up across the revisions the snapshot jumped
    /// over: a synced watcher goes on from the new revision and never sees the events between.
    SnapshotWatchGap,
    /// A linearizable read whose read index failed here for want of leadership is answered from
    /// this member's own replica once another leader is known, instead of being sent on to it,
    /// as if knowing the new leader meant being caught up with it: a deposed leader answers from
    /// behind the writes its successor has already acknowledged.
    RetriedReadLocal,
    /// A store restored from a snapshot (a member restarting from its own disk, or a follower
    /// installing one) forgets its compaction point: the compact revision reads back as 0, so
    /// reads below the compaction are served from what it left instead of refused, until the
    /// next compaction is applied.
    ForgottenCompaction,
    /// Group commit acknowledges appends queued while its fsync ran together with those the
    /// fsync was started for, though it may not cover them: a crash before the next fsync loses
    /// entries already reported durable (a one-member cluster has acknowledged them to clients).
    GroupCommitOverreach,
    /// A txn's permission check skips its else-branch: a user may write (or read) there what
    /// its permissions forbid, whenever the compares and the then-branch are allowed.
    TxnElseUnchecked,
}

impl Bug {
    pub const ALL: [Bug; 18] = [
        Bug::StaleRead,
        Bug::AckBeforeDurable,
        Bug::FollowerLeaseExpiry,
        Bug::NoLeaseRefresh,
        Bug::UnconfirmedKeepAlive,
        Bug::PartialRevoke,
        Bug::WatchSkip,
        Bug::LostDeleteEvent,
        Bug::TornTxn,
        Bug::RevisionSkip,
        Bug::LockToExpiredWaiter,
        Bug::CompactOffByOne,
        Bug::CompactedRead,
        Bug::SnapshotWatchGap,
        Bug::RetriedReadLocal,
        Bug::ForgottenCompaction,
        Bug::GroupCommitOverreach,
        Bug::TxnElseUnchecked,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Bug::StaleRead => "stale-read",
            Bug::AckBeforeDurable => "ack-before-durable",
            Bug::FollowerLeaseExpiry => "follower-lease-expiry",
            Bug::NoLeaseRefresh => "no-lease-refresh",
            Bug::UnconfirmedKeepAlive => "unconfirmed-keepalive",
            Bug::PartialRevoke => "partial-revoke",
            Bug::WatchSkip => "watch-skip",
            Bug::LostDeleteEvent => "lost-delete-event",
            Bug::TornTxn => "torn-txn",
            Bug::RevisionSkip => "revision-skip",
            Bug::LockToExpiredWaiter => "lock-expired-waiter",
            Bug::CompactOffByOne => "compact-off-by-one",
            Bug::CompactedRead => "compacted-read",
            Bug::SnapshotWatchGap => "snapshot-watch-gap",
            Bug::RetriedReadLocal => "retried-read-local",
            Bug::ForgottenCompaction => "forgotten-compaction",
            Bug::GroupCommitOverreach => "group-commit-overreach",
            Bug::TxnElseUnchecked => "txn-else-unchecked",
        }
    }

    /// One line for `detcd-sim list --plants`.
    pub fn description(self) -> &'static str {
        match self {
            Bug::StaleRead => "linearizable reads served locally without a read index",
            Bug::AckBeforeDurable => "log appends acknowledged before the WAL fsync",
            Bug::FollowerLeaseExpiry => "followers expire leases on their own clocks",
            Bug::NoLeaseRefresh => "a new leader does not give leases their full TTL back",
            Bug::UnconfirmedKeepAlive => "keep-alives answered without confirming leadership",
            Bug::PartialRevoke => "a lease revoke deletes only the first of its keys",
            Bug::WatchSkip => "watch catch-up skips the first revision it owes",
            Bug::LostDeleteEvent => "live watch delivery drops delete events",
            Bug::TornTxn => "multi-write txns sometimes lose their later writes",
            Bug::RevisionSkip => "a write that changes nothing raises the revision",
            Bug::LockToExpiredWaiter => {
                "a mutex waiter takes the lock without checking its key survived"
            }
            Bug::CompactOffByOne => "reads at exactly the compact revision are refused",
            Bug::CompactedRead => "reads below the compact revision are served, not refused",
            Bug::SnapshotWatchGap => {
                "watchers skip the revisions a follower's installed snapshot jumped over"
            }
            Bug::RetriedReadLocal => {
                "a read whose read index failed for want of leadership is served locally"
            }
            Bug::ForgottenCompaction => "a store restored from a snapshot forgets its compaction",
            Bug::GroupCommitOverreach => {
                "group commit acknowledges appends queued while its fsync ran"
            }
            Bug::TxnElseUnchecked => "a txn's permission check skips its else-branch",
        }
    }

    /// The bug called `name`, or an error naming every known bug.
    pub fn parse(name: &str) -> Result<Bug, String> {
        Bug::ALL.into_iter().find(|bug| bug.name() == name).ok_or_else(|| {
            let known: Vec<&str> = Bug::ALL.iter().map(|bug| bug.name()).collect();
            format!("unknown planted bug '{name}'; known: {}", known.join(", "))
        })
    }
}

#[cfg(madsim)]
mod simulated {
    use super::Bug;
    use std::cell::Cell;

    thread_local! {
        // One simulation per thread: per-thread state is per-run state.
        static PLANTED: Cell<Option<Bug>> = const { Cell::new(None) };
    }

    pub fn set(bug: Option<Bug>) {
        PLANTED.with(|planted| planted.set(bug));
    }

    pub fn active(bug: Bug) -> bool {
        PLANTED.with(|planted| planted.get() == Some(bug))
    }
}

/// Plants `bug` (or none) for the run on this thread.
#[cfg(madsim)]
pub fn set(bug: Option<Bug>) {
    simulated::set(bug)
}

/// Whether `bug` is planted in this run.
#[cfg(madsim)]
pub fn active(bug: Bug) -> bool {
    simulated::active(bug)
}

#[cfg(all(not(madsim), not(feature = "planted-bugs")))]
#[inline(always)]
pub fn active(_bug: Bug) -> bool {
    false
}

#[cfg(all(feature = "planted-bugs", not(debug_assertions)))]
compile_error!("the planted-bugs feature is for test builds only: never in a release build");

/// One bug for the whole process, in a server built with `planted-bugs`.
#[cfg(all(not(madsim), feature = "planted-bugs"))]
static PROCESS_PLANT: std::sync::OnceLock<Bug> = std::sync::OnceLock::new();

/// Plants `bug` in this process, once, before the member starts; `Err` with the bug already
/// planted if another one was.
#[cfg(all(not(madsim), feature = "planted-bugs"))]
pub fn set_for_process(bug: Bug) -> Result<(), Bug> {
    let planted = *PROCESS_PLANT.get_or_init(|| bug);
    if planted == bug {
        Ok(())
    } else {
        Err(planted)
    }
}

/// Whether `bug` is planted in this process.
#[cfg(all(not(madsim), feature = "planted-bugs"))]
pub fn active(bug: Bug) -> bool {
    PROCESS_PLANT.get() == Some(&bug)
}

#[cfg(test)]
mod tests {
    use super::Bug;

    #[test]
    fn names_round_trip() {
        for bug in Bug::ALL {
            assert_eq!(Bug::parse(bug.name()), Ok(bug));
        }
        let error = Bug::parse("nope").unwrap_err();
        assert!(error.contains("stale-read") && error.contains("revision-skip"));
    }

    #[cfg(all(not(madsim), not(feature = "planted-bugs")))]
    #[test]
    fn never_active_outside_the_simulator() {
        assert!(Bug::ALL.into_iter().all(|bug| !super::active(bug)));
    }

    #[cfg(all(not(madsim), feature = "planted-bugs"))]
    #[test]
    fn a_process_plants_one_bug_for_good() {
        assert!(Bug::ALL.into_iter().all(|bug| !super::active(bug)));
        assert_eq!(super::set_for_process(Bug::TornTxn), Ok(()));
        assert_eq!(super::set_for_process(Bug::TornTxn), Ok(()), "the same bug again is fine");
        assert_eq!(super::set_for_process(Bug::StaleRead), Err(Bug::TornTxn));
        let active: Vec<Bug> = Bug::ALL.into_iter().filter(|bug| super::active(*bug)).collect();
        assert_eq!(active, [Bug::TornTxn]);
    }
}
