//! Decoding a client's HPACK header blocks (RFC 7541 §5, §6) while keeping its dynamic table.
//!
//! Written here rather than taken whole from a crate because the per-request cost matters: the
//! HPACK crates tried either rebuilt a Huffman table of hash maps for every string (about 20 µs
//! of CPU per request, measured with `detcd-bench put`) or panicked on truncated blocks. Huffman
//! strings are decoded by `httlib-huffman`'s table-driven decoder; strings and fields borrow
//! from the block or from reused scratch buffers, so a block decodes without allocating except
//! for the entries it inserts.
//!
//! Every malformed input is an error, never a panic: an index of 0 or past the tables, an
//! integer over 2^28, a string longer than the block, bad Huffman padding, a size update above
//! what the server allows or after the first field.

use super::table::DynamicTable;
use httlib_huffman::DecoderSpeed;

/// Why a block could not be decoded (an HPACK COMPRESSION_ERROR for the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The block ends inside a field.
    Truncated,
    /// An integer beyond 2^28 (RFC 7541 §5.1 lets decoders bound them).
    IntegerTooLarge,
    /// Index 0 or past the end of the tables.
    BadIndex,
    /// A Huffman string that does not decode (EOS inside, or bad padding).
    BadHuffman,
    /// A dynamic-table size update above the server's limit, or after a field.
    BadSizeUpdate,
}

/// Bounds integers: four continuation octets carry 28 bits, enough for any real length.
const MAX_INTEGER: usize = 1 << 28;

/// One connection's HPACK decoding state.
pub struct BlockDecoder {
    table: DynamicTable,
    /// The SETTINGS_HEADER_TABLE_SIZE the server advertised: no update may exceed it.
    max_allowed: usize,
    name_scratch: Vec<u8>,
    value_scratch: Vec<u8>,
}

/// Where a decoded string literal is: in the block, or (Huffman-coded) in a scratch buffer.
#[derive(Clone, Copy)]
enum Decoded {
    InBlock { start: usize, end: usize },
    InScratch,
}

impl Decoded {
    fn bytes<'a>(self, block: &'a [u8], scratch: &'a [u8]) -> &'a [u8] {
        match self {
            Decoded::InBlock { start, end } => block.get(start..end).unwrap_or(&[]),
            Decoded::InScratch => scratch,
        }
    }
}

impl BlockDecoder {
    /// A decoder whose table starts (and may grow back) at `max_allowed` octets.
    pub fn new(max_allowed: usize) -> Self {
        BlockDecoder {
            table: DynamicTable::new(max_allowed),
            max_allowed,
            name_scratch: Vec::new(),
            value_scratch: Vec::new(),
        }
    }

    /// Decodes a complete header block, calling `field` with each name and value in order.
    /// After an error the table may be partly updated; the connection's HPACK state is lost
    /// either way.
    pub fn decode(
        &mut self,
        block: &[u8],
        mut field: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), DecodeError> {
        let mut at = 0;
        let mut fields_seen = false;
        while let Some(&first) = block.get(at) {
            let rest = &block[at..];
            at += if first & 0x80 != 0 {
                fields_seen = true;
                self.indexed(rest, &mut field)?
            } else if first & 0x40 != 0 {
                fields_seen = true;
                self.literal(rest, 6, true, &mut field)?
            } else if first & 0x20 != 0 {
                if fields_seen {
                    return Err(DecodeError::BadSizeUpdate);
                }
                self.size_update(rest)?
            } else {
                // 0001xxxx never indexed, 0000xxxx without indexing: the same to us.
                fields_seen = true;
                self.literal(rest, 4, false, &mut field)?
            };
        }
        Ok(())
    }

    fn indexed(
        &self,
        rest: &[u8],
        field: &mut impl FnMut(&[u8], &[u8]),
    ) -> Result<usize, DecodeError> {
        let (index, used) = integer(rest, 7)?;
        let (name, value) = self.table.get(index).ok_or(DecodeError::BadIndex)?;
        field(name, value);
        Ok(used)
    }

    fn literal(
        &mut self,
        rest: &[u8],
        prefix_bits: u8,
        insert: bool,
        field: &mut impl FnMut(&[u8], &[u8]),
    ) -> Result<usize, DecodeError> {
        let (index, mut used) = integer(rest, prefix_bits)?;
        let literal_name = if index == 0 {
            let (name, len) = string(rest, used, &mut self.name_scratch)?;
            used += len;
            Some(name)
        } else {
            self.table.get(index).ok_or(DecodeError::BadIndex)?;
            None
        };
        let (value, len) = string(rest, used, &mut self.value_scratch)?;
        used += len;
        let value = value.bytes(rest, &self.value_scratch);
        let name = match literal_name {
            Some(name) => name.bytes(rest, &self.name_scratch),
            None => self.table.get(index).map_or(&[][..], |(name, _)| name),
        };
        field(name, value);
        if insert {
            let entry = (name.to_vec(), value.to_vec());
            self.table.insert(entry.0, entry.1);
        }
        Ok(used)
    }

    fn size_update(&mut self, rest: &[u8]) -> Result<usize, DecodeError> {
        let (max_size, used) = integer(rest, 5)?;
        if max_size > self.max_allowed {
            return Err(DecodeError::BadSizeUpdate);
        }
        self.table.set_max_size(max_size);
        Ok(used)
    }
}

/// An integer with an N-bit prefix at the start of `bytes`: its value and the octets it took.
fn integer(bytes: &[u8], prefix_bits: u8) -> Result<(usize, usize), DecodeError> {
    let first = *bytes.first().ok_or(DecodeError::Truncated)?;
    let prefix_max = (1usize << prefix_bits) - 1;
    let mut value = usize::from(first) & prefix_max;
    if value < prefix_max {
        return Ok((value, 1));
    }
    let mut shift = 0;
    for (i, &octet) in bytes.iter().enumerate().skip(1) {
        value += usize::from(octet & 0x7f) << shift;
        if value > MAX_INTEGER {
            return Err(DecodeError::IntegerTooLarge);
        }
        if octet & 0x80 == 0 {
            return Ok((value, i + 1));
        }
        shift += 7;
        if shift > 28 {
            return Err(DecodeError::IntegerTooLarge);
        }
    }
    Err(DecodeError::Truncated)
}

/// Decodes the string literal at `block[at..]`: a Huffman one into `scratch`. Returns where
/// its octets are and how many octets of the block it took.
fn string(block: &[u8], at: usize, scratch: &mut Vec<u8>) -> Result<(Decoded, usize), DecodeError> {
    let bytes = block.get(at..).ok_or(DecodeError::Truncated)?;
    let huffman = bytes.first().ok_or(DecodeError::Truncated)? & 0x80 != 0;
    let (len, used) = integer(bytes, 7)?;
    let octets = bytes.get(used..used + len).ok_or(DecodeError::Truncated)?;
    if !huffman {
        return Ok((Decoded::InBlock { start: at + used, end: at + used + len }, used + len));
    }
    scratch.clear();
    httlib_huffman::decode(octets, scratch, DecoderSpeed::FiveBits)
        .map_err(|_| DecodeError::BadHuffman)?;
    if !is_canonical_huffman(scratch, octets) {
        return Err(DecodeError::BadHuffman);
    }
    Ok((Decoded::InScratch, used + len))
}

/// Whether `octets` is exactly the Huffman coding of `decoded`. The decoder accepts padding
/// that is not a prefix of EOS (all ones), which RFC 7541 §5.2 makes an error; since the code
/// is fixed and the padding must be all ones and under a byte, each string has exactly one
/// valid coding, and comparing with it catches that.
fn is_canonical_huffman(decoded: &[u8], octets: &[u8]) -> bool {
    let mut coded = Vec::with_capacity(octets.len());
    httlib_huffman::encode(decoded, &mut coded).is_ok() && coded == octets
}

#[cfg(test)]
mod tests {
    use super::*;

    type Fields = Vec<(Vec<u8>, Vec<u8>)>;

    fn decode(decoder: &mut BlockDecoder, block: &[u8]) -> Result<Fields, DecodeError> {
        let mut fields = Vec::new();
        decoder.decode(block, |n, v| fields.push((n.to_vec(), v.to_vec())))?;
        Ok(fields)
    }

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
    }

    fn hex(text: &str) -> Vec<u8> {
        let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
        digits
            .chunks(2)
            .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
            .collect()
    }

    /// RFC 7541 C.4: three requests with Huffman coding on one connection.
    #[test]
    fn the_rfc_huffman_request_examples_decode() {
        let mut decoder = BlockDecoder::new(4096);
        let first = decode(&mut decoder, &hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"));
        let base = [(":method", "GET"), (":scheme", "http"), (":path", "/")];
        let mut expected = base.to_vec();
        expected.push((":authority", "www.example.com"));
        assert_eq!(first, Ok(fields(&expected)));
        let second = decode(&mut decoder, &hex("8286 84be 5886 a8eb 1064 9cbf"));
        expected.push(("cache-control", "no-cache"));
        assert_eq!(second, Ok(fields(&expected)));
        let third = decode(
            &mut decoder,
            &hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
        );
        let https = [
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ];
        assert_eq!(third, Ok(fields(&https)));
    }

    /// RFC 7541 C.3.1 without Huffman: a literal with indexing lands in the table.
    #[test]
    fn raw_literals_are_inserted_and_then_indexed() {
        let mut decoder = BlockDecoder::new(4096);
        let first = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
        let authority = [
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ];
        assert_eq!(decode(&mut decoder, &first), Ok(fields(&authority)));
        assert_eq!(decode(&mut decoder, &[0xbe]), Ok(fields(&authority[3..])));
    }

    #[test]
    fn size_updates_apply_only_at_the_start_and_within_the_limit() {
        let mut decoder = BlockDecoder::new(4096);
        decode(&mut decoder, &hex("4001 6101 62")).unwrap(); // insert a: b
                                                             // Size update to 0 empties the table: index 62 is gone.
        assert_eq!(decode(&mut decoder, &[0x20, 0xbe]), Err(DecodeError::BadIndex));
        assert_eq!(decode(&mut decoder, &[0x82, 0x20]), Err(DecodeError::BadSizeUpdate));
        // 4097 > 4096: 0x3f then 4097 - 31 = 4066 = 0x7e2 -> e2 1f
        assert_eq!(decode(&mut decoder, &[0x3f, 0xe2, 0x1f]), Err(DecodeError::BadSizeUpdate));
    }

    #[test]
    fn malformed_blocks_are_errors() {
        let mut decoder = BlockDecoder::new(4096);
        assert_eq!(decode(&mut decoder, &[0x80]), Err(DecodeError::BadIndex));
        assert_eq!(decode(&mut decoder, &[0xff, 0x80]), Err(DecodeError::Truncated));
        assert_eq!(
            decode(&mut decoder, &[0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            Err(DecodeError::IntegerTooLarge)
        );
        assert_eq!(decode(&mut decoder, &[0x40]), Err(DecodeError::Truncated));
        assert_eq!(decode(&mut decoder, &[0x00, 0x05, b'a']), Err(DecodeError::Truncated));
        // Huffman string of one octet 0x00: five zero bits are '0', then three bits of zero
        // padding, where the RFC wants ones (0x07 would be right).
        assert_eq!(decode(&mut decoder, &[0x04, 0x81, 0x00]), Err(DecodeError::BadHuffman));
        assert_eq!(decode(&mut decoder, &[0x04, 0x81, 0x07]), Ok(fields(&[(":path", "0")])));
        // A whole octet of padding.
        assert_eq!(decode(&mut decoder, &[0x04, 0x82, 0x07, 0xff]), Err(DecodeError::BadHuffman));
    }

    /// Whatever `loona-hpack`'s encoder (an independent implementation) sends, in a long run
    /// of blocks sharing one table, decodes to what it encoded.
    #[test]
    fn agrees_with_an_independent_encoder() {
        let mut client = loona_hpack::Encoder::new();
        let mut decoder = BlockDecoder::new(4096);
        let mut next = super::super::tests::xorshift(0x9e37_79b9_7f4a_7c15_u64);
        for _ in 0..500 {
            let count = 1 + next() % 8;
            let sent: Fields = (0..count)
                .map(|_| {
                    let name = format!("h{}", next() % 40).into_bytes();
                    let value = (0..next() % 120).map(|_| b' ' + (next() % 94) as u8).collect();
                    (name, value)
                })
                .collect();
            let block = client.encode(sent.iter().map(|(n, v)| (&n[..], &v[..])));
            assert_eq!(decode(&mut decoder, &block), Ok(sent));
        }
    }

    #[test]
    fn random_octets_never_panic() {
        let mut next = super::super::tests::xorshift(0x2545_f491_4f6c_dd1d_u64);
        let mut decoder = BlockDecoder::new(4096);
        for _ in 0..20_000 {
            let block: Vec<u8> = (0..next() % 40).map(|_| next() as u8).collect();
            let _ = decode(&mut decoder, &block);
        }
    }
}
