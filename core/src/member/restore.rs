//! Restoring an archive into a fresh data directory (etcd's `snapshot restore`): a member started
//! on it begins a new cluster whose key space is the archive's.
//!
//! The directory gets one raft snapshot and no log: the state machine from the archive, at log
//! index 0 of term 0 (where `initialize` would put a new cluster's first membership), with the
//! membership given (the `--initial-cluster` of the restore). Every member of the new cluster
//! restores the same archive with the same membership, so they start identical; raft then elects
//! a leader as after any restart.
//!
//! Coupling: the snapshot file must be what `Replica::open` reads, the postcard encoding of
//! `{ meta, machine }` under `snap/` (as `Member::start` opens it); the test below opens a
//! restored directory with `Replica::open` to keep the two in step.

use super::archive;
use crate::error::{Error, Result};
use crate::raft::types::{LogId, MemberInfo, NodeId, SnapshotMeta, StoredMembership};
use crate::storage::{Disk, SnapshotFiles};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The raft snapshot image as the replica stores it (field order is the encoding).
#[derive(Serialize)]
struct Image<'a> {
    meta: SnapshotMeta,
    machine: &'a [u8],
}

/// Writes `archive` into the empty data directory behind `disk` as the starting state of a
/// cluster of `members` (all voters).
pub async fn restore(
    disk: Arc<dyn Disk>,
    archive_bytes: &[u8],
    members: BTreeMap<NodeId, MemberInfo>,
) -> Result<()> {
    if members.is_empty() {
        return Err(Error::Other("a restored cluster needs at least one member".into()));
    }
    let origin = LogId::new_term_index(0, 0);
    // The new cluster's log starts at `origin`: the archive's applied index belongs to the old
    // cluster's log, and the new one applies its index 1 next.
    let machine = archive::decode(archive_bytes)?.machine.rebased(origin.index()).snapshot();
    let voters: BTreeSet<NodeId> = members.keys().copied().collect();
    let membership = openraft::Membership::new(vec![voters], members)
        .map_err(|e| Error::Other(format!("restored membership: {e}")))?;
    let meta = SnapshotMeta {
        last_log_id: Some(origin),
        last_membership: StoredMembership::new(Some(origin), membership),
    };
    let bytes = postcard::to_stdvec(&Image { meta, machine: &machine })
        .map_err(|e| Error::Other(format!("encoding the restored snapshot: {e}")))?;
    let snapshots = SnapshotFiles::new(disk, "snap", 2);
    snapshots.save(0, &bytes).await.map_err(|e| Error::Other(e.to_string()))
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;
    use crate::api::{PutRequest, RangeRequest};
    use crate::apply::{Command, StateMachine};
    use crate::raft::state_machine::Replica;
    use crate::storage::RealDisk;

    #[tokio::test]
    async fn a_restored_directory_opens_with_the_archives_keys_and_membership() {
        let mut machine = StateMachine::with_min_ttl(1);
        let put = PutRequest { key: b"k".to_vec(), value: b"v".to_vec(), ..Default::default() };
        // Applied at index 5 of the old cluster's log.
        machine.apply(5, &Command::Put(put)).0.expect("put");
        let dir = std::env::temp_dir().join(format!("detcd-restore-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let disk: Arc<dyn Disk> = Arc::new(RealDisk::open(&dir).expect("disk"));
        let info = MemberInfo {
            name: "n1".into(),
            peer_urls: vec!["http://a:1".into()],
            client_urls: vec![],
        };
        restore(disk.clone(), &archive::encode(&machine), BTreeMap::from([(7, info)]))
            .await
            .expect("restore");

        let replica = Replica::open(SnapshotFiles::new(disk, "snap", 2), 1, Default::default())
            .expect("open");
        let state = replica.lock();
        let read = state.machine.range(&RangeRequest { key: b"k".to_vec(), ..Default::default() });
        assert_eq!(read.expect("range").kvs[0].value, b"v");
        assert_eq!(state.membership.membership().voter_ids().collect::<Vec<_>>(), vec![7]);
        // The new cluster's log starts at 0: its first entry applies after the restored state.
        assert_eq!(state.machine.applied_index(), 0);
        drop(state);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn garbage_is_refused_and_nothing_is_written() {
        let dir =
            std::env::temp_dir().join(format!("detcd-restore-garbage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let disk: Arc<dyn Disk> = Arc::new(RealDisk::open(&dir).expect("disk"));
        let members = BTreeMap::from([(7, MemberInfo::default())]);
        assert!(restore(disk.clone(), b"garbage", members).await.is_err());
        assert!(SnapshotFiles::new(disk, "snap", 2).list().map(|l| l.is_empty()).unwrap_or(true));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
