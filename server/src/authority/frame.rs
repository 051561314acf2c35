//! HTTP/2 framing as a client sends it (RFC 9113 §3.4, §4.1, §6.2, §6.10): the connection
//! preface, the 9-octet frame header, the layout of a HEADERS payload, and writing a header
//! block back out as HEADERS + CONTINUATION frames.
//!
//! Only what the authority repair needs is modelled. Parsing never panics: anything that does
//! not fit the layout is reported as `None`, and the caller hands such bytes to h2 unchanged so
//! that h2, not this module, decides what is a protocol error.

use bytes::{BufMut, BytesMut};

/// What every HTTP/2 client sends first; HTTP/1.1 requests never start with it.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Length of a frame header: 24-bit length, type, flags, 31-bit stream id.
pub const FRAME_HEADER_LEN: usize = 9;

/// The largest payload we send: SETTINGS_MAX_FRAME_SIZE's initial value, which every HTTP/2
/// peer must accept and which hyper's server keeps advertising (tonic sets no other).
pub const MAX_FRAME_PAYLOAD: usize = 16_384;

/// Frame types the repair looks into; every other type passes through untouched.
pub const HEADERS: u8 = 0x1;
pub const CONTINUATION: u8 = 0x9;

/// Frame flags of HEADERS and CONTINUATION.
pub const END_STREAM: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;
pub const PRIORITY: u8 = 0x20;

/// Length of the stream-dependency and weight fields of a HEADERS frame with PRIORITY.
pub const PRIORITY_LEN: usize = 5;

/// One frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length in octets.
    pub length: usize,
    pub kind: u8,
    pub flags: u8,
    /// The stream id without the reserved bit.
    pub stream_id: u32,
}

impl FrameHeader {
    /// The frame header at the start of `bytes`, or `None` if fewer than 9 octets are there.
    pub fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        let header: &[u8; FRAME_HEADER_LEN] = bytes.get(..FRAME_HEADER_LEN)?.try_into().ok()?;
        let length =
            usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
        let stream_id =
            u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
        Some(FrameHeader { length, kind: header[3], flags: header[4], stream_id })
    }

    /// Appends the 9 octets of this header; `length` must fit in 24 bits.
    pub fn write(&self, out: &mut BytesMut) {
        let length = self.length as u32;
        out.put_slice(&length.to_be_bytes()[1..]);
        out.put_u8(self.kind);
        out.put_u8(self.flags);
        out.put_u32(self.stream_id & 0x7fff_ffff);
    }
}

/// A HEADERS payload taken apart: its priority fields (if flagged) and its header block
/// fragment, with the padding removed.
#[derive(Debug, PartialEq, Eq)]
pub struct HeadersPayload<'a> {
    pub priority: Option<[u8; PRIORITY_LEN]>,
    pub fragment: &'a [u8],
}

/// Splits a HEADERS payload by its PADDED and PRIORITY flags; `None` when the pad length or the
/// priority fields do not fit in the payload (h2 answers that with PROTOCOL_ERROR).
pub fn split_headers_payload(flags: u8, payload: &[u8]) -> Option<HeadersPayload<'_>> {
    let (padding, rest) = if flags & PADDED != 0 {
        let (&pad_length, rest) = payload.split_first()?;
        (usize::from(pad_length), rest)
    } else {
        (0, payload)
    };
    let (priority, rest) = if flags & PRIORITY != 0 {
        let fields: [u8; PRIORITY_LEN] = rest.get(..PRIORITY_LEN)?.try_into().ok()?;
        (Some(fields), &rest[PRIORITY_LEN..])
    } else {
        (None, rest)
    };
    let fragment = rest.get(..rest.len().checked_sub(padding)?)?;
    Some(HeadersPayload { priority, fragment })
}

/// Writes `block` as one HEADERS frame on `stream_id` (carrying `end_stream` and `priority`)
/// followed by as many CONTINUATION frames as needed, each payload at most
/// [`MAX_FRAME_PAYLOAD`], END_HEADERS on the last. No padding.
pub fn write_header_block(
    stream_id: u32,
    end_stream: bool,
    priority: Option<[u8; PRIORITY_LEN]>,
    block: &[u8],
    out: &mut BytesMut,
) {
    let priority_len = if priority.is_some() { PRIORITY_LEN } else { 0 };
    let first_len = block.len().min(MAX_FRAME_PAYLOAD - priority_len);
    let (first, mut rest) = block.split_at(first_len);
    let frames = 1 + rest.len().div_ceil(MAX_FRAME_PAYLOAD);
    out.reserve(priority_len + block.len() + frames * FRAME_HEADER_LEN);
    let mut flags = if end_stream { END_STREAM } else { 0 };
    if priority.is_some() {
        flags |= PRIORITY;
    }
    if rest.is_empty() {
        flags |= END_HEADERS;
    }
    FrameHeader { length: priority_len + first.len(), kind: HEADERS, flags, stream_id }.write(out);
    if let Some(fields) = priority {
        out.put_slice(&fields);
    }
    out.put_slice(first);
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(rest.len().min(MAX_FRAME_PAYLOAD));
        let flags = if after.is_empty() { END_HEADERS } else { 0 };
        FrameHeader { length: chunk.len(), kind: CONTINUATION, flags, stream_id }.write(out);
        out.put_slice(chunk);
        rest = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_header_round_trips_without_the_reserved_bit() {
        let header =
            FrameHeader { length: 0x01_02_03, kind: HEADERS, flags: END_HEADERS, stream_id: 7 };
        let mut out = BytesMut::new();
        header.write(&mut out);
        assert_eq!(&out[..], &[1, 2, 3, 1, 4, 0, 0, 0, 7]);
        let mut reserved = out.to_vec();
        reserved[5] |= 0x80;
        assert_eq!(FrameHeader::parse(&reserved), Some(header));
        assert_eq!(FrameHeader::parse(&reserved[..8]), None);
    }

    #[test]
    fn padding_and_priority_are_taken_off_the_fragment() {
        // pad length 2, priority fields 1..=5, fragment "ab", padding 0 0
        let payload = [2, 1, 2, 3, 4, 5, b'a', b'b', 0, 0];
        let split = split_headers_payload(PADDED | PRIORITY, &payload).unwrap();
        assert_eq!(split, HeadersPayload { priority: Some([1, 2, 3, 4, 5]), fragment: b"ab" });
        assert_eq!(split_headers_payload(0, b"ab").unwrap().fragment, b"ab");
    }

    #[test]
    fn padding_longer_than_the_payload_is_malformed() {
        assert_eq!(split_headers_payload(PADDED, &[5, b'a']), None);
        assert_eq!(split_headers_payload(PADDED, &[]), None);
        assert_eq!(split_headers_payload(PRIORITY, &[1, 2, 3]), None);
    }

    #[test]
    fn a_large_block_is_split_into_continuations_under_the_frame_limit() {
        let block = vec![7u8; 2 * MAX_FRAME_PAYLOAD + 10];
        let mut out = BytesMut::new();
        write_header_block(3, true, Some([0, 0, 0, 1, 15]), &block, &mut out);
        let mut frames = Vec::new();
        let mut at = 0;
        while let Some(header) = FrameHeader::parse(&out[at..]) {
            assert!(header.length <= MAX_FRAME_PAYLOAD);
            frames.push(header);
            at += FRAME_HEADER_LEN + header.length;
        }
        assert_eq!(at, out.len());
        let kinds: Vec<(u8, u8)> = frames.iter().map(|f| (f.kind, f.flags)).collect();
        assert_eq!(
            kinds,
            [(HEADERS, END_STREAM | PRIORITY), (CONTINUATION, 0), (CONTINUATION, END_HEADERS)]
        );
        let carried: usize = frames.iter().map(|f| f.length).sum();
        assert_eq!(carried, block.len() + PRIORITY_LEN);
    }
}
