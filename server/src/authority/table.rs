//! HPACK's two indexing tables (RFC 7541 §2.3): the static table every peer knows, and the
//! dynamic table a decoder keeps in step with the client's encoder.
//!
//! The dynamic table is a FIFO of the fields the client inserted, newest first, sized as the
//! RFC counts it (name + value + 32 octets per entry) and never above its current maximum:
//! inserting evicts the oldest entries, and an entry larger than the maximum empties the table.
//! Index 1..=61 is the static table, 62 onwards the dynamic one.

use std::collections::VecDeque;

/// What the RFC adds to each entry's octets when counting a table's size.
const ENTRY_OVERHEAD: usize = 32;

/// RFC 7541 Appendix A: the static table, index 1 first.
pub const STATIC_TABLE: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// One dynamic-table entry.
struct Entry {
    name: Box<[u8]>,
    value: Box<[u8]>,
}

impl Entry {
    fn size(&self) -> usize {
        self.name.len() + self.value.len() + ENTRY_OVERHEAD
    }
}

/// The dynamic table, as the client's encoder has it.
pub struct DynamicTable {
    entries: VecDeque<Entry>,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    pub fn new(max_size: usize) -> Self {
        DynamicTable { entries: VecDeque::new(), size: 0, max_size }
    }

    /// The field at `index` in the combined index space; `None` for 0 or past the end.
    pub fn get(&self, index: usize) -> Option<(&[u8], &[u8])> {
        match index {
            0 => None,
            1..=61 => STATIC_TABLE.get(index - 1).copied(),
            _ => self.entries.get(index - 62).map(|e| (&e.name[..], &e.value[..])),
        }
    }

    /// Inserts a field as the newest entry, evicting as needed.
    pub fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) {
        let entry = Entry { name: name.into_boxed_slice(), value: value.into_boxed_slice() };
        let size = entry.size();
        if size > self.max_size {
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - size);
        self.size += size;
        self.entries.push_front(entry);
    }

    /// A dynamic-table size update: the new maximum, evicting what no longer fits.
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    fn evict_to(&mut self, limit: usize) {
        while self.size > limit {
            match self.entries.pop_back() {
                Some(oldest) => self.size -= oldest.size(),
                None => self.size = 0,
            }
        }
    }

    #[cfg(test)]
    pub fn size(&self) -> usize {
        self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_cover_static_then_dynamic_newest_first() {
        let mut table = DynamicTable::new(4096);
        table.insert(b"a".to_vec(), b"1".to_vec());
        table.insert(b"b".to_vec(), b"2".to_vec());
        assert_eq!(table.get(2), Some((&b":method"[..], &b"GET"[..])));
        assert_eq!(table.get(61), Some((&b"www-authenticate"[..], &b""[..])));
        assert_eq!(table.get(62), Some((&b"b"[..], &b"2"[..])));
        assert_eq!(table.get(63), Some((&b"a"[..], &b"1"[..])));
        assert_eq!(table.get(64), None);
        assert_eq!(table.get(0), None);
    }

    #[test]
    fn inserting_evicts_the_oldest_and_an_oversized_entry_empties_the_table() {
        let mut table = DynamicTable::new(2 * 34);
        table.insert(b"a".to_vec(), b"1".to_vec());
        table.insert(b"b".to_vec(), b"2".to_vec());
        table.insert(b"c".to_vec(), b"3".to_vec());
        assert_eq!(table.get(63), Some((&b"b"[..], &b"2"[..])));
        assert_eq!(table.size(), 68);
        table.insert(vec![b'x'; 100], Vec::new());
        assert_eq!((table.get(62), table.size()), (None, 0));
    }

    #[test]
    fn shrinking_the_maximum_evicts() {
        let mut table = DynamicTable::new(4096);
        table.insert(b"a".to_vec(), b"1".to_vec());
        table.insert(b"b".to_vec(), b"2".to_vec());
        table.set_max_size(34);
        assert_eq!(table.get(62), Some((&b"b"[..], &b"2"[..])));
        assert_eq!(table.get(63), None);
        table.set_max_size(0);
        assert_eq!(table.get(62), None);
    }
}
