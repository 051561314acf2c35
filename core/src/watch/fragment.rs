//! Fragmentation: splitting one large response into pieces a gRPC message can carry.
//!
//! Only watchers that asked for `fragment` are split, and only when the response's protobuf size
//! reaches the limit and it has at least two events (as etcd). Each piece is filled while it stays
//! under the limit (but always takes at least one event); every piece except the last has
//! `fragment = true`, and the client concatenates pieces until one has `fragment = false`. This is
//! the only place where the events of one revision may be split across responses.
//!
//! Sizes are computed exactly as protobuf encodes `etcdserverpb.WatchResponse` (proto3: zero
//! fields are left out), so the limit means what it means for etcd.

use super::api::WatchResponse;
use crate::kv::{Event, EventType, KeyValue, ResponseHeader};

/// Splits `response` into fragments of fewer than `max_bytes` encoded bytes where possible.
pub(crate) fn split(mut response: WatchResponse, max_bytes: usize) -> Vec<WatchResponse> {
    if response.events.len() < 2 || encoded_len(&response) < max_bytes {
        return vec![response];
    }
    let events = std::mem::take(&mut response.events);
    let shell = WatchResponse { fragment: true, ..response };
    let shell_len = encoded_len(&shell);
    let mut pieces = Vec::new();
    let mut piece = Vec::new();
    let mut piece_len = shell_len;
    for event in events {
        let len = event_field_len(&event);
        if !piece.is_empty() && piece_len + len >= max_bytes {
            pieces.push(WatchResponse { events: std::mem::take(&mut piece), ..shell.clone() });
            piece_len = shell_len;
        }
        piece_len += len;
        piece.push(event);
    }
    pieces.push(WatchResponse { events: piece, fragment: false, ..shell });
    pieces
}

fn varint_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// A varint field (int64 / uint64 / enum): tag + value, absent when 0.
fn varint_field(value: u64) -> usize {
    if value == 0 {
        0
    } else {
        1 + varint_len(value)
    }
}

fn bytes_field(bytes: &[u8]) -> usize {
    if bytes.is_empty() {
        0
    } else {
        length_delimited(bytes.len())
    }
}

fn bool_field(value: bool) -> usize {
    if value {
        2
    } else {
        0
    }
}

/// A length-delimited field (bytes or an embedded message) of `len` bytes, with its tag.
fn length_delimited(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

fn key_value_len(kv: &KeyValue) -> usize {
    bytes_field(&kv.key)
        + varint_field(kv.create_revision as u64)
        + varint_field(kv.mod_revision as u64)
        + varint_field(kv.version as u64)
        + bytes_field(&kv.value)
        + varint_field(kv.lease as u64)
}

fn event_len(event: &Event) -> usize {
    let kind = match event.kind {
        EventType::Put => 0,
        EventType::Delete => 1,
    };
    varint_field(kind)
        + length_delimited(key_value_len(&event.kv))
        + event.prev_kv.as_ref().map_or(0, |kv| length_delimited(key_value_len(kv)))
}

fn header_len(header: &ResponseHeader) -> usize {
    varint_field(header.cluster_id)
        + varint_field(header.member_id)
        + varint_field(header.revision as u64)
        + varint_field(header.raft_term)
}

/// The protobuf-encoded size of one event inside a response's `events` field.
fn event_field_len(event: &Event) -> usize {
    length_delimited(event_len(event))
}

/// The protobuf-encoded size of `response`.
pub(crate) fn encoded_len(response: &WatchResponse) -> usize {
    length_delimited(header_len(&response.header))
        + varint_field(response.watch_id as u64)
        + bool_field(response.created)
        + bool_field(response.canceled)
        + varint_field(response.compact_revision as u64)
        + bytes_field(response.cancel_reason.as_bytes())
        + bool_field(response.fragment)
        + response.events.iter().map(event_field_len).sum::<usize>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(revision: i64, value_len: usize) -> Event {
        let kv = KeyValue {
            key: b"key".to_vec(),
            create_revision: 1,
            mod_revision: revision,
            version: revision,
            value: vec![b'v'; value_len],
            lease: 0,
        };
        Event { kind: EventType::Put, kv, prev_kv: None }
    }

    #[test]
    fn sizes_match_protobuf_encoding() {
        // Hand-encoded: header{revision: 5} = 0a 02 18 05; watch_id 7 = 10 07; created = 18 01.
        let mut response = WatchResponse { watch_id: 7, created: true, ..Default::default() };
        response.header.revision = 5;
        assert_eq!(encoded_len(&response), 4 + 2 + 2);
        // A negative int64 takes ten bytes, as protobuf encodes it.
        assert_eq!(varint_field(-1i64 as u64), 11);
        // kv{key "key", create 1, mod 2, version 2, value "vv"} = 5 + 2 + 2 + 2 + 4 = 15 bytes,
        // wrapped in the event (17), wrapped in the response's events field (19).
        assert_eq!(event_field_len(&event(2, 2)), 19);
    }

    #[test]
    fn small_responses_and_single_events_are_never_split() {
        let response =
            WatchResponse { events: vec![event(2, 10), event(2, 10)], ..Default::default() };
        assert_eq!(split(response.clone(), 1 << 20), vec![response]);
        let big = WatchResponse { events: vec![event(2, 1000)], ..Default::default() };
        assert_eq!(split(big.clone(), 10), vec![big]);
    }

    #[test]
    fn large_responses_split_in_order_with_fragment_flags() {
        let events: Vec<Event> = (0..10).map(|_| event(3, 50)).collect();
        let response = WatchResponse { watch_id: 4, events: events.clone(), ..Default::default() };
        let pieces = split(response, 200);
        assert!(pieces.len() > 1);
        let flags: Vec<bool> = pieces.iter().map(|piece| piece.fragment).collect();
        assert!(flags[..flags.len() - 1].iter().all(|&flag| flag) && !flags[flags.len() - 1]);
        for piece in &pieces {
            assert_eq!(piece.watch_id, 4);
            assert!(!piece.events.is_empty());
            assert!(piece.events.len() == 1 || encoded_len(piece) < 200);
        }
        let joined: Vec<Event> = pieces.into_iter().flat_map(|piece| piece.events).collect();
        assert_eq!(joined, events);
    }
}
