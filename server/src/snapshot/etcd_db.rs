//! A member's state as etcd's backend database: the buckets etcd 3.4 keeps in bbolt, so that
//! etcd's tools read a detcd snapshot (`etcdctl snapshot status`, and `etcdctl snapshot restore`
//! into a data directory real etcd starts from), plus a `detcd` bucket holding detcd's own
//! archive, from which `detcd snapshot restore` restores everything exactly.
//!
//! What the etcd buckets hold, as etcd writes them:
//! - `key`: every retained version, keyed by its revision (8 bytes main, `_`, 8 bytes sub,
//!   big-endian; a tombstone's key ends in `t`), the value an `mvccpb.KeyValue` (a tombstone's
//!   holds only the key);
//! - `meta`: `consistent_index` (the applied log index, 8 bytes big-endian), and after a
//!   compaction `scheduledCompactRev` and `finishedCompactRev` (a revision key);
//! - `lease`: every lease by its id (8 bytes big-endian), the value a `leasepb.Lease` (id, TTL);
//! - `cluster`: `clusterVersion`; `members`, `members_removed`, `alarm`: empty (a restore writes
//!   the new cluster's members).
//!
//! Not carried in the etcd buckets yet: the auth store (users, roles, the enabled flag) and raised
//! alarms; an etcd restored from a detcd snapshot starts with auth off. detcd's own restore reads
//! the `detcd` bucket and keeps them.

use super::bolt::{self, Buckets};
use detcd_core::apply::StateMachine;
use detcd_proto::mvccpb;
use prost::Message;
use std::collections::BTreeMap;

/// The bucket and key of detcd's own archive inside the database.
pub const DETCD_BUCKET: &[u8] = b"detcd";
pub const ARCHIVE_KEY: &[u8] = b"archive";

/// The database file of `machine`, with `archive` (its detcd archive bytes) beside etcd's buckets.
pub fn database(machine: &StateMachine, archive: Vec<u8>) -> Vec<u8> {
    let mut buckets = Buckets::new();
    buckets.insert(b"key".to_vec(), key_bucket(machine));
    buckets.insert(b"meta".to_vec(), meta_bucket(machine));
    buckets.insert(b"lease".to_vec(), lease_bucket(machine));
    let cluster = BTreeMap::from([(b"clusterVersion".to_vec(), b"3.4.0".to_vec())]);
    buckets.insert(b"cluster".to_vec(), cluster);
    for empty in [&b"members"[..], b"members_removed", b"alarm"] {
        buckets.insert(empty.to_vec(), BTreeMap::new());
    }
    buckets.insert(DETCD_BUCKET.to_vec(), BTreeMap::from([(ARCHIVE_KEY.to_vec(), archive)]));
    bolt::write(&buckets)
}

/// etcd's revision key: main and sub revision, big-endian, joined by `_`.
fn revision_key(main: i64, sub: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(18);
    key.extend_from_slice(&main.to_be_bytes());
    key.push(b'_');
    key.extend_from_slice(&i64::from(sub).to_be_bytes());
    key
}

fn key_bucket(machine: &StateMachine) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let store = machine.store();
    store
        .retained()
        .into_iter()
        .map(|(key, version)| {
            let mut revision = revision_key(version.revision, version.sub);
            let kv = match version.key_value(key) {
                Some(kv) => mvccpb::KeyValue {
                    key: kv.key,
                    create_revision: kv.create_revision,
                    mod_revision: kv.mod_revision,
                    version: kv.version,
                    value: kv.value,
                    lease: kv.lease,
                },
                None => {
                    revision.push(b't');
                    mvccpb::KeyValue { key: key.to_vec(), ..mvccpb::KeyValue::default() }
                }
            };
            (revision, kv.encode_to_vec())
        })
        .collect()
}

fn meta_bucket(machine: &StateMachine) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut meta = BTreeMap::new();
    meta.insert(b"consistent_index".to_vec(), machine.applied_index().to_be_bytes().to_vec());
    let compacted = machine.store().compact_revision();
    if compacted > 0 {
        meta.insert(b"scheduledCompactRev".to_vec(), revision_key(compacted, 0));
        meta.insert(b"finishedCompactRev".to_vec(), revision_key(compacted, 0));
    }
    meta
}

fn lease_bucket(machine: &StateMachine) -> BTreeMap<Vec<u8>, Vec<u8>> {
    machine
        .lessor()
        .leases()
        .map(|lease| (lease.id.to_be_bytes().to_vec(), lease_message(lease.id, lease.ttl)))
        .collect()
}

/// `leasepb.Lease{ID, TTL}` (fields 1 and 2, varints; etcd leaves `RemainingTTL` unset).
fn lease_message(id: i64, ttl: i64) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (field, value) in [(1u8, id), (2, ttl)] {
        if value != 0 {
            bytes.push(field << 3);
            prost::encoding::encode_varint(value as u64, &mut bytes);
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use detcd_core::api::{DeleteRangeRequest, LeaseGrantRequest, PutRequest};
    use detcd_core::apply::Command;

    #[test]
    fn the_database_holds_etcd_s_buckets_and_detcd_s_archive() {
        let mut machine = StateMachine::with_min_ttl(1);
        let grant = LeaseGrantRequest { ttl: 60, id: 7 };
        let (granted, _) = machine.apply(1, &Command::LeaseGrant(grant));
        granted.unwrap();
        let put = PutRequest {
            key: b"k".to_vec(),
            value: b"v".to_vec(),
            lease: 7,
            ..PutRequest::default()
        };
        machine.apply(2, &Command::Put(put)).0.unwrap();
        let delete = DeleteRangeRequest { key: b"k".to_vec(), ..DeleteRangeRequest::default() };
        machine.apply(3, &Command::DeleteRange(delete)).0.unwrap();
        let db = database(&machine, b"archive bytes".to_vec());

        let put_at = revision_key(2, 0);
        let stored = bolt::lookup(&db, b"key", &put_at).unwrap().unwrap();
        let kv = mvccpb::KeyValue::decode(stored).unwrap();
        assert_eq!((kv.key.as_slice(), kv.value.as_slice(), kv.lease), (&b"k"[..], &b"v"[..], 7));
        assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (2, 2, 1));
        let mut tombstone = revision_key(3, 0);
        tombstone.push(b't');
        let stored = bolt::lookup(&db, b"key", &tombstone).unwrap().unwrap();
        assert_eq!(mvccpb::KeyValue::decode(stored).unwrap().key, b"k");
        let index = bolt::lookup(&db, b"meta", b"consistent_index").unwrap().unwrap();
        assert_eq!(index, 3u64.to_be_bytes());
        let lease = bolt::lookup(&db, b"lease", &7i64.to_be_bytes()).unwrap().unwrap();
        assert_eq!(lease, [0x08, 7, 0x10, 60]);
        assert_eq!(
            bolt::lookup(&db, DETCD_BUCKET, ARCHIVE_KEY).unwrap(),
            Some(&b"archive bytes"[..])
        );
    }
}
