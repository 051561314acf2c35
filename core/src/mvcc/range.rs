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

use super::check::check_range;
use super::history::Version;
use super::store::Store;
use crate::api::{RangeRequest, RangeResponse, SortOrder, SortTarget};
use crate::error::Result;
use crate::kv::{KeyValue, ResponseHeader};
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
            let count = self.live_at(&range, revision).count() as i64;
            return RangeResponse { header, kvs: Vec::new(), more: false, count };
        }
        let plain = !has_filters(request) && is_key_order(request);
        let limit = usize::try_from(request.limit).ok().filter(|&l| l > 0);
        let mut count = 0i64;
        let mut kvs = Vec::new();
        for (key, version) in self.live_at(&range, revision) {
            count += 1;
            // With key order and no filters the first `limit + 1` pairs are the answer; the
            // rest only need counting.
            let wanted = !plain || limit.is_none_or(|l| kvs.len() <= l);
            if wanted && passes_filters(request, version) {
                kvs.push(version.key_value(key).unwrap_or_default());
            }
        }
        sort(&mut kvs, request.sort_order, request.sort_target);
        let mut more = false;
        if let Some(limit) = limit {
            if kvs.len() > limit {
                kvs.truncate(limit);
                more = true;
            }
        }
        // After sorting: a sort by value must still see the values.
        if request.keys_only {
            kvs.iter_mut().for_each(|kv| kv.value.clear());
        }
        RangeResponse { header, kvs, more, count }
    }
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
fn sort(kvs: &mut [KeyValue], order: SortOrder, target: SortTarget) {
    let order = match (order, target) {
        (SortOrder::None, SortTarget::Key) => return,
        (SortOrder::None, _) => SortOrder::Ascend,
        (order, _) => order,
    };
    let compare = |a: &KeyValue, b: &KeyValue| -> Ordering {
        match target {
            SortTarget::Key => a.key.cmp(&b.key),
            SortTarget::Version => a.version.cmp(&b.version),
            SortTarget::Create => a.create_revision.cmp(&b.create_revision),
            SortTarget::Mod => a.mod_revision.cmp(&b.mod_revision),
            SortTarget::Value => a.value.cmp(&b.value),
        }
    };
    match order {
        SortOrder::Descend => kvs.sort_by(|a, b| compare(b, a)),
        _ => kvs.sort_by(compare),
    }
}
