//! Encoding a header list as an HPACK block (RFC 7541) that never touches the server's dynamic
//! table.
//!
//! Once a block has been repaired, the server's decoder has not seen the client's dynamic-table
//! insertions, so its table and the client's differ for the rest of the connection. Every block
//! we re-encode therefore uses only the static table: a field that is in it whole is sent as its
//! index, any other as a literal without indexing (with the static index of its name if the
//! name is there). No dynamic-table size update is sent and nothing is inserted, so the server's
//! table is never read again and its state does not matter. Strings go out as raw octets: no
//! Huffman coding, trading a few bytes on loopback for less work per request.

use super::table::STATIC_TABLE;

/// Where a field stands in the static table.
enum StaticMatch {
    /// Name and value at this index.
    Field(usize),
    /// Only the name, first at this index.
    Name(usize),
    None,
}

fn find_static(name: &[u8], value: &[u8]) -> StaticMatch {
    let mut name_at = None;
    for (i, (static_name, static_value)) in STATIC_TABLE.iter().enumerate() {
        if *static_name == name {
            if *static_value == value {
                return StaticMatch::Field(i + 1);
            }
            name_at.get_or_insert(i + 1);
        }
    }
    name_at.map_or(StaticMatch::None, StaticMatch::Name)
}

/// Appends the HPACK encoding of `fields`, in order, to `out`.
pub fn encode_fields<'f>(
    fields: impl IntoIterator<Item = (&'f [u8], &'f [u8])>,
    out: &mut Vec<u8>,
) {
    for (name, value) in fields {
        encode_field(name, value, out);
    }
}

fn encode_field(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    match find_static(name, value) {
        // Indexed header field: 1xxxxxxx.
        StaticMatch::Field(index) => put_integer(index, 7, 0x80, out),
        // Literal without indexing, indexed name: 0000xxxx.
        StaticMatch::Name(index) => {
            put_integer(index, 4, 0x00, out);
            put_string(value, out);
        }
        // Literal without indexing, new name: 0x00, name, value.
        StaticMatch::None => {
            out.push(0x00);
            put_string(name, out);
            put_string(value, out);
        }
    }
}

/// A raw (not Huffman-coded) string literal: 7-bit-prefix length, then the octets.
fn put_string(octets: &[u8], out: &mut Vec<u8>) {
    put_integer(octets.len(), 7, 0x00, out);
    out.extend_from_slice(octets);
}

/// An integer with an N-bit prefix (RFC 7541 §5.1); `leading_bits` fill the first octet's
/// high bits.
fn put_integer(value: usize, prefix_bits: u8, leading_bits: u8, out: &mut Vec<u8>) {
    let prefix_max = (1usize << prefix_bits) - 1;
    if value < prefix_max {
        out.push(leading_bits | value as u8);
        return;
    }
    out.push(leading_bits | prefix_max as u8);
    let mut rest = value - prefix_max;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use loona_hpack::Decoder;

    fn decode(block: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        Decoder::new().decode(block).expect("a block we encoded decodes")
    }

    #[test]
    fn fields_round_trip_through_a_fresh_decoder() {
        let long = vec![b'x'; 300];
        let fields: Vec<(&[u8], &[u8])> = vec![
            (b":method", b"POST"),
            (b":scheme", b"http"),
            (b":path", b"/etcdserverpb.Maintenance/Status"),
            (b":authority", b"127.0.0.1:2379"),
            (b"content-type", b"application/grpc"),
            (b"te", b"trailers"),
            (b"x-long", &long),
        ];
        let mut block = Vec::new();
        encode_fields(fields.iter().copied(), &mut block);
        let decoded = decode(&block);
        let expected: Vec<(Vec<u8>, Vec<u8>)> =
            fields.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn static_fields_are_indexed_and_nothing_is_inserted() {
        let mut block = Vec::new();
        encode_fields([(&b":method"[..], &b"POST"[..]), (b":path", b"/a")], &mut block);
        // :method POST is static index 3; :path is name index 4, literal without indexing.
        assert_eq!(block, [0x83, 0x04, 2, b'/', b'a']);
        // No representation with incremental indexing (01xxxxxx) was used.
        let mut again = Vec::new();
        encode_fields([(&b"x-new"[..], &b"v"[..])], &mut again);
        assert_eq!(again[0], 0x00);
    }

    #[test]
    fn integers_past_the_prefix_continue_in_seven_bit_groups() {
        // RFC 7541 C.1.2: 1337 with a 5-bit prefix.
        let mut out = Vec::new();
        put_integer(1337, 5, 0, &mut out);
        assert_eq!(out, [31, 154, 10]);
        out.clear();
        put_integer(127, 7, 0x80, &mut out);
        assert_eq!(out, [0xff, 0]);
    }
}
