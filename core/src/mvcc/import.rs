//! A store built from an exported whole history (another system's, such as etcd's `key` bucket):
//! every retained version with its key, and the revision and compaction point it stood at.
//!
//! The inverse of [`Store::retained`]. Nothing is trusted: the versions must come in (revision,
//! sub-revision) order without repeats, every revision must lie in `1..=revision`, the
//! compaction point at or below the revision, and a live version's create revision and version
//! must be positive; anything else is refused with the first offending version, never a panic.

use super::history::{KeyHistory, Version};
use super::key::Key;
use super::store::Store;
use crate::error::{Error, Result};
use std::collections::BTreeMap;

impl Store {
    /// The store holding `versions` (key, version; in revision order) at `revision`, compacted
    /// at `compact_revision` (0: never).
    pub fn import(
        versions: impl IntoIterator<Item = (Vec<u8>, Version)>,
        revision: i64,
        compact_revision: i64,
    ) -> Result<Store> {
        let refuse = |why: String| Err(Error::Other(format!("cannot import the history: {why}")));
        if compact_revision < 0 || compact_revision > revision {
            return refuse(format!("compaction at {compact_revision} beyond revision {revision}"));
        }
        let mut index: BTreeMap<Key, KeyHistory> = BTreeMap::new();
        let mut last = (0, 0);
        for (key, version) in versions {
            let at = (version.revision, version.sub);
            if at <= last || version.revision > revision || key.is_empty() {
                return refuse(format!(
                    "version at {at:?} of key {:?} is out of order, empty or beyond revision \
                     {revision}",
                    String::from_utf8_lossy(&key)
                ));
            }
            if let Some(live) = &version.live {
                if live.create_revision <= 0
                    || live.create_revision > version.revision
                    || live.version <= 0
                {
                    return refuse(format!(
                        "version at {at:?} has create revision {} and version {}",
                        live.create_revision, live.version
                    ));
                }
            }
            last = at;
            index.entry(Key::from_slice(&key)).or_default().push(version);
        }
        Ok(Store::from_index(index, revision.max(1), compact_revision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{DeleteRangeRequest, PutRequest};
    use crate::kv::LeaseId;

    #[test]
    fn a_store_exported_and_imported_is_the_same_store() {
        let no_leases = |_: LeaseId| false;
        let mut store = Store::new();
        for (key, value) in [("a", "1"), ("b", "2"), ("a", "3")] {
            let put = PutRequest { key: key.into(), value: value.into(), ..PutRequest::default() };
            store.put(&put, &no_leases).unwrap();
        }
        store
            .delete_range(&DeleteRangeRequest { key: b"b".to_vec(), ..Default::default() })
            .unwrap();
        store.compact(3).unwrap();
        let versions: Vec<(Vec<u8>, Version)> =
            store.retained().into_iter().map(|(k, v)| (k.to_vec(), v.clone())).collect();
        let imported = Store::import(versions, store.revision(), store.compact_revision()).unwrap();
        assert_eq!(imported, store);
        assert_eq!(imported.backend_bytes(), store.backend_bytes());
    }

    #[test]
    fn versions_out_of_order_or_beyond_the_revision_are_refused() {
        let version = |revision| Version { revision, sub: 0, live: None };
        let twice = vec![(b"a".to_vec(), version(3)), (b"b".to_vec(), version(3))];
        assert!(Store::import(twice, 5, 0).is_err());
        assert!(Store::import(vec![(b"a".to_vec(), version(6))], 5, 0).is_err());
        assert!(Store::import(vec![(b"a".to_vec(), version(2))], 5, 6).is_err());
        assert!(Store::import(vec![(Vec::new(), version(2))], 5, 0).is_err());
        assert!(Store::import(vec![(b"a".to_vec(), version(2))], 5, 0).is_ok());
    }
}
