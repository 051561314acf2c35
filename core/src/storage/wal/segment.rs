//! Segment files: naming, and scanning one segment's bytes into records.
//!
//! A segment is named `{seq:016x}.wal`; sequence numbers are consecutive, oldest first. Its first
//! record is a segment header carrying the same `seq`.
//!
//! Scanning stops at the first record that does not read back whole and intact, and says whether
//! that looks like a *torn tail* — what a crash during an append leaves — or like *damage*:
//! - fewer than a header's bytes left, or a valid header whose body runs past the end: torn;
//! - the rest of the file is zeros (space allocated, data never written): torn;
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
    let all_zero = || rest.iter().all(|&byte| byte == 0);
    let Some(header_bytes) = rest.first_chunk::<HEADER_LEN>() else {
        return Err(Stop::Torn(format!("{} bytes, short of a record header", rest.len())));
    };
    let Some(header) = decode_header(header_bytes) else {
        if all_zero() {
            return Err(Stop::Torn("zero-filled tail".to_string()));
        }
        return Err(Stop::Damaged("record header checksum mismatch".to_string()));
    };
    let end = HEADER_LEN.saturating_add(header.body_len);
    if end > rest.len() {
        return Err(Stop::Torn(format!("record of {} bytes cut short at {}", end, rest.len())));
    }
    let body = &rest[HEADER_LEN..end];
    if crc32fast::hash(body) != header.body_crc {
        if end == rest.len() {
            return Err(Stop::Torn("last record's body checksum mismatch".to_string()));
        }
        return Err(Stop::Damaged("record body checksum mismatch".to_string()));
    }
    let frame = decode_body(body).map_err(Stop::Damaged)?;
    Ok((frame, end))
}
