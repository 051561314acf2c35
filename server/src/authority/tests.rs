//! The rewriter on whole client byte streams: what h2 would read after it, fed in chunks of
//! every size, and garbage that must pass through without a panic.

use super::frame::{
    FrameHeader, CONTINUATION, END_HEADERS, END_STREAM, FRAME_HEADER_LEN, HEADERS, PADDED, PREFACE,
    PRIORITY,
};
use super::rewriter::Rewriter;
use bytes::{BufMut, Bytes, BytesMut};
use loona_hpack::{Decoder, Encoder};
use std::collections::VecDeque;

const DATA: u8 = 0x0;
const SETTINGS: u8 = 0x4;

type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// A deterministic xorshift stream starting from `state` (non-zero), for the randomized tests here
/// and in the decoder's.
pub(super) fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

fn fields(authority: &str) -> Fields {
    [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/etcdserverpb.Maintenance/Status"),
        (":authority", authority),
        ("te", "trailers"),
    ]
    .iter()
    .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
    .collect()
}

fn frame(kind: u8, flags: u8, stream_id: u32, payload: &[u8], out: &mut BytesMut) {
    FrameHeader { length: payload.len(), kind, flags, stream_id }.write(out);
    out.put_slice(payload);
}

/// What the client sends: preface, SETTINGS, then `requests` as HEADERS (+ DATA).
fn client_bytes(requests: &[(u32, Vec<u8>)]) -> BytesMut {
    let mut out = BytesMut::from(PREFACE);
    frame(SETTINGS, 0, 0, &[], &mut out);
    for (stream_id, headers_frames) in requests {
        out.put_slice(headers_frames);
        frame(DATA, END_STREAM, *stream_id, b"\0\0\0\0\x02hi", &mut out);
    }
    out
}

/// Feeds `input` to a rewriter `chunk` octets at a time, then ends it.
fn rewrite_in_chunks(input: &[u8], chunk: usize) -> Vec<u8> {
    let (mut rewriter, mut inbound, mut out) =
        (Rewriter::default(), BytesMut::new(), VecDeque::<Bytes>::new());
    for piece in input.chunks(chunk) {
        inbound.put_slice(piece);
        rewriter.rewrite(&mut inbound, &mut out);
    }
    rewriter.finish(&mut inbound, &mut out);
    out.iter().flat_map(|b| b.iter().copied()).collect()
}

/// What h2 would make of `bytes`: every request's header list, and the DATA payloads, in order.
fn server_view(bytes: &[u8]) -> (Vec<Fields>, Vec<Vec<u8>>) {
    assert!(bytes.starts_with(PREFACE), "preface kept");
    let (mut decoder, mut blocks, mut data, mut block) =
        (Decoder::new(), Vec::new(), Vec::new(), Vec::new());
    let mut at = PREFACE.len();
    while let Some(header) = FrameHeader::parse(&bytes[at..]) {
        let payload = &bytes[at + FRAME_HEADER_LEN..at + FRAME_HEADER_LEN + header.length];
        at += FRAME_HEADER_LEN + header.length;
        match header.kind {
            HEADERS | CONTINUATION => {
                let payload = if header.kind == HEADERS {
                    super::frame::split_headers_payload(header.flags, payload).unwrap().fragment
                } else {
                    payload
                };
                block.extend_from_slice(payload);
                if header.flags & END_HEADERS != 0 {
                    blocks.push(decoder.decode(&block).expect("the server can decode every block"));
                    block.clear();
                }
            }
            DATA => data.push(payload.to_vec()),
            _ => {}
        }
    }
    assert_eq!(at, bytes.len(), "whole frames only");
    (blocks, data)
}

fn headers_frame(client: &mut Encoder<'static>, stream_id: u32, fields: &Fields) -> Vec<u8> {
    let block = client.encode(fields.iter().map(|(n, v)| (&n[..], &v[..])));
    let mut out = BytesMut::new();
    frame(HEADERS, END_HEADERS, stream_id, &block, &mut out);
    out.to_vec()
}

#[test]
fn an_http_authority_is_repaired_in_every_chunking() {
    let mut client = Encoder::new();
    let requests = [
        (1, headers_frame(&mut client, 1, &fields("http://127.0.0.1:2379"))),
        (3, headers_frame(&mut client, 3, &fields("http://127.0.0.1:2379"))),
    ];
    let input = client_bytes(&requests);
    for chunk in [1, 2, 7, 9, 10, 64, input.len()] {
        let (blocks, data) = server_view(&rewrite_in_chunks(&input, chunk));
        assert_eq!(blocks, vec![fields("127.0.0.1:2379"); 2], "chunks of {chunk}");
        assert_eq!(data, vec![b"\0\0\0\0\x02hi".to_vec(); 2]);
    }
}

#[test]
fn valid_authorities_pass_byte_for_byte() {
    let mut client = Encoder::new();
    let requests = [
        (1, headers_frame(&mut client, 1, &fields("127.0.0.1:2379"))),
        (3, headers_frame(&mut client, 3, &fields("127.0.0.1:2379"))),
    ];
    let input = client_bytes(&requests);
    assert_eq!(rewrite_in_chunks(&input, 5), input.to_vec());
}

#[test]
fn padding_priority_and_continuations_are_handled() {
    let block =
        Encoder::new().encode(fields("http://10.0.0.1:2379").iter().map(|(n, v)| (&n[..], &v[..])));
    let (first, rest) = block.split_at(10);
    let (second, third) = rest.split_at(7);
    let mut frames = BytesMut::new();
    let mut payload = vec![3]; // pad length
    payload.extend_from_slice(&[0, 0, 0, 0, 200]); // priority: no dependency, weight 201
    payload.extend_from_slice(first);
    payload.extend_from_slice(&[0, 0, 0]);
    frame(HEADERS, PADDED | PRIORITY | END_STREAM, 5, &payload, &mut frames);
    frame(CONTINUATION, 0, 5, second, &mut frames);
    frame(CONTINUATION, END_HEADERS, 5, third, &mut frames);
    let input = client_bytes(&[(5, frames.to_vec())]);
    let output = rewrite_in_chunks(&input, 3);
    let (blocks, _) = server_view(&output);
    assert_eq!(blocks, vec![fields("10.0.0.1:2379")]);
    // The repaired HEADERS keeps END_STREAM and the priority fields, drops the padding.
    let headers = FrameHeader::parse(&output[PREFACE.len() + FRAME_HEADER_LEN..]).unwrap();
    assert_eq!((headers.kind, headers.stream_id), (HEADERS, 5));
    assert_eq!(headers.flags, END_STREAM | PRIORITY | END_HEADERS);
    let priority_at = PREFACE.len() + 2 * FRAME_HEADER_LEN;
    assert_eq!(&output[priority_at..priority_at + 5], &[0, 0, 0, 0, 200]);
}

#[test]
fn http1_passes_untouched() {
    let request = b"POST /v3/kv/range HTTP/1.1\r\nHost: http://x\r\n\r\n{}";
    let mut rewriter = Rewriter::default();
    let (mut inbound, mut out) = (BytesMut::from(&request[..3]), VecDeque::new());
    rewriter.rewrite(&mut inbound, &mut out);
    assert!(rewriter.is_transparent(), "decided on the first octets");
    assert_eq!(rewrite_in_chunks(request, 4), request.to_vec());
}

#[test]
fn malformed_header_frames_pass_through_as_they_came() {
    let mut client = Encoder::new();
    let good = headers_frame(&mut client, 1, &fields("http://127.0.0.1:2379"));
    let mut bad_padding = BytesMut::new();
    frame(HEADERS, PADDED | END_HEADERS, 3, &[200, 1, 2], &mut bad_padding);
    let mut interrupted = BytesMut::new();
    frame(HEADERS, 0, 5, &[0x82], &mut interrupted);
    frame(DATA, 0, 5, b"x", &mut interrupted);
    for malformed in [bad_padding.to_vec(), interrupted.to_vec()] {
        let mut input = client_bytes(&[(1, good.clone())]);
        let before = input.len();
        input.put_slice(&malformed);
        input.put_slice(b"trailing octets");
        let output = rewrite_in_chunks(&input, 4);
        assert!(output.ends_with(&input[before..]), "the malformed part reaches h2 unchanged");
    }
}

/// Random octets after a valid preface, and random mutations of a valid stream: no panic, and
/// every octet that was not part of a repaired block still arrives.
#[test]
fn garbage_never_panics() {
    let mut client = Encoder::new();
    let valid = client_bytes(&[(1, headers_frame(&mut client, 1, &fields("http://h:1")))]);
    let mut next = xorshift(0x2545_f491_4f6c_dd1d_u64);
    for round in 0..2_000 {
        let mut input = valid.to_vec();
        if round % 2 == 0 {
            input.truncate(PREFACE.len());
            input.extend((0..(next() % 300)).map(|_| next() as u8));
        } else {
            for _ in 0..(1 + next() % 4) {
                let at = PREFACE.len() + (next() as usize) % (input.len() - PREFACE.len());
                input[at] = next() as u8;
            }
        }
        let output = rewrite_in_chunks(&input, 1 + (next() as usize) % 32);
        assert!(output.starts_with(PREFACE));
    }
}

/// The rewriter's CPU cost per gRPC request, on a stream of 20,000 unary requests (HEADERS +
/// a small DATA frame) fed in 16 KiB reads, for a valid authority (verbatim path) and an
/// `http://` one (every block re-encoded). Run in release:
/// `cargo test --release -p detcd-server --bin detcd cost_per_request -- --ignored --nocapture`
#[test]
#[ignore = "a measurement; prints its figures"]
fn cost_per_request() {
    for authority in ["127.0.0.1:2379", "http://127.0.0.1:2379"] {
        let mut client = Encoder::new();
        let mut requests = Vec::new();
        let mut request = fields(authority);
        request[2].1 = b"/etcdserverpb.KV/Put".to_vec();
        request.push((b"content-type".to_vec(), b"application/grpc".to_vec()));
        request.push((b"user-agent".to_vec(), b"grpc-go/1.26.0".to_vec()));
        const REQUESTS: u32 = 20_000;
        for i in 0..REQUESTS {
            requests.push((2 * i + 1, headers_frame(&mut client, 2 * i + 1, &request)));
        }
        let input = client_bytes(&requests);
        let started = std::time::Instant::now();
        let output = rewrite_in_chunks(&input, 16 * 1024);
        let elapsed = started.elapsed();
        assert!(output.len() >= input.len() / 2);
        println!(
            "{authority}: {:.0} ns per request ({} -> {} octets)",
            elapsed.as_nanos() as f64 / f64::from(REQUESTS),
            input.len(),
            output.len()
        );
    }
}
