//! The synced group's index: which watchers see an event on a given key.
//!
//! Single-key watchers sit in a map by key (one lookup per event). Range watchers sit in a map by
//! start key and then end key, so a lookup only visits ranges that start at or before the key and
//! checks their ends; watchers with the same range share one entry (etcd groups them the same
//! way). Everything is a `BTreeMap`/`BTreeSet`, so matches come out in the same order every run.

use super::watcher::WatcherRef;
use crate::kv::KeyRange;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

#[derive(Debug, Default)]
pub(crate) struct WatcherIndex {
    keys: BTreeMap<Vec<u8>, BTreeSet<WatcherRef>>,
    /// start key -> end key (`[0]` = no end) -> watchers.
    ranges: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, BTreeSet<WatcherRef>>>,
    len: usize,
}

impl WatcherIndex {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn insert(&mut self, who: WatcherRef, range: &KeyRange) {
        let set = if range.is_single() {
            self.keys.entry(range.key.clone()).or_default()
        } else {
            let ends = self.ranges.entry(range.key.clone()).or_default();
            ends.entry(range.range_end.clone()).or_default()
        };
        if set.insert(who) {
            self.len += 1;
        }
    }

    /// Removes `who`; false when it was not indexed under `range`.
    pub fn remove(&mut self, who: WatcherRef, range: &KeyRange) -> bool {
        let removed = if range.is_single() {
            remove_from(&mut self.keys, &range.key, who)
        } else {
            let Some(ends) = self.ranges.get_mut(&range.key) else { return false };
            let removed = remove_from(ends, &range.range_end, who);
            if ends.is_empty() {
                self.ranges.remove(&range.key);
            }
            removed
        };
        if removed {
            self.len -= 1;
        }
        removed
    }

    /// Appends every watcher whose range contains `key` to `out`.
    pub fn matching(&self, key: &[u8], out: &mut Vec<WatcherRef>) {
        if let Some(set) = self.keys.get(key) {
            out.extend(set.iter().copied());
        }
        let starts = self.ranges.range::<[u8], _>((Bound::Unbounded, Bound::Included(key)));
        for (_, ends) in starts {
            for (end, set) in ends {
                if end.as_slice() == [0] || key < end.as_slice() {
                    out.extend(set.iter().copied());
                }
            }
        }
    }

    /// Empties the index, returning every watcher that was in it, in order.
    pub fn take_all(&mut self) -> Vec<WatcherRef> {
        let mut all: Vec<WatcherRef> = self.keys.values().flatten().copied().collect();
        all.extend(self.ranges.values().flat_map(|ends| ends.values().flatten().copied()));
        all.sort_unstable();
        *self = WatcherIndex::default();
        all
    }
}

fn remove_from(
    map: &mut BTreeMap<Vec<u8>, BTreeSet<WatcherRef>>,
    key: &[u8],
    who: WatcherRef,
) -> bool {
    let Some(set) = map.get_mut(key) else { return false };
    let removed = set.remove(&who);
    if set.is_empty() {
        map.remove(key);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::api::StreamId;

    fn who(id: i64) -> WatcherRef {
        WatcherRef { stream: StreamId(1), id }
    }

    #[test]
    fn lookups_find_keys_prefixes_and_open_ranges() {
        let mut index = WatcherIndex::default();
        index.insert(who(1), &KeyRange::single("a/b"));
        index.insert(who(2), &KeyRange::prefix("a/"));
        index.insert(who(3), &KeyRange { key: b"b".to_vec(), range_end: vec![0] });
        index.insert(who(4), &KeyRange::prefix("a/"));
        let mut found = Vec::new();
        index.matching(b"a/b", &mut found);
        assert_eq!(found, vec![who(1), who(2), who(4)]);
        found.clear();
        index.matching(b"zz", &mut found);
        assert_eq!(found, vec![who(3)]);
        assert_eq!(index.len(), 4);
        assert!(index.remove(who(2), &KeyRange::prefix("a/")));
        assert!(!index.remove(who(2), &KeyRange::prefix("a/")));
        assert_eq!(index.take_all(), vec![who(1), who(3), who(4)]);
        assert_eq!(index.len(), 0);
    }
}
