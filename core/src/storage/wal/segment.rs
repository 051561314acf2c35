//! Segment files: naming, and scanning one segment's bytes into records.
//!
//! A segment is named `{seq:016x}.wal`; sequence numbers are consecutive, oldest first. Its first
//! record is a segment header carrying the same `seq`.
//!
//! Scanning stops at the first record that does not read back whole and intact, and says whether
//! that looks like a *torn tail* — what a crash during an append leaves — or like *damage*:
//! - fewer than a header's bytes left, or a valid header whose body runs past the end: torn;
//! - the rest of the file is zeros (space allocated, data never written): torn;
//! - a header or body failing its checksum with nothing but zeros after it: torn (the last write
//!   landed in part, over the zeros the writer preallocates, see `super::writer`);
//! - a body failing its checksum that ends exactly at the end of the file: torn (the last write's
//!   sectors landed out of order);
//! - any other bad header or body — one with more bytes after it: damage.
//!
//! Whether a torn tail may be cut off is the recovery's call (only in the last segment).

use super::record::{decode_body, decode_header, Frame, HEADER_LEN};

/// The extension of segment files.
const EXTENSION: &str = ".wal";

/// The file name of segment `seq`.
pub fn segment_name(seq: u64) -> String {
    format!("{seq:016x}{EXTENSION}")
}

/// The sequence number in a segment file name, or `None` for any other file.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(EXTENSION)?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// The records of one segment, each with the offset it starts at, and how the scan ended.
#[derive(Debug)]
pub struct Scan {
    pub frames: Vec<(u64, Frame)>,
    pub end: ScanEnd,
}

/// Where and why a segment scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanEnd {
    /// Every byte belonged to an intact record.
    Clean,
    /// An incomplete record from `offset` to the end of the file.
    Torn { offset: u64, reason: String },
    /// A damaged record at `offset` with data after it.
    Damaged { offset: u64, reason: String },
}

/// Reads every intact record of a segment's bytes.
pub fn scan(bytes: &[u8]) -> Scan {
    let mut frames = Vec::new();
    let mut offset = 0usize;
    while offset < bytes.len() {
        match read_frame(&bytes[offset..]) {
            Ok((frame, len)) => {
                frames.push((offset as u64, frame));
                offset += len;
            }
            Err(stop) => {
                let end = stop.into_end(offset as u64);
                return Scan { frames, end };
            }
        }
    }
    Scan { frames, end: ScanEnd::Clean }
}

/// Why reading a frame at some offset stopped.
enum Stop {
    Torn(String),
    Damaged(String),
}

impl Stop {
    fn into_end(self, offset: u64) -> ScanEnd {
        match self {
            Stop::Torn(reason) => ScanEnd::Torn { offset, reason },
            Stop::Damaged(reason) => ScanEnd::Damaged { offset, reason },
        }
    }
}

/// Reads the frame at the start of `rest`, returning it and its length on disk.
fn read_frame(rest: &[u8]) -> Result<(Frame, usize), Stop> {
    let zeros_from = |at: usize| rest[at.min(rest.len())..].iter().all(|&byte| byte == 0);
    let Some(header_bytes) = rest.first_chunk::<HEADER_LEN>() else {
        return Err(Stop::Torn(format!("{} bytes, short of a record header", rest.len())));
    };
    let Some(header) = decode_header(header_bytes) else {
        if zeros_from(0) {
            return Err(Stop::Torn("zero-filled tail".to_string()));
        }
        if zeros_from(HEADER_LEN) {
            return Err(Stop::Torn("last record's header written in part".to_string()));
        }
        return Err(Stop::Damaged("record header checksum mismatch".to_string()));
    };
    let end = HEADER_LEN.saturating_add(header.body_len);
    if end > rest.len() {
        return Err(Stop::Torn(format!("record of {} bytes cut short at {}", end, rest.len())));
    }
    let body = &rest[HEADER_LEN..end];
    if crc32fast::hash(body) != header.body_crc {
        if zeros_from(end) {
            return Err(Stop::Torn("last record's body checksum mismatch".to_string()));
        }
        return Err(Stop::Damaged("record body checksum mismatch".to_string()));
    }
    let frame = decode_body(body).map_err(Stop::Damaged)?;
    Ok((frame, end))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::storage::wal::record::{encode, Entry, Record};

    /// Two entry records, and the length of the first.
    fn two_entries() -> (Vec<u8>, usize) {
        let mut bytes = Vec::new();
        let mut first_len = 0;
        for index in 1..=2 {
            let entry = Entry { index, term: 1, payload: Bytes::from(vec![index as u8; 20]) };
            encode(&Frame::Record(Record::Entry(entry)), &mut bytes).unwrap();
            if index == 1 {
                first_len = bytes.len();
            }
        }
        (bytes, first_len)
    }

    #[test]
    fn segment_names_round_trip_and_others_are_ignored() {
        assert_eq!(parse_segment_name(&segment_name(0x2a)), Some(0x2a));
        assert_eq!(parse_segment_name("snap.tmp"), None);
        assert_eq!(parse_segment_name("2a.wal"), None);
    }

    #[test]
    fn every_prefix_of_a_record_is_a_torn_tail() {
        let (bytes, first_len) = two_entries();
        for cut in first_len + 1..bytes.len() {
            let scanned = scan(&bytes[..cut]);
            assert_eq!(scanned.frames.len(), 1, "cut at {cut}");
            assert!(
                matches!(scanned.end, ScanEnd::Torn { offset, .. } if offset == first_len as u64),
                "cut at {cut}: {:?}",
                scanned.end
            );
        }
        assert_eq!(scan(&bytes).end, ScanEnd::Clean);
    }

    #[test]
    fn a_zero_filled_tail_is_torn() {
        let (mut bytes, _) = two_entries();
        let len = bytes.len() as u64;
        bytes.extend_from_slice(&[0; 100]);
        let scanned = scan(&bytes);
        assert_eq!(scanned.frames.len(), 2);
        assert!(matches!(scanned.end, ScanEnd::Torn { offset, .. } if offset == len));
    }

    #[test]
    fn a_record_written_in_part_over_preallocated_zeros_is_torn() {
        let (bytes, first_len) = two_entries();
        for cut in first_len + 1..bytes.len() {
            let mut landed = bytes[..cut].to_vec();
            landed.resize(bytes.len() + 100, 0);
            let scanned = scan(&landed);
            assert_eq!(scanned.frames.len(), 1, "cut at {cut}");
            assert!(
                matches!(scanned.end, ScanEnd::Torn { offset, .. } if offset == first_len as u64),
                "cut at {cut}: {:?}",
                scanned.end
            );
        }
    }

    #[test]
    fn damage_with_data_after_it_is_not_torn() {
        let (bytes, first_len) = two_entries();
        for at in 0..first_len {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            let scanned = scan(&damaged);
            assert!(
                matches!(scanned.end, ScanEnd::Damaged { offset: 0, .. }),
                "byte {at}: {:?}",
                scanned.end
            );
        }
    }

    #[test]
    fn a_damaged_last_body_is_torn() {
        let (mut bytes, first_len) = two_entries();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let scanned = scan(&bytes);
        assert!(matches!(scanned.end, ScanEnd::Torn { offset, .. } if offset == first_len as u64));
    }
}
