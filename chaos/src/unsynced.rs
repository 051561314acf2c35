//! Unsynced file data, kept in memory until its file is synced (LazyFS's idea, our code): the
//! pure half of the disk faults' file system (`lazyfs`), with no FUSE in it.
//!
//! A write, or a truncation, does not reach the file underneath (the *backing* file): it goes
//! into this cache, in whole pages, and reads see the cache over the backing file. Syncing a
//! file (`fsync`, `fdatasync`) writes its pages and length to the backing file; dropping the
//! cache (the member was SIGKILLed, so its machine "lost power") loses every byte not synced.
//!
//! Invariants, per file with cached changes:
//! - `keep <= len`: the backing bytes below `keep` are still the file's (unless a page covers
//!   them); the backing bytes at and past `keep` were truncated away since the last sync and
//!   read as zeros;
//! - a page holds every byte of its range as the file has it now (loaded from the backing file
//!   before its first write), and zeros past `len`;
//! - a file that was synced or never changed has no entry, and reads are the backing file's.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::FileExt;

/// The cache's unit: a write touching a page keeps the whole page.
pub const PAGE: u64 = 4096;

/// The file under the cache: its bytes as last synced.
pub trait Backing {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()>;
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    fn size(&self) -> io::Result<u64>;
}

impl Backing for std::fs::File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
    fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(self, data, offset)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        std::fs::File::set_len(self, len)
    }
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

/// One file's changes since its last sync.
#[derive(Debug, Clone)]
struct Dirty {
    len: u64,
    keep: u64,
    /// Page number -> the page's bytes (`PAGE` of them).
    pages: BTreeMap<u64, Vec<u8>>,
}

/// Every file's unsynced changes, by a key naming the file (the file system's inode number).
#[derive(Debug, Default)]
pub struct Unsynced<K: Ord + Copy> {
    files: BTreeMap<K, Dirty>,
}

/// Fills `buf` from `backing` at `offset`, as far as the backing file reaches.
fn read_backing(backing: &impl Backing, buf: &mut [u8], offset: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = backing.read_at(&mut buf[done..], offset + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(())
}

impl<K: Ord + Copy> Unsynced<K> {
    pub fn new() -> Self {
        Unsynced { files: BTreeMap::new() }
    }

    /// The file's length as its readers see it.
    pub fn len(&self, key: K, backing: &impl Backing) -> io::Result<u64> {
        match self.files.get(&key) {
            Some(dirty) => Ok(dirty.len),
            None => backing.size(),
        }
    }

    /// Whether the file has changes not synced.
    pub fn is_dirty(&self, key: K) -> bool {
        self.files.contains_key(&key)
    }

    /// How many files have changes not synced.
    pub fn dirty_files(&self) -> usize {
        self.files.len()
    }

    /// Up to `size` bytes at `offset`, as the file has them now (fewer at its end).
    pub fn read(
        &self,
        key: K,
        backing: &impl Backing,
        offset: u64,
        size: usize,
    ) -> io::Result<Vec<u8>> {
        let Some(dirty) = self.files.get(&key) else {
            let mut buf = vec![0; size];
            let mut done = 0;
            while done < size {
                let n = backing.read_at(&mut buf[done..], offset + done as u64)?;
                if n == 0 {
                    break;
                }
                done += n;
            }
            buf.truncate(done);
            return Ok(buf);
        };
        let end = dirty.len.min(offset.saturating_add(size as u64));
        if offset >= end {
            return Ok(Vec::new());
        }
        let mut buf = vec![0; (end - offset) as usize];
        let base_end = end.min(dirty.keep);
        if offset < base_end {
            read_backing(backing, &mut buf[..(base_end - offset) as usize], offset)?;
        }
        for (&number, page) in dirty.pages.range(offset / PAGE..=(end - 1) / PAGE) {
            let start = (number * PAGE).max(offset);
            let stop = ((number + 1) * PAGE).min(end);
            let from = (start - number * PAGE) as usize;
            let to = (start - offset) as usize;
            let n = (stop - start) as usize;
            buf[to..to + n].copy_from_slice(&page[from..from + n]);
        }
        Ok(buf)
    }

    fn entry(&mut self, key: K, backing: &impl Backing) -> io::Result<&mut Dirty> {
        match self.files.entry(key) {
            Entry::Occupied(entry) => Ok(entry.into_mut()),
            Entry::Vacant(entry) => {
                let len = backing.size()?;
                Ok(entry.insert(Dirty { len, keep: len, pages: BTreeMap::new() }))
            }
        }
    }

    /// Writes `data` at `offset` into the cache (the file grows if it ends past its length).
    pub fn write(
        &mut self,
        key: K,
        backing: &impl Backing,
        offset: u64,
        data: &[u8],
    ) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let dirty = self.entry(key, backing)?;
        let end = offset + data.len() as u64;
        for number in offset / PAGE..=(end - 1) / PAGE {
            let page_start = number * PAGE;
            if !dirty.pages.contains_key(&number) {
                let mut page = vec![0; PAGE as usize];
                let base_end = (page_start + PAGE).min(dirty.keep);
                if page_start < base_end {
                    read_backing(
                        backing,
                        &mut page[..(base_end - page_start) as usize],
                        page_start,
                    )?;
                }
                dirty.pages.insert(number, page);
            }
            let page = dirty.pages.get_mut(&number).expect("inserted above");
            let start = page_start.max(offset);
            let stop = (page_start + PAGE).min(end);
            let from = (start - offset) as usize;
            let to = (start - page_start) as usize;
            let n = (stop - start) as usize;
            page[to..to + n].copy_from_slice(&data[from..from + n]);
        }
        dirty.len = dirty.len.max(end);
        Ok(())
    }

    /// Sets the file's length in the cache (`ftruncate`): shorter drops bytes, longer adds zeros.
    pub fn truncate(&mut self, key: K, backing: &impl Backing, len: u64) -> io::Result<()> {
        let dirty = self.entry(key, backing)?;
        if len < dirty.len {
            dirty.keep = dirty.keep.min(len);
            let first_gone = len.div_ceil(PAGE);
            dirty.pages.retain(|&number, _| number < first_gone);
            if let Some(page) = dirty.pages.get_mut(&(len / PAGE)) {
                let cut = (len % PAGE) as usize;
                if cut > 0 {
                    page[cut..].fill(0);
                }
            }
        }
        dirty.len = len;
        Ok(())
    }

    /// Makes the file's changes durable: its length and pages reach the backing file. The
    /// changes leave the cache whatever happens: a sync that fails has lost them, as Linux
    /// marks pages clean after a failed writeback.
    pub fn sync(&mut self, key: K, backing: &mut impl Backing) -> io::Result<()> {
        let Some(dirty) = self.files.remove(&key) else { return Ok(()) };
        backing.set_len(dirty.keep)?;
        backing.set_len(dirty.len)?;
        for (number, page) in &dirty.pages {
            let start = number * PAGE;
            if start >= dirty.len {
                continue;
            }
            let n = (dirty.len - start).min(PAGE) as usize;
            backing.write_at(&page[..n], start)?;
        }
        Ok(())
    }

    /// Loses the file's unsynced changes (a failed fsync, or the file is gone); whether it had
    /// any.
    pub fn discard(&mut self, key: K) -> bool {
        self.files.remove(&key).is_some()
    }

    /// Loses every unsynced change (the process was killed: its "machine" lost power); how
    /// many files had some.
    pub fn drop_all(&mut self) -> usize {
        let files = self.files.len();
        self.files.clear();
        files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A backing file in memory.
    #[derive(Default, Clone, Debug, PartialEq)]
    struct Mem(Vec<u8>);

    impl Backing for Mem {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            let offset = offset as usize;
            if offset >= self.0.len() {
                return Ok(0);
            }
            let n = buf.len().min(self.0.len() - offset);
            buf[..n].copy_from_slice(&self.0[offset..offset + n]);
            Ok(n)
        }
        fn write_at(&mut self, data: &[u8], offset: u64) -> io::Result<()> {
            let end = offset as usize + data.len();
            if self.0.len() < end {
                self.0.resize(end, 0);
            }
            self.0[offset as usize..end].copy_from_slice(data);
            Ok(())
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            self.0.resize(len as usize, 0);
            Ok(())
        }
        fn size(&self) -> io::Result<u64> {
            Ok(self.0.len() as u64)
        }
    }

    fn all(cache: &Unsynced<u64>, backing: &Mem) -> Vec<u8> {
        cache.read(1, backing, 0, 1 << 20).unwrap()
    }

    #[test]
    fn writes_are_read_back_but_reach_the_backing_file_only_when_synced() {
        let mut backing = Mem(b"hello world".to_vec());
        let mut cache = Unsynced::new();
        cache.write(1, &backing, 6, b"there, friend").unwrap();
        assert_eq!(all(&cache, &backing), b"hello there, friend");
        assert_eq!(cache.len(1, &backing).unwrap(), 19);
        assert_eq!(backing.0, b"hello world", "not synced yet");
        assert_eq!(cache.read(1, &backing, 4, 3).unwrap(), b"o t");
        cache.sync(1, &mut backing).unwrap();
        assert_eq!(backing.0, b"hello there, friend");
        assert!(!cache.is_dirty(1));
        assert_eq!(all(&cache, &backing), b"hello there, friend");
    }

    #[test]
    fn dropping_loses_exactly_what_was_written_after_the_last_sync() {
        let mut backing = Mem::default();
        let mut cache = Unsynced::new();
        cache.write(1, &backing, 0, b"synced").unwrap();
        cache.sync(1, &mut backing).unwrap();
        cache.write(1, &backing, 6, b" lost").unwrap();
        cache.write(2, &Mem::default(), 0, b"another file").unwrap();
        assert_eq!(cache.dirty_files(), 2);
        assert_eq!(cache.drop_all(), 2);
        assert_eq!(all(&cache, &backing), b"synced");
        assert_eq!(cache.len(1, &backing).unwrap(), 6);
    }

    #[test]
    fn writes_across_pages_and_past_the_end_keep_every_other_byte() {
        let original: Vec<u8> = (0..3 * PAGE).map(|i| (i % 251) as u8).collect();
        let mut backing = Mem(original.clone());
        let mut cache = Unsynced::new();
        // Across the first page boundary, and a hole past the end.
        cache.write(1, &backing, PAGE - 2, b"abcd").unwrap();
        cache.write(1, &backing, 4 * PAGE + 10, b"tail").unwrap();
        let mut expected = original.clone();
        expected[(PAGE - 2) as usize..(PAGE + 2) as usize].copy_from_slice(b"abcd");
        expected.resize((4 * PAGE + 10) as usize, 0);
        expected.extend_from_slice(b"tail");
        assert_eq!(all(&cache, &backing), expected);
        assert_eq!(backing.0, original);
        cache.sync(1, &mut backing).unwrap();
        assert_eq!(backing.0, expected);
    }

    #[test]
    fn a_truncation_is_cached_too_and_bytes_cut_then_regrown_read_as_zeros() {
        let mut backing = Mem(vec![7; 10_000]);
        let mut cache = Unsynced::new();
        cache.truncate(1, &backing, 100).unwrap();
        assert_eq!(cache.len(1, &backing).unwrap(), 100);
        cache.truncate(1, &backing, 5_000).unwrap();
        let now = all(&cache, &backing);
        assert_eq!(now.len(), 5_000);
        assert!(now[..100].iter().all(|&b| b == 7));
        assert!(now[100..].iter().all(|&b| b == 0), "the cut bytes came back");
        assert_eq!(backing.0.len(), 10_000, "not synced yet");
        // A page written before a cut loses its tail too.
        cache.write(1, &backing, 4_100, b"xyz").unwrap();
        cache.truncate(1, &backing, 4_101).unwrap();
        cache.truncate(1, &backing, 4_200).unwrap();
        let now = all(&cache, &backing);
        assert_eq!(&now[4_099..4_103], &[0, b'x', 0, 0]);
        cache.sync(1, &mut backing).unwrap();
        assert_eq!(backing.0, now);
        cache.truncate(1, &backing, 1).unwrap();
        assert_eq!(cache.drop_all(), 1);
        assert_eq!(all(&cache, &backing), now, "an unsynced truncation is lost too");
    }

    #[test]
    fn a_discarded_file_reads_as_last_synced_and_others_keep_their_changes() {
        let backing = Mem(b"old".to_vec());
        let mut cache = Unsynced::new();
        cache.write(1, &backing, 0, b"new").unwrap();
        cache.write(2, &backing, 0, b"two").unwrap();
        assert!(cache.discard(1));
        assert!(!cache.discard(1));
        assert_eq!(all(&cache, &backing), b"old");
        assert_eq!(cache.read(2, &backing, 0, 10).unwrap(), b"two");
    }

    #[test]
    fn reads_at_or_past_the_end_are_empty() {
        let backing = Mem(b"abc".to_vec());
        let mut cache = Unsynced::new();
        assert_eq!(cache.read(1, &backing, 3, 10).unwrap(), b"");
        cache.write(1, &backing, 3, b"d").unwrap();
        assert_eq!(cache.read(1, &backing, 4, 10).unwrap(), b"");
        assert_eq!(cache.read(1, &backing, 2, 10).unwrap(), b"cd");
    }
}
