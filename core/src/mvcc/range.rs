//! Range reads: which keys a `RangeRequest` returns and how they are counted, filtered, sorted
//! and cut, exactly as etcd's `executeRange` does.
//!
//! The order of the steps matters and is etcd's:
//! 1. collect every key of the range that existed at the read revision; `count` is the number of
//!    them, *before* the min/max revision filters (an etcd quirk clients can observe);
//! 2. drop pairs outside the min/max mod/create revision filters;
//! 3. sort (a non-key target with no order sorts ascending; ties keep key order, so the answer is
//!    deterministic);
//! 4. cut to `limit`, setting `more` when something was cut; `keys_only` clears values and
//!    `count_only` returns no pairs at all.
//!
//! The response header carries the store's current revision, even for a historical read.

use super::batch::Values;
use super::check::check_range;
use super::history::Version;
use super::store::Store;
use crate::api::{RangeRequest, RangeResponse, SortOrder, SortTarget};
use crate::error::Result;
use crate::kv::{KeyRange, KeyValue, ResponseHeader};
use std::cmp::Ordering;

impl Store {
    /// Serves a range read at the request's revision (0 = current).
    pub fn range(&self, request: &RangeRequest) -> Result<RangeResponse> {
        check_range(request)?;
        let revision = self.check_read_revision(request.revision)?;
        Ok(self.range_at(request, revision))
    }

    /// Serves a range read at an already checked revision.
    pub(super) fn range_at(&self, request: &RangeRequest, revision: i64) -> RangeResponse {
        let header = ResponseHeader { revision: self.revision, ..ResponseHeader::default() };
        let range = request.key_range();
        if request.count_only {
            let mut count = 0i64;
            self.for_each_live(&range, revision, Values::Skip, |_, _| count += 1);
            return RangeResponse { header, kvs: Vec::new(), more: false, count };
        }
        let limit = usize::try_from(request.limit).ok().filter(|&l| l > 0);
        if !has_filters(request) && is_key_order(request) {
            let (kvs, more, count) = self.range_in_key_order(request, revision, limit);
            return RangeResponse { header, kvs, more, count };
        }
        // One walk of the index collects references only; pairs are copied out after sorting
        // and cutting, so nothing is copied that the answer does not return, values are never
        // touched for `keys_only`, and the answer is allocated once at its exact size.
        let values = if request.keys_only { Values::Skip } else { Values::Read };
        let mut count = 0i64;
        let mut found: Vec<(&[u8], &Version)> = Vec::new();
        self.for_each_live(&range, revision, values, |key, version| {
            count += 1;
            if passes_filters(request, version) {
                found.push((key, version));
            }
        });
        sort(&mut found, request.sort_order, request.sort_target);
        let mut more = false;
        if let Some(limit) = limit {
            if found.len() > limit {
                found.truncate(limit);
                more = true;
            }
        }
        let kvs = copy_out(&found, request.keys_only);
        RangeResponse { header, kvs, more, count }
    }

    /// The common case, key order and no filters: the answer is the first `limit` live pairs,
    /// so they are copied out as the walk reaches them, while their values are still cached
    /// from the walk's prefetch; past the limit keys are only counted. Returns the pairs,
    /// `more` and `count`.
    fn range_in_key_order(
        &self,
        request: &RangeRequest,
        revision: i64,
        limit: Option<usize>,
    ) -> (Vec<KeyValue>, bool, i64) {
        let range = request.key_range();
        let values = if request.keys_only { Values::Skip } else { Values::Read };
        let wanted = limit.unwrap_or(usize::MAX);
        let mut count = 0i64;
        let mut kvs = Vec::with_capacity(reserve_for(&range, wanted));
        self.for_each_live(&range, revision, values, |key, version| {
            count += 1;
            if kvs.len() < wanted {
                kvs.extend(copy_pair(key, version, request.keys_only));
            }
        });
        let more = usize::try_from(count).is_ok_and(|count| count > kvs.len());
        (kvs, more, count)
    }
}

/// Pairs a key-order answer reserves room for before its walk: a single key needs one; a range
/// gets the limit, up to [`RESERVE_MAX`].
///
/// Why reserve at all: the walk cannot know how many pairs it will find, and growing the answer
/// by doubling reallocates and copies it about ten times on the way to a thousand pairs, on
/// fresh, uncached memory each time; measured on a cold 1,000-key range, that was about 10 us of
/// 100. Past the reservation a larger answer still grows by doubling.
fn reserve_for(range: &KeyRange, wanted: usize) -> usize {
    if range.is_single() {
        return 1;
    }
    wanted.min(RESERVE_MAX)
}

/// At most this many pairs (80 bytes each, 80 KiB) are reserved up front: enough that common
/// list sizes never regrow, small enough that a range finding a few keys wastes little.
const RESERVE_MAX: usize = 1024;

/// One live pair as etcd's `KeyValue` (`None` for a tombstone); its value left empty if
/// `keys_only`.
fn copy_pair(key: &[u8], version: &Version, keys_only: bool) -> Option<KeyValue> {
    let live = version.live.as_ref()?;
    Some(KeyValue {
        key: key.to_vec(),
        create_revision: live.create_revision,
        mod_revision: version.revision,
        version: live.version,
        value: if keys_only { Vec::new() } else { live.value.to_vec() },
        lease: live.lease,
    })
}

/// The answer's pairs, copied out of the store (their values were prefetched by the walk).
/// `keys_only` clears values after sorting in etcd; here they are simply never copied, which
/// is the same answer.
fn copy_out(found: &[(&[u8], &Version)], keys_only: bool) -> Vec<KeyValue> {
    let mut kvs = Vec::with_capacity(found.len());
    kvs.extend(found.iter().filter_map(|(key, version)| copy_pair(key, version, keys_only)));
    kvs
}

fn has_filters(r: &RangeRequest) -> bool {
    r.min_mod_revision != 0
        || r.max_mod_revision != 0
        || r.min_create_revision != 0
        || r.max_create_revision != 0
}

fn is_key_order(r: &RangeRequest) -> bool {
    matches!(
        (r.sort_order, r.sort_target),
        (SortOrder::None, SortTarget::Key) | (SortOrder::Ascend, SortTarget::Key)
    )
}

fn passes_filters(r: &RangeRequest, version: &Version) -> bool {
    let Some(live) = &version.live else { return false };
    let m = version.revision;
    let c = live.create_revision;
    !(r.max_mod_revision != 0 && m > r.max_mod_revision
        || r.min_mod_revision != 0 && m < r.min_mod_revision
        || r.max_create_revision != 0 && c > r.max_create_revision
        || r.min_create_revision != 0 && c < r.min_create_revision)
}

/// Sorts as etcd does; a stable sort over key-ordered input keeps ties in key order.
fn sort(found: &mut [(&[u8], &Version)], order: SortOrder, target: SortTarget) {
    let order = match (order, target) {
        (SortOrder::None, SortTarget::Key) => return,
        (SortOrder::None, _) => SortOrder::Ascend,
        (order, _) => order,
    };
    // Every found version is live (`live_at` returns no tombstones).
    let compare = |a: &(&[u8], &Version), b: &(&[u8], &Version)| -> Ordering {
        let (la, lb) = (a.1.live.as_ref(), b.1.live.as_ref());
        match target {
            SortTarget::Key => a.0.cmp(b.0),
            SortTarget::Version => la.map(|l| l.version).cmp(&lb.map(|l| l.version)),
            SortTarget::Create => la.map(|l| l.create_revision).cmp(&lb.map(|l| l.create_revision)),
            SortTarget::Mod => a.1.revision.cmp(&b.1.revision),
            SortTarget::Value => la.map(|l| &l.value).cmp(&lb.map(|l| &l.value)),
        }
    };
    match order {
        SortOrder::Descend => found.sort_by(|a, b| compare(b, a)),
        _ => found.sort_by(compare),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PutRequest;

    fn key(i: usize) -> Vec<u8> {
        format!("k{i:05}").into_bytes()
    }

    #[test]
    fn answers_past_the_reservation_keep_every_pair_in_key_order() {
        let keys = RESERVE_MAX + 37;
        let mut store = Store::new();
        for i in (0..keys).rev() {
            let put = PutRequest { key: key(i), value: vec![i as u8; 3], ..Default::default() };
            store.put(&put, &|_| false).expect("put");
        }
        let all = RangeRequest { key: key(0), range_end: vec![0], ..Default::default() };
        let answer = store.range(&all).expect("range");
        let got: Vec<Vec<u8>> = answer.kvs.iter().map(|kv| kv.key.clone()).collect();
        assert_eq!(got, (0..keys).map(key).collect::<Vec<_>>());
        assert_eq!((answer.count, answer.more), (keys as i64, false));
        assert!(answer.kvs.iter().enumerate().all(|(i, kv)| kv.value == vec![i as u8; 3]));
        let limited = store.range(&RangeRequest { limit: 5, ..all }).expect("range");
        assert_eq!((limited.kvs.len(), limited.count, limited.more), (5, keys as i64, true));
        let one = store.range(&RangeRequest { key: key(7), ..Default::default() }).expect("get");
        assert_eq!(one.kvs.iter().map(|kv| kv.key.clone()).collect::<Vec<_>>(), [key(7)]);
    }
}
