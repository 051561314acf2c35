//! WAL records and their byte format.
//!
//! A record on disk is a 12-byte header followed by a body:
//!
//! ```text
//! body_len: u32 LE | body_crc: u32 LE (crc32 of body) | header_crc: u32 LE (crc32 of the 8 bytes before)
//! body := kind: u8 | fields...
//! ```
//!
//! The header has its own checksum so that a damaged length is recognised as damage, rather than
//! being trusted and mistaken for a record cut short by a crash. Fields are little-endian integers
//! and length-prefixed (`u32`) byte strings; an optional byte string is a `u8` flag (0 or 1) then
//! the string. Decoding is total: malformed bytes give an error, never a panic.
//!
//! | kind | record | fields |
//! |---|---|---|
//! | 1 | segment header | seq u64, vote opt, committed opt, purged flag u8 [index u64, log_id bytes] |
//! | 2 | entry | index u64, term u64, payload bytes |
//! | 3 | vote | vote bytes |
//! | 4 | committed | committed opt |
//! | 5 | truncate | since u64 |
//! | 6 | purge | upto u64, log_id bytes |

use bytes::Bytes;

/// Bytes in a record header.
pub const HEADER_LEN: usize = 12;

/// One log entry: raft index and term, and the entry itself as opaque bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub index: u64,
    pub term: u64,
    pub payload: Bytes,
}

/// The last purged log id: its index (what the log uses) and the caller's encoding of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    pub index: u64,
    pub log_id: Bytes,
}

/// What a caller can write to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Appends an entry; its index must follow the last entry (or the purge point).
    Entry(Entry),
    /// The current vote (opaque to the log).
    Vote(Bytes),
    /// The committed marker (opaque to the log).
    Committed(Option<Bytes>),
    /// Removes every entry with `index >= since` (conflict truncation).
    Truncate { since: u64 },
    /// Removes every entry with `index <= purged.index` and remembers `purged`.
    Purge(Purged),
}

/// State repeated at the start of every segment, so that older segments can be deleted without
/// losing the vote, the committed marker or the purge point recorded in them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SegmentHeader {
    pub seq: u64,
    pub vote: Option<Bytes>,
    pub committed: Option<Bytes>,
    pub purged: Option<Purged>,
}

/// A record as stored: a caller's record or a segment header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Header(SegmentHeader),
    Record(Record),
}

const KIND_HEADER: u8 = 1;
const KIND_ENTRY: u8 = 2;
const KIND_VOTE: u8 = 3;
const KIND_COMMITTED: u8 = 4;
const KIND_TRUNCATE: u8 = 5;
const KIND_PURGE: u8 = 6;

/// The largest body a record can have: its length must fit the header's `u32`.
pub const MAX_BODY_LEN: usize = u32::MAX as usize;

/// Appends the framed bytes of `frame` (header + body) to `out`; refuses a body too large to frame.
pub fn encode(frame: &Frame, out: &mut Vec<u8>) -> Result<(), String> {
    let body = encode_body(frame);
    // Any field too long for its u32 length prefix makes the whole body too long as well.
    if body.len() > MAX_BODY_LEN {
        return Err(format!("record of {} bytes exceeds the limit of {MAX_BODY_LEN}", body.len()));
    }
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&(body.len() as u32).to_le_bytes());
    header[4..8].copy_from_slice(&crc32fast::hash(&body).to_le_bytes());
    let header_crc = crc32fast::hash(&header[0..8]);
    header[8..12].copy_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&body);
    Ok(())
}

fn encode_body(frame: &Frame) -> Vec<u8> {
    let mut body = Vec::new();
    match frame {
        Frame::Header(header) => {
            body.push(KIND_HEADER);
            put_u64(&mut body, header.seq);
            put_opt(&mut body, header.vote.as_deref());
            put_opt(&mut body, header.committed.as_deref());
            match &header.purged {
                None => body.push(0),
                Some(purged) => {
                    body.push(1);
                    put_purged(&mut body, purged);
                }
            }
        }
        Frame::Record(Record::Entry(entry)) => {
            body.push(KIND_ENTRY);
            put_u64(&mut body, entry.index);
            put_u64(&mut body, entry.term);
            put_bytes(&mut body, &entry.payload);
        }
        Frame::Record(Record::Vote(vote)) => {
            body.push(KIND_VOTE);
            put_bytes(&mut body, vote);
        }
        Frame::Record(Record::Committed(committed)) => {
            body.push(KIND_COMMITTED);
            put_opt(&mut body, committed.as_deref());
        }
        Frame::Record(Record::Truncate { since }) => {
            body.push(KIND_TRUNCATE);
            put_u64(&mut body, *since);
        }
        Frame::Record(Record::Purge(purged)) => {
            body.push(KIND_PURGE);
            put_purged(&mut body, purged);
        }
    }
    body
}

fn put_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_opt(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        None => out.push(0),
        Some(bytes) => {
            out.push(1);
            put_bytes(out, bytes);
        }
    }
}

fn put_purged(out: &mut Vec<u8>, purged: &Purged) {
    put_u64(out, purged.index);
    put_bytes(out, &purged.log_id);
}

/// A record header that passed its checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub body_len: usize,
    pub body_crc: u32,
}

/// Parses a record header; `None` if its checksum does not match.
pub fn decode_header(bytes: &[u8; HEADER_LEN]) -> Option<RecordHeader> {
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    if crc32fast::hash(&bytes[0..8]) != word(8) {
        return None;
    }
    Some(RecordHeader { body_len: word(0) as usize, body_crc: word(4) })
}

/// Decodes a body whose checksum already matched. The error says what was malformed.
pub fn decode_body(body: &[u8]) -> Result<Frame, String> {
    let mut reader = Reader { rest: body };
    let frame = match reader.u8()? {
        KIND_HEADER => Frame::Header(SegmentHeader {
            seq: reader.u64()?,
            vote: reader.opt()?,
            committed: reader.opt()?,
            purged: match reader.u8()? {
                0 => None,
                1 => Some(reader.purged()?),
                flag => return Err(format!("bad purged flag {flag}")),
            },
        }),
        KIND_ENTRY => Frame::Record(Record::Entry(Entry {
            index: reader.u64()?,
            term: reader.u64()?,
            payload: reader.bytes()?,
        })),
        KIND_VOTE => Frame::Record(Record::Vote(reader.bytes()?)),
        KIND_COMMITTED => Frame::Record(Record::Committed(reader.opt()?)),
        KIND_TRUNCATE => Frame::Record(Record::Truncate { since: reader.u64()? }),
        KIND_PURGE => Frame::Record(Record::Purge(reader.purged()?)),
        kind => return Err(format!("unknown record kind {kind}")),
    };
    if !reader.rest.is_empty() {
        return Err(format!("{} trailing bytes in record", reader.rest.len()));
    }
    Ok(frame)
}

/// A cursor over a record body; every read checks the remaining length.
struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Result<&[u8], String> {
        if self.rest.len() < len {
            return Err(format!("record body ends {len} bytes early"));
        }
        let (head, tail) = self.rest.split_at(len);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut word = [0u8; 8];
        word.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(word))
    }

    fn bytes(&mut self) -> Result<Bytes, String> {
        let len = self.u32()? as usize;
        Ok(Bytes::copy_from_slice(self.take(len)?))
    }

    fn opt(&mut self) -> Result<Option<Bytes>, String> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.bytes()?)),
            flag => Err(format!("bad option flag {flag}")),
        }
    }

    fn purged(&mut self) -> Result<Purged, String> {
        Ok(Purged { index: self.u64()?, log_id: self.bytes()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_frames() -> Vec<Frame> {
        let purged = Purged { index: 7, log_id: Bytes::from_static(b"term-2-node-1-index-7") };
        vec![
            Frame::Header(SegmentHeader::default()),
            Frame::Header(SegmentHeader {
                seq: 42,
                vote: Some(Bytes::from_static(b"vote")),
                committed: Some(Bytes::new()),
                purged: Some(purged.clone()),
            }),
            Frame::Record(Record::Entry(Entry {
                index: 8,
                term: 3,
                payload: Bytes::from_static(b"put k v"),
            })),
            Frame::Record(Record::Entry(Entry { index: u64::MAX, term: 0, payload: Bytes::new() })),
            Frame::Record(Record::Vote(Bytes::from_static(b"v"))),
            Frame::Record(Record::Committed(None)),
            Frame::Record(Record::Committed(Some(Bytes::from_static(b"c")))),
            Frame::Record(Record::Truncate { since: 5 }),
            Frame::Record(Record::Purge(purged)),
        ]
    }

    #[test]
    fn every_record_kind_round_trips() {
        for frame in all_frames() {
            let mut bytes = Vec::new();
            encode(&frame, &mut bytes).unwrap();
            let header = decode_header(bytes.first_chunk().expect("header")).expect("valid header");
            assert_eq!(header.body_len, bytes.len() - HEADER_LEN);
            assert_eq!(decode_body(&bytes[HEADER_LEN..]), Ok(frame));
        }
    }

    #[test]
    fn a_flipped_header_bit_fails_the_header_checksum() {
        let mut bytes = Vec::new();
        encode(&Frame::Record(Record::Truncate { since: 1 }), &mut bytes).unwrap();
        for bit in 0..HEADER_LEN * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(decode_header(damaged.first_chunk().expect("header")), None);
        }
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            &[][..],
            &[0],
            &[99],
            &[KIND_ENTRY, 1, 2],
            &[KIND_COMMITTED, 2],
            &[KIND_VOTE, 9, 0, 0, 0],
        ] {
            assert!(decode_body(body).is_err(), "{body:?}");
        }
        let mut body = encode_body(&Frame::Record(Record::Truncate { since: 1 }));
        body.push(0);
        assert!(decode_body(&body).is_err());
    }
}
