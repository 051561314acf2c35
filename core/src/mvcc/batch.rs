//! Reading many keys at once without waiting for memory once per key.
//!
//! Keys put in random order have their histories and values scattered over the heap, so a
//! range read of a thousand keys would wait for main memory a few thousand times, one after
//! the other, if it followed each key's pointers before looking at the next key. Instead it
//! works in batches of [`BATCH`] keys: first a tight loop reads one word of every
//! history (its newest version is inline, see [`super::history::KeyHistory`]) (or every cache line of every value) of the batch - loads that do not depend on
//! each other, so the processor keeps them all in flight at once - and then the real work runs
//! on cached memory. The touches are safe, ordinary loads; they change no result.

use super::history::Version;
use super::store::{Key, Slot, Store};
use crate::kv::KeyRange;

/// Keys per batch: enough to keep the processor's outstanding misses busy, few enough that the
/// batch is still cached when the real work reaches it.
pub(super) const BATCH: usize = 16;

impl Store {
    /// Calls `each` for every key of `range` that is live at `revision` (already checked), in
    /// key order: what [`Store::live_at`] yields, fetched a batch at a time.
    pub(super) fn for_each_live<'a>(
        &'a self,
        range: &KeyRange,
        revision: i64,
        mut each: impl FnMut(&'a Key, &'a Version),
    ) {
        let mut slots = self.slots(range);
        let mut batch: Vec<(&Key, Slot)> = Vec::with_capacity(BATCH);
        loop {
            batch.clear();
            batch.extend(slots.by_ref().take(BATCH));
            if batch.is_empty() {
                return;
            }
            let mut seen = 0i64;
            for &(_, slot) in &batch {
                seen ^= self.histories[slot as usize].newest().map_or(0, |v| v.revision);
            }
            std::hint::black_box(seen);
            for &(key, slot) in &batch {
                if let Some(version) = self.histories[slot as usize].live_at(revision) {
                    each(key, version);
                }
            }
        }
    }
}

/// Reads one byte of every cache line of the values of `batch`, so the copies that follow find
/// them cached (see the module doc).
pub(super) fn touch_values(batch: &[(&[u8], &Version)]) {
    let mut seen = 0u8;
    for (_, version) in batch {
        if let Some(live) = &version.live {
            for line in live.value.chunks(64) {
                seen ^= line[0];
            }
        }
    }
    std::hint::black_box(seen);
}
