//! The bbolt file format, as far as snapshots need it: writing a whole database of buckets at
//! once, and looking a value up in one.
//!
//! etcd's snapshot is its bbolt database file, and etcd's tools (`etcdctl snapshot status` and
//! `restore`, `etcdutl`) open it with bbolt. A database is a sequence of pages (4096 bytes here):
//! pages 0 and 1 are the two meta pages (the newest valid one wins; both are written alike here,
//! transaction ids 0 and 1), then the B+trees: every bucket is a tree of leaf pages (keys with
//! their values, in key order) under branch pages (the first key of each child and its page id),
//! and the database's root tree lists the buckets (a key per bucket, flagged as a bucket, whose
//! value names the bucket's root page). An element larger than a page gets a node spanning
//! several consecutive pages (the header's overflow count). The freelist page is written empty:
//! every page below the high-water mark is reachable, which bbolt's consistency check (run by
//! `etcdctl snapshot status`) requires. Integers are little-endian, as bbolt writes them on the
//! machines etcd runs on; the meta page carries bbolt's FNV-1a checksum.
//!
//! The reader trusts nothing: a file that is not a database, a page id out of range, an element
//! pointing outside its page are errors, never a panic.

use std::collections::BTreeMap;

/// The page size written.
const PAGE: usize = 4096;
const MAGIC: u32 = 0xED0C_DAED;
const VERSION: u32 = 2;
const HEADER: usize = 16;
const ELEMENT: usize = 16;
const BRANCH_PAGE: u16 = 0x01;
const LEAF_PAGE: u16 = 0x02;
const META_PAGE: u16 = 0x04;
const FREELIST_PAGE: u16 = 0x10;
/// A leaf element that is a nested bucket.
const BUCKET_LEAF: u32 = 0x01;
/// Where the meta checksum sits inside the meta structure (after the page header).
const META_CHECKSUM_AT: usize = 56;

/// Buckets by name, each its keys and values.
pub type Buckets = BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, Vec<u8>>>;

/// A bucket's keys and values as read, borrowed from the file.
pub type Entries<'a> = Vec<(&'a [u8], &'a [u8])>;

/// The database file holding `buckets`.
pub fn write(buckets: &Buckets) -> Vec<u8> {
    let mut pages = Pages { bytes: vec![0; 2 * PAGE], next: 2 };
    let mut listing = Vec::new();
    for (name, entries) in buckets {
        let entries = entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice(), 0)).collect();
        let root = pages.tree(entries);
        let mut header = root.to_le_bytes().to_vec();
        header.extend_from_slice(&0u64.to_le_bytes()); // the bucket's sequence
        listing.push((name.clone(), header));
    }
    let root = pages
        .tree(listing.iter().map(|(k, v)| (k.as_slice(), v.as_slice(), BUCKET_LEAF)).collect());
    let freelist = pages.allocate(1);
    pages.header(freelist, FREELIST_PAGE, 0, 0);
    let high_water = pages.next;
    for (id, txid) in [(0u64, 0u64), (1, 1)] {
        pages.header(id, META_PAGE, 0, 0);
        let mut meta = Vec::with_capacity(64);
        for word in [MAGIC, VERSION, PAGE as u32, 0] {
            meta.extend_from_slice(&word.to_le_bytes());
        }
        for word in [root, 0, freelist, high_water, txid] {
            meta.extend_from_slice(&word.to_le_bytes());
        }
        let checksum = fnv1a64(&meta[..META_CHECKSUM_AT]);
        meta.extend_from_slice(&checksum.to_le_bytes());
        let at = id as usize * PAGE + HEADER;
        pages.bytes[at..at + meta.len()].copy_from_slice(&meta);
    }
    pages.bytes
}

/// The pages written so far; ids are handed out in order after the two meta pages.
struct Pages {
    bytes: Vec<u8>,
    next: u64,
}

impl Pages {
    fn allocate(&mut self, span: usize) -> u64 {
        let id = self.next;
        self.next += span as u64;
        self.bytes.resize(self.next as usize * PAGE, 0);
        id
    }

    fn header(&mut self, id: u64, flags: u16, count: u16, overflow: u32) {
        let at = id as usize * PAGE;
        self.bytes[at..at + 8].copy_from_slice(&id.to_le_bytes());
        self.bytes[at + 8..at + 10].copy_from_slice(&flags.to_le_bytes());
        self.bytes[at + 10..at + 12].copy_from_slice(&count.to_le_bytes());
        self.bytes[at + 12..at + 16].copy_from_slice(&overflow.to_le_bytes());
    }

    /// Writes a tree of `entries` (sorted by key: key, value, element flags); its root page.
    fn tree(&mut self, entries: Vec<(&[u8], &[u8], u32)>) -> u64 {
        let mut level: Vec<(Vec<u8>, u64)> = Vec::new();
        for node in nodes(&entries, |(k, v, _)| k.len() + v.len()) {
            let first = node.first().map(|(k, _, _)| k.to_vec()).unwrap_or_default();
            level.push((first, self.leaf(node)));
        }
        while level.len() > 1 {
            let mut parents = Vec::new();
            for node in nodes(&level, |(k, _)| k.len()) {
                let first = node.first().map(|(k, _)| k.clone()).unwrap_or_default();
                parents.push((first, self.branch(node)));
            }
            level = parents;
        }
        level.first().map_or_else(|| self.leaf(&[]), |(_, id)| *id)
    }

    fn leaf(&mut self, node: &[(&[u8], &[u8], u32)]) -> u64 {
        let data: usize = node.iter().map(|(k, v, _)| k.len() + v.len()).sum();
        let id = self.node_pages(LEAF_PAGE, node.len(), data);
        let base = id as usize * PAGE + HEADER;
        let mut at = base + node.len() * ELEMENT;
        for (i, (key, value, flags)) in node.iter().enumerate() {
            let element = base + i * ELEMENT;
            let words = [*flags, (at - element) as u32, key.len() as u32, value.len() as u32];
            for (j, word) in words.iter().enumerate() {
                self.bytes[element + 4 * j..element + 4 * j + 4]
                    .copy_from_slice(&word.to_le_bytes());
            }
            self.bytes[at..at + key.len()].copy_from_slice(key);
            self.bytes[at + key.len()..at + key.len() + value.len()].copy_from_slice(value);
            at += key.len() + value.len();
        }
        id
    }

    fn branch(&mut self, node: &[(Vec<u8>, u64)]) -> u64 {
        let data: usize = node.iter().map(|(k, _)| k.len()).sum();
        let id = self.node_pages(BRANCH_PAGE, node.len(), data);
        let base = id as usize * PAGE + HEADER;
        let mut at = base + node.len() * ELEMENT;
        for (i, (key, child)) in node.iter().enumerate() {
            let element = base + i * ELEMENT;
            self.bytes[element..element + 4]
                .copy_from_slice(&((at - element) as u32).to_le_bytes());
            self.bytes[element + 4..element + 8].copy_from_slice(&(key.len() as u32).to_le_bytes());
            self.bytes[element + 8..element + 16].copy_from_slice(&child.to_le_bytes());
            self.bytes[at..at + key.len()].copy_from_slice(key);
            at += key.len();
        }
        id
    }

    /// Allocates the pages of one node of `count` elements and `data` bytes of keys and values.
    fn node_pages(&mut self, flags: u16, count: usize, data: usize) -> u64 {
        let span = (HEADER + count * ELEMENT + data).div_ceil(PAGE).max(1);
        let id = self.allocate(span);
        self.header(id, flags, count as u16, (span - 1) as u32);
        id
    }
}

/// `items` cut into nodes that each fill at most a page (a lone item too big for one page gets
/// a node of its own) and hold at most `u16::MAX` elements.
fn nodes<T>(items: &[T], size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut nodes = Vec::new();
    let (mut start, mut used) = (0, HEADER);
    for (i, item) in items.iter().enumerate() {
        let cost = ELEMENT + size(item);
        let full = used + cost > PAGE || i - start == u16::MAX as usize;
        if i > start && full {
            nodes.push(&items[start..i]);
            (start, used) = (i, HEADER);
        }
        used += cost;
    }
    if start < items.len() {
        nodes.push(&items[start..]);
    }
    nodes
}

/// bbolt's meta checksum (FNV-1a, 64 bits).
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Whether `file` starts like a bbolt database (the first meta page's magic).
pub fn is_database(file: &[u8]) -> bool {
    file.get(HEADER..HEADER + 4).is_some_and(|magic| magic == MAGIC.to_le_bytes())
}

/// The value of `key` in bucket `bucket` of the database `file`, if both exist.
pub fn lookup<'a>(file: &'a [u8], bucket: &[u8], key: &[u8]) -> Result<Option<&'a [u8]>, String> {
    let db = Database::open(file)?;
    let Some((header, flags)) = db.find(db.root, bucket)? else { return Ok(None) };
    if flags & BUCKET_LEAF == 0 || header.len() < 16 {
        return Err(format!("{:?} is not a bucket", String::from_utf8_lossy(bucket)));
    }
    let root = u64_at(header, 0)?;
    if root == 0 {
        // An inline bucket: its one leaf page follows the bucket header in the value.
        return Database::find_in_page(&header[16..], key);
    }
    Ok(db.find(root, key)?.map(|(value, _)| value))
}

/// Every key and value of bucket `bucket` of the database `file`, in key order (`None` when
/// there is no such bucket); nested buckets are skipped.
pub fn entries<'a>(file: &'a [u8], bucket: &[u8]) -> Result<Option<Entries<'a>>, String> {
    let db = Database::open(file)?;
    let Some((header, flags)) = db.find(db.root, bucket)? else { return Ok(None) };
    if flags & BUCKET_LEAF == 0 || header.len() < 16 {
        return Err(format!("{:?} is not a bucket", String::from_utf8_lossy(bucket)));
    }
    let mut found = Vec::new();
    match u64_at(header, 0)? {
        0 => leaf_entries(&header[16..], &mut found)?,
        root => db.walk(root, &mut found, 0)?,
    }
    Ok(Some(found))
}

struct Database<'a> {
    file: &'a [u8],
    page_size: usize,
    root: u64,
}

impl<'a> Database<'a> {
    fn open(file: &'a [u8]) -> Result<Database<'a>, String> {
        if !is_database(file) {
            return Err("not a bbolt database (no magic number)".into());
        }
        let meta = file.get(HEADER..HEADER + 64).ok_or("database too short for its meta page")?;
        if fnv1a64(&meta[..META_CHECKSUM_AT]) != u64_at(meta, META_CHECKSUM_AT)? {
            return Err("database meta page checksum mismatch".into());
        }
        let page_size = u32_at(meta, 8)? as usize;
        if !(512..=1 << 20).contains(&page_size) {
            return Err(format!("database page size {page_size} out of range"));
        }
        Ok(Database { file, page_size, root: u64_at(meta, 16)? })
    }

    /// The bytes of page `id` and the pages it overflows into.
    fn page(&self, id: u64) -> Result<&'a [u8], String> {
        let at = (id as usize).checked_mul(self.page_size).ok_or("page id out of range")?;
        let head = self.file.get(at..at + HEADER).ok_or(format!("page {id} beyond the file"))?;
        let span = 1 + u32_at(head, 12)? as usize;
        let end = at + span * self.page_size;
        self.file.get(at..end).ok_or(format!("page {id} runs beyond the file"))
    }

    /// Looks `key` up in the tree rooted at page `id`: its value and element flags.
    fn find(&self, mut id: u64, key: &[u8]) -> Result<Option<(&'a [u8], u32)>, String> {
        for _ in 0..64 {
            let page = self.page(id)?;
            let flags = u16::from_le_bytes([page[8], page[9]]);
            if flags & LEAF_PAGE != 0 {
                return leaf_find(page, key);
            }
            if flags & BRANCH_PAGE == 0 {
                return Err(format!("page {id} is neither a leaf nor a branch"));
            }
            let count = u16::from_le_bytes([page[10], page[11]]) as usize;
            let mut child = None;
            for i in 0..count {
                let element = HEADER + i * ELEMENT;
                let pos = u32_at(page, element)? as usize;
                let ksize = u32_at(page, element + 4)? as usize;
                let first = slice(page, element + pos, ksize)?;
                if first > key && child.is_some() {
                    break;
                }
                child = Some(u64_at(page, element + 8)?);
            }
            id = child.ok_or(format!("branch page {id} is empty"))?;
        }
        Err("database tree deeper than 64 levels".into())
    }

    /// Appends every entry of the tree rooted at page `id`, in key order.
    fn walk(&self, id: u64, found: &mut Entries<'a>, depth: usize) -> Result<(), String> {
        if depth > 64 {
            return Err("database tree deeper than 64 levels".into());
        }
        let page = self.page(id)?;
        let flags = u16::from_le_bytes([page[8], page[9]]);
        if flags & LEAF_PAGE != 0 {
            return leaf_entries(page, found);
        }
        if flags & BRANCH_PAGE == 0 {
            return Err(format!("page {id} is neither a leaf nor a branch"));
        }
        let count = u16::from_le_bytes([page[10], page[11]]) as usize;
        for i in 0..count {
            let child = u64_at(page, HEADER + i * ELEMENT + 8)?;
            if child == id {
                return Err(format!("branch page {id} points at itself"));
            }
            self.walk(child, found, depth + 1)?;
        }
        Ok(())
    }

    fn find_in_page(page: &'a [u8], key: &[u8]) -> Result<Option<&'a [u8]>, String> {
        Ok(leaf_find(page, key)?.map(|(value, _)| value))
    }
}

/// One element of a leaf page: its flags, key and value.
type Element<'a> = (u32, &'a [u8], &'a [u8]);

/// The elements of one leaf page.
fn leaf_elements(page: &[u8]) -> Result<Vec<Element<'_>>, String> {
    let count = u16::from_le_bytes([
        *page.get(10).ok_or("short page")?,
        *page.get(11).ok_or("short page")?,
    ]);
    (0..count as usize)
        .map(|i| {
            let element = HEADER + i * ELEMENT;
            let flags = u32_at(page, element)?;
            let pos = u32_at(page, element + 4)? as usize;
            let ksize = u32_at(page, element + 8)? as usize;
            let vsize = u32_at(page, element + 12)? as usize;
            let key = slice(page, element + pos, ksize)?;
            Ok((flags, key, slice(page, element + pos + ksize, vsize)?))
        })
        .collect()
}

fn leaf_find<'a>(page: &'a [u8], key: &[u8]) -> Result<Option<(&'a [u8], u32)>, String> {
    let elements = leaf_elements(page)?;
    Ok(elements.into_iter().find(|(_, k, _)| *k == key).map(|(flags, _, value)| (value, flags)))
}

/// The entries of one leaf page that are not nested buckets.
fn leaf_entries<'a>(page: &'a [u8], found: &mut Entries<'a>) -> Result<(), String> {
    let elements = leaf_elements(page)?.into_iter();
    found.extend(elements.filter(|(flags, _, _)| flags & BUCKET_LEAF == 0).map(|(_, k, v)| (k, v)));
    Ok(())
}

fn slice(bytes: &[u8], at: usize, len: usize) -> Result<&[u8], String> {
    bytes
        .get(at..at.checked_add(len).ok_or("length overflow")?)
        .ok_or_else(|| "element outside its page".to_string())
}

fn u32_at(bytes: &[u8], at: usize) -> Result<u32, String> {
    Ok(u32::from_le_bytes(slice(bytes, at, 4)?.try_into().map_err(|_| "short")?))
}

fn u64_at(bytes: &[u8], at: usize) -> Result<u64, String> {
    Ok(u64::from_le_bytes(slice(bytes, at, 8)?.try_into().map_err(|_| "short")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Owned = Vec<(Vec<u8>, Vec<u8>)>;

    fn buckets(entries: &[(&str, Owned)]) -> Buckets {
        entries
            .iter()
            .map(|(name, kvs)| (name.as_bytes().to_vec(), kvs.iter().cloned().collect()))
            .collect()
    }

    #[test]
    fn values_are_found_again_in_small_large_and_empty_buckets() {
        let many: Owned = (0..5000u32)
            .map(|i| (i.to_be_bytes().to_vec(), format!("value {i}").into_bytes()))
            .collect();
        let big = vec![(b"blob".to_vec(), vec![7u8; 3 * PAGE + 100])];
        let db = write(&buckets(&[("many", many), ("big", big), ("empty", Vec::new())]));
        assert!(is_database(&db));
        assert_eq!(db.len() % PAGE, 0);
        for i in [0u32, 1, 2499, 4999] {
            let found = lookup(&db, b"many", &i.to_be_bytes()).unwrap();
            assert_eq!(found, Some(format!("value {i}").as_bytes()));
        }
        assert_eq!(lookup(&db, b"many", &5000u32.to_be_bytes()).unwrap(), None);
        assert_eq!(lookup(&db, b"big", b"blob").unwrap().map(<[u8]>::len), Some(3 * PAGE + 100));
        assert_eq!(lookup(&db, b"empty", b"x").unwrap(), None);
        assert_eq!(lookup(&db, b"missing", b"x").unwrap(), None);
        let walked = entries(&db, b"many").unwrap().unwrap();
        assert_eq!(walked.len(), 5000);
        assert!(walked.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(walked[4321].1, b"value 4321");
        assert_eq!(entries(&db, b"empty").unwrap().unwrap().len(), 0);
        assert!(entries(&db, b"missing").unwrap().is_none());
    }

    #[test]
    fn bytes_that_are_not_a_database_or_are_damaged_are_errors() {
        assert!(lookup(b"not a database", b"b", b"k").is_err());
        let mut db = write(&buckets(&[("b", vec![(b"k".to_vec(), b"v".to_vec())])]));
        db[HEADER + 20] ^= 1; // the root page id, under the checksum
        assert!(lookup(&db, b"b", b"k").unwrap_err().contains("checksum"));
        let db = write(&buckets(&[("b", vec![(b"k".to_vec(), b"v".to_vec())])]));
        assert!(lookup(&db[..PAGE * 2], b"b", b"k").is_err());
    }
}
