//! The bytes a client sends on one connection, rewritten frame by frame (no I/O here).
//!
//! The first octets decide the connection: the HTTP/2 preface makes it HTTP/2, anything else
//! (the JSON gateway's HTTP/1.1) makes the whole connection pass through untouched. On HTTP/2,
//! frame headers are read as they arrive; every frame but HEADERS and its CONTINUATIONs passes
//! on at once, its payload as it comes in (a large DATA frame is never held back). A header
//! block is held until END_HEADERS, then handed to `BlockRepair`, and what goes on is either
//! the client's frames unchanged or the repaired block in fresh frames.
//!
//! Invariants: octets leave in the order they came; nothing is dropped except inside a header
//! block we replace; and whatever we cannot parse — a frame too large, padding that does not
//! fit, a header block interrupted by another frame, an undecodable block — goes on exactly as
//! it came, after which the connection passes through untouched, so h2 judges it as it would
//! have without us.

use super::block::{BlockOutcome, BlockRepair};
use super::frame::{
    split_headers_payload, write_header_block, FrameHeader, CONTINUATION, END_HEADERS, END_STREAM,
    FRAME_HEADER_LEN, HEADERS, MAX_FRAME_PAYLOAD, PREFACE, PRIORITY_LEN,
};
use bytes::{Bytes, BytesMut};
use std::collections::VecDeque;

/// The largest header block held back for repair (h2's own limit on a decoded header list is
/// far smaller); a larger one goes on unchanged and h2 refuses it.
const MAX_HELD_BLOCK: usize = 1 << 20;

/// Where in the connection's byte stream we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Comparing the first octets with the HTTP/2 preface.
    Preface,
    /// HTTP/2, at a frame header or inside a payload that passes through (`passing` octets of
    /// it still to come).
    Frames { passing: usize },
    /// Everything passes unchanged.
    Transparent,
}

/// A header block whose END_HEADERS has not arrived yet.
struct HeldBlock {
    stream_id: u32,
    end_stream: bool,
    priority: Option<[u8; PRIORITY_LEN]>,
    fragments: Vec<u8>,
    /// The frames as the client sent them, in case they go on unchanged.
    frames: Vec<Bytes>,
}

/// One connection's client-to-server rewriting state.
pub struct Rewriter {
    phase: Phase,
    held: Option<HeldBlock>,
    blocks: BlockRepair,
}

impl Default for Rewriter {
    fn default() -> Self {
        Rewriter { phase: Phase::Preface, held: None, blocks: BlockRepair::default() }
    }
}

impl Rewriter {
    /// Whether every octet from now on passes unchanged.
    pub fn is_transparent(&self) -> bool {
        self.phase == Phase::Transparent
    }

    /// Moves everything decided in `inbound` to `out`, leaving only an incomplete frame (or
    /// preface) in `inbound`.
    pub fn rewrite(&mut self, inbound: &mut BytesMut, out: &mut VecDeque<Bytes>) {
        while self.step(inbound, out) {}
    }

    /// The client closed its side: whatever is held or incomplete goes on as it came.
    pub fn finish(&mut self, inbound: &mut BytesMut, out: &mut VecDeque<Bytes>) {
        self.rewrite(inbound, out);
        self.pass_through_from_now(out);
        if !inbound.is_empty() {
            out.push_back(inbound.split().freeze());
        }
    }

    /// One decision; false when more input is needed.
    fn step(&mut self, inbound: &mut BytesMut, out: &mut VecDeque<Bytes>) -> bool {
        match self.phase {
            Phase::Preface => self.preface(inbound, out),
            Phase::Frames { passing: 0 } => self.frame(inbound, out),
            Phase::Frames { passing } => {
                let available = passing.min(inbound.len());
                if available == 0 {
                    return false;
                }
                out.push_back(inbound.split_to(available).freeze());
                self.phase = Phase::Frames { passing: passing - available };
                true
            }
            Phase::Transparent => {
                if !inbound.is_empty() {
                    out.push_back(inbound.split().freeze());
                }
                false
            }
        }
    }

    fn preface(&mut self, inbound: &mut BytesMut, out: &mut VecDeque<Bytes>) -> bool {
        let seen = inbound.len().min(PREFACE.len());
        if inbound[..seen] != PREFACE[..seen] {
            self.phase = Phase::Transparent;
            return true;
        }
        if seen < PREFACE.len() {
            return false;
        }
        out.push_back(inbound.split_to(PREFACE.len()).freeze());
        self.phase = Phase::Frames { passing: 0 };
        true
    }

    fn frame(&mut self, inbound: &mut BytesMut, out: &mut VecDeque<Bytes>) -> bool {
        let Some(header) = FrameHeader::parse(inbound) else {
            return false;
        };
        match (header.kind, &self.held) {
            (HEADERS, None) => self.header_frame(header, inbound, out),
            (CONTINUATION, Some(held)) if held.stream_id == header.stream_id => {
                self.header_frame(header, inbound, out)
            }
            // Another frame inside a header block is a connection error h2 will raise.
            (_, Some(_)) => {
                self.pass_through_from_now(out);
                true
            }
            (_, None) => {
                out.push_back(inbound.split_to(FRAME_HEADER_LEN).freeze());
                self.phase = Phase::Frames { passing: header.length };
                true
            }
        }
    }

    /// A HEADERS or CONTINUATION frame of the block being collected.
    fn header_frame(
        &mut self,
        header: FrameHeader,
        inbound: &mut BytesMut,
        out: &mut VecDeque<Bytes>,
    ) -> bool {
        if header.length > MAX_FRAME_PAYLOAD {
            // h2 answers FRAME_SIZE_ERROR; not ours to buffer.
            self.pass_through_from_now(out);
            return true;
        }
        let frame_len = FRAME_HEADER_LEN + header.length;
        if inbound.len() < frame_len {
            inbound.reserve(frame_len - inbound.len());
            return false;
        }
        let frame = inbound.split_to(frame_len).freeze();
        match self.held.take() {
            None => self.first_frame(header, frame, out),
            Some(held) => self.continuation(header, frame, held, out),
        }
        true
    }

    fn first_frame(&mut self, header: FrameHeader, frame: Bytes, out: &mut VecDeque<Bytes>) {
        let Some(payload) = split_headers_payload(header.flags, &frame[FRAME_HEADER_LEN..]) else {
            out.push_back(frame);
            self.pass_through_from_now(out);
            return;
        };
        let end_stream = header.flags & END_STREAM != 0;
        if header.flags & END_HEADERS != 0 {
            let outcome = self.blocks.repair(payload.fragment);
            let (stream_id, priority) = (header.stream_id, payload.priority);
            self.send_block(outcome, stream_id, end_stream, priority, vec![frame], out);
            return;
        }
        let (priority, fragments) = (payload.priority, payload.fragment.to_vec());
        self.held = Some(HeldBlock {
            stream_id: header.stream_id,
            end_stream,
            priority,
            fragments,
            frames: vec![frame],
        });
    }

    fn continuation(
        &mut self,
        header: FrameHeader,
        frame: Bytes,
        mut held: HeldBlock,
        out: &mut VecDeque<Bytes>,
    ) {
        held.fragments.extend_from_slice(&frame[FRAME_HEADER_LEN..]);
        held.frames.push(frame);
        if held.fragments.len() > MAX_HELD_BLOCK {
            self.held = Some(held);
            self.pass_through_from_now(out);
        } else if header.flags & END_HEADERS != 0 {
            let outcome = self.blocks.repair(&held.fragments);
            self.send_block(
                outcome,
                held.stream_id,
                held.end_stream,
                held.priority,
                held.frames,
                out,
            );
        } else {
            self.held = Some(held);
        }
    }

    fn send_block(
        &mut self,
        outcome: BlockOutcome,
        stream_id: u32,
        end_stream: bool,
        priority: Option<[u8; PRIORITY_LEN]>,
        client_frames: Vec<Bytes>,
        out: &mut VecDeque<Bytes>,
    ) {
        match outcome {
            BlockOutcome::Verbatim => out.extend(client_frames),
            BlockOutcome::Reencoded(block) => {
                let mut frames = BytesMut::new();
                write_header_block(stream_id, end_stream, priority, &block, &mut frames);
                out.push_back(frames.freeze());
            }
            BlockOutcome::Undecodable => {
                out.extend(client_frames);
                self.phase = Phase::Transparent;
            }
        }
    }

    /// Gives up repairing: held frames go on as they came, and so does everything after them.
    fn pass_through_from_now(&mut self, out: &mut VecDeque<Bytes>) {
        if let Some(held) = self.held.take() {
            out.extend(held.frames);
        }
        self.phase = Phase::Transparent;
    }
}
