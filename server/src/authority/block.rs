//! One connection's client header blocks: decoded against the client's dynamic table, passed on
//! byte for byte while they need nothing, re-encoded once one has needed a repair.
//!
//! The decoder here mirrors the client's HPACK encoder, so every block must go through it in
//! order, even blocks that pass unchanged. While no block has been changed, the server's
//! decoder has seen exactly the client's bytes and its table equals the client's: verbatim is
//! correct. The first repaired block is re-encoded without the client's dynamic-table updates
//! (see `encode`), and from then on the server's table no longer matches the client's, so every
//! later block is re-encoded too, from the decoded fields. A block that does not decode ends the
//! repair for the connection: the caller then passes everything through and h2 judges it (an
//! HPACK error is fatal to an HTTP/2 connection anyway).

use super::decode::BlockDecoder;
use super::encode::encode_fields;
use super::repair::{fix_authority, AuthorityFix};
use std::ops::Range;

/// SETTINGS_HEADER_TABLE_SIZE as hyper's server advertises it (the protocol default): a client
/// may not grow its table past this, and our copy of it must not either.
const SERVER_HEADER_TABLE_SIZE: usize = 4096;

/// What to send the server for one header block.
#[derive(Debug, PartialEq, Eq)]
pub enum BlockOutcome {
    /// The client's bytes, unchanged.
    Verbatim,
    /// This HPACK block instead.
    Reencoded(Vec<u8>),
    /// Not a valid HPACK block: pass the client's bytes on and stop repairing.
    Undecodable,
}

/// The HPACK state of one client connection and whether its blocks are being re-encoded.
pub struct BlockRepair {
    decoder: BlockDecoder,
    reencoding: bool,
    fields: FieldList,
}

impl Default for BlockRepair {
    fn default() -> Self {
        BlockRepair {
            decoder: BlockDecoder::new(SERVER_HEADER_TABLE_SIZE),
            reencoding: false,
            fields: FieldList::default(),
        }
    }
}

impl BlockRepair {
    /// Decodes the complete header block `block` (every fragment of it, in order) and says what
    /// the server gets instead.
    pub fn repair(&mut self, block: &[u8]) -> BlockOutcome {
        self.fields.clear();
        let fields = &mut self.fields;
        if self.decoder.decode(block, |name, value| fields.push(name, value)).is_err() {
            return BlockOutcome::Undecodable;
        }
        let fix = self.fields.authority().map_or(AuthorityFix::Keep, fix_authority);
        if fix == AuthorityFix::Keep && !self.reencoding {
            return BlockOutcome::Verbatim;
        }
        self.reencoding = true;
        let mut encoded = Vec::with_capacity(block.len() * 2);
        let repaired = self.fields.iter().filter_map(|(name, value)| match (name, &fix) {
            (b":authority", AuthorityFix::Replace(authority)) => Some((name, *authority)),
            (b":authority", AuthorityFix::Drop) => None,
            _ => Some((name, value)),
        });
        encode_fields(repaired, &mut encoded);
        BlockOutcome::Reencoded(encoded)
    }
}

/// Decoded fields in one reused buffer: no allocation per field.
#[derive(Default)]
struct FieldList {
    octets: Vec<u8>,
    fields: Vec<(Range<usize>, Range<usize>)>,
}

impl FieldList {
    fn clear(&mut self) {
        self.octets.clear();
        self.fields.clear();
    }

    fn push(&mut self, name: &[u8], value: &[u8]) {
        let name_at = self.append(name);
        let value_at = self.append(value);
        self.fields.push((name_at, value_at));
    }

    fn append(&mut self, octets: &[u8]) -> Range<usize> {
        let start = self.octets.len();
        self.octets.extend_from_slice(octets);
        start..self.octets.len()
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|(name, value)| (&self.octets[name.clone()], &self.octets[value.clone()]))
    }

    /// The value of the first `:authority`; a request has at most one.
    fn authority(&self) -> Option<&[u8]> {
        self.iter().find(|(name, _)| *name == b":authority").map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loona_hpack::{Decoder, Encoder};

    type Fields = Vec<(Vec<u8>, Vec<u8>)>;

    fn request(authority: &str, path: &str) -> Fields {
        [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", authority),
            ("content-type", "application/grpc"),
            ("user-agent", "grpc-go/1.26.0"),
            ("te", "trailers"),
        ]
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
    }

    /// Encodes like a client: with dynamic-table insertions.
    fn client_block(client: &mut Encoder<'static>, fields: &Fields) -> Vec<u8> {
        client.encode(fields.iter().map(|(n, v)| (&n[..], &v[..])))
    }

    /// What the server's decoder makes of what we pass on.
    fn server_sees(server: &mut Decoder<'static>, sent: &[u8], outcome: BlockOutcome) -> Fields {
        match outcome {
            BlockOutcome::Verbatim => server.decode(sent).unwrap(),
            BlockOutcome::Reencoded(block) => server.decode(&block).unwrap(),
            BlockOutcome::Undecodable => panic!("undecodable"),
        }
    }

    #[test]
    fn an_http_url_authority_is_repaired_and_the_rest_kept() {
        let (mut client, mut server, mut repair) =
            (Encoder::new(), Decoder::new(), BlockRepair::default());
        let sent = client_block(
            &mut client,
            &request("http://127.0.0.1:2379", "/etcdserverpb.Maintenance/Status"),
        );
        let outcome = repair.repair(&sent);
        assert!(matches!(outcome, BlockOutcome::Reencoded(_)));
        assert_eq!(
            server_sees(&mut server, &sent, outcome),
            request("127.0.0.1:2379", "/etcdserverpb.Maintenance/Status")
        );
    }

    #[test]
    fn a_valid_authority_passes_byte_for_byte() {
        let (mut client, mut repair) = (Encoder::new(), BlockRepair::default());
        for _ in 0..3 {
            let sent =
                client_block(&mut client, &request("127.0.0.1:2379", "/etcdserverpb.KV/Put"));
            assert_eq!(repair.repair(&sent), BlockOutcome::Verbatim);
        }
    }

    #[test]
    fn an_unrepairable_authority_is_dropped() {
        let (mut client, mut server, mut repair) =
            (Encoder::new(), Decoder::new(), BlockRepair::default());
        let sent = client_block(&mut client, &request("unix:///tmp/sock", "/p"));
        let outcome = repair.repair(&sent);
        let mut expected = request("x", "/p");
        expected.retain(|(name, _)| name != b":authority");
        assert_eq!(server_sees(&mut server, &sent, outcome), expected);
    }

    /// After one repair, blocks that lean on the client's dynamic table (which the server never
    /// saw filled) still mean the same to the server.
    #[test]
    fn blocks_after_a_repair_keep_their_meaning() {
        let (mut client, mut server, mut repair) =
            (Encoder::new(), Decoder::new(), BlockRepair::default());
        let valid = request("127.0.0.1:2379", "/etcdserverpb.KV/Range");
        let first = client_block(&mut client, &valid);
        let outcome = repair.repair(&first);
        assert_eq!(server_sees(&mut server, &first, outcome), valid);
        let url = request("http://127.0.0.1:2379", "/etcdserverpb.KV/Range");
        let second = client_block(&mut client, &url);
        let outcome = repair.repair(&second);
        assert_eq!(server_sees(&mut server, &second, outcome), valid);
        // The client now refers to its dynamic table (`te: trailers` is in it).
        let third = client_block(&mut client, &url);
        assert!(Decoder::new().decode(&third).is_err(), "the client leans on its table");
        let outcome = repair.repair(&third);
        assert!(matches!(outcome, BlockOutcome::Reencoded(_)));
        assert_eq!(server_sees(&mut server, &third, outcome), valid);
    }

    #[test]
    fn garbage_is_undecodable_not_a_panic() {
        let mut repair = BlockRepair::default();
        assert_eq!(repair.repair(&[0xbf, 0xff, 0xff, 0xff, 0xff, 0x7f]), BlockOutcome::Undecodable);
        // A dynamic-table size update beyond what the server allows.
        assert_eq!(repair.repair(&[0x3f, 0xe1, 0xff, 0x03, 0x82]), BlockOutcome::Undecodable);
    }
}
