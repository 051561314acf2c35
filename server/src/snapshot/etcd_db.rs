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
//! - `auth`, `authUsers`, `authRoles`: the auth store (`etcd_auth`).
//!
//! Not carried in the etcd buckets yet: raised alarms. detcd's own restore reads the `detcd`
//! bucket and keeps them.
//!
//! [`import`] reads the same buckets of an etcd 3.4 or 3.5 snapshot (which has no `detcd` bucket)
//! into a state machine: every version of the `key` bucket, the compaction point of `meta`, the
//! leases of `lease` with the keys attached to them; the store's revision is the newest revision
//! in `key` (or the compaction point, if that is newer), and the auth store of the auth buckets.

use super::bolt::{self, Buckets};
use detcd_core::apply::StateMachine;
use detcd_core::mvcc::history::{Live, Version};
use detcd_core::mvcc::Store;
use detcd_proto::convert::key_value_to_proto;
use detcd_proto::mvccpb;
use prost::Message;
use std::collections::BTreeMap;

/// The bucket and key of detcd's own archive inside the database.
pub const DETCD_BUCKET: &[u8] = b"detcd";
pub const ARCHIVE_KEY: &[u8] = b"archive";

/// The database file of `machine`, with `archive` (its detcd archive bytes) beside etcd's buckets.
pub fn database(machine: &StateMachine, archive: Vec<u8>) -> Vec<u8> {
    let mut buckets = etcd_buckets(machine);
    buckets.insert(DETCD_BUCKET.to_vec(), BTreeMap::from([(ARCHIVE_KEY.to_vec(), archive)]));
    bolt::write(&buckets)
}

/// etcd's `Maintenance.Hash` of `machine`: a CRC-32 over etcd's buckets in bbolt's order (each
/// bucket's name, then each key and value), leaving out `meta`'s `consistent_index` as etcd does,
/// so members that applied the same entries agree whatever their log indexes. It covers the
/// key space's retained history, the compaction point and the leases; two members whose hashes
/// differ hold different data.
pub fn backend_hash(machine: &StateMachine) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    for (bucket, entries) in &etcd_buckets(machine) {
        hasher.update(bucket);
        for (key, value) in entries {
            if bucket.as_slice() == b"meta" && key.as_slice() == b"consistent_index" {
                continue;
            }
            hasher.update(key);
            hasher.update(value);
        }
    }
    hasher.finalize()
}

/// etcd's buckets of `machine` (without detcd's own).
fn etcd_buckets(machine: &StateMachine) -> Buckets {
    let mut buckets = Buckets::new();
    buckets.insert(b"key".to_vec(), key_bucket(machine));
    buckets.insert(b"meta".to_vec(), meta_bucket(machine));
    buckets.insert(b"lease".to_vec(), lease_bucket(machine));
    let cluster = BTreeMap::from([(b"clusterVersion".to_vec(), b"3.4.0".to_vec())]);
    buckets.insert(b"cluster".to_vec(), cluster);
    for empty in [&b"members"[..], b"members_removed", b"alarm"] {
        buckets.insert(empty.to_vec(), BTreeMap::new());
    }
    super::etcd_auth::insert(&mut buckets, machine.auth());
    buckets
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
                Some(kv) => key_value_to_proto(kv),
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

/// etcd's `leasepb.Lease` (etcd leaves `remaining_ttl` unset in the backend).
#[derive(Clone, PartialEq, prost::Message)]
struct LeaseRecord {
    #[prost(int64, tag = "1")]
    id: i64,
    #[prost(int64, tag = "2")]
    ttl: i64,
    #[prost(int64, tag = "3")]
    remaining_ttl: i64,
}

fn lease_message(id: i64, ttl: i64) -> Vec<u8> {
    LeaseRecord { id, ttl, remaining_ttl: 0 }.encode_to_vec()
}

/// The state machine of an etcd database (see the module doc); `min_ttl` as the member's.
pub fn import(file: &[u8], min_ttl: i64) -> Result<StateMachine, String> {
    let auth = super::etcd_auth::read(file)?;
    let keys = bolt::entries(file, b"key")?.ok_or("no `key` bucket: not an etcd snapshot")?;
    let mut versions = Vec::with_capacity(keys.len());
    let mut newest = 0;
    for (revision, value) in keys {
        let (main, sub, tombstone) = parse_revision(revision)?;
        let kv = mvccpb::KeyValue::decode(value)
            .map_err(|e| format!("revision {main}.{sub}: not a KeyValue: {e}"))?;
        let live = (!tombstone).then(|| Live {
            create_revision: kv.create_revision,
            version: kv.version,
            lease: kv.lease,
            value: kv.value.into_boxed_slice(),
        });
        let sub = u32::try_from(sub).map_err(|_| format!("revision {main}.{sub} out of range"))?;
        newest = newest.max(main);
        versions.push((kv.key, Version { revision: main, sub, live }));
    }
    let compacted = match bolt::lookup(file, b"meta", b"finishedCompactRev")? {
        Some(bytes) => parse_revision(bytes)?.0,
        None => 0,
    };
    let store =
        Store::import(versions, newest.max(compacted), compacted).map_err(|e| e.to_string())?;
    let mut leases = Vec::new();
    for (_, value) in bolt::entries(file, b"lease")?.unwrap_or_default() {
        let lease = LeaseRecord::decode(value).map_err(|e| format!("not a lease: {e}"))?;
        leases.push((lease.id, lease.ttl));
    }
    let machine = StateMachine::import(store, &leases, min_ttl).map_err(|e| e.to_string())?;
    Ok(machine.with_auth(auth))
}

/// etcd's revision key: (main, sub, whether it marks a tombstone).
fn parse_revision(bytes: &[u8]) -> Result<(i64, i64, bool), String> {
    let tombstone = match bytes.len() {
        17 => false,
        18 if bytes[17] == b't' => true,
        _ => return Err(format!("{bytes:?} is not a revision key")),
    };
    if bytes[8] != b'_' {
        return Err(format!("{bytes:?} is not a revision key"));
    }
    let word = |at: usize| {
        let mut array = [0u8; 8];
        array.copy_from_slice(&bytes[at..at + 8]);
        i64::from_be_bytes(array)
    };
    Ok((word(0), word(9), tombstone))
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

        // Read back as etcd's buckets alone, it is the same state (the applied index aside).
        let imported = import(&db, 1).unwrap();
        assert_eq!(imported.store(), machine.store());
        assert_eq!(imported.lessor(), machine.lessor());
    }

    #[test]
    fn a_database_that_is_not_etcd_s_is_refused_with_the_reason() {
        let mut buckets = Buckets::new();
        buckets.insert(b"other".to_vec(), BTreeMap::new());
        assert!(import(&bolt::write(&buckets), 1).unwrap_err().contains("no `key` bucket"));
        buckets.insert(b"key".to_vec(), BTreeMap::from([(b"short".to_vec(), Vec::new())]));
        assert!(import(&bolt::write(&buckets), 1).unwrap_err().contains("not a revision key"));
        assert!(import(b"not a database", 1).is_err());
    }
}
