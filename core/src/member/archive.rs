//! A member's state as a portable archive (what etcd's `snapshot save` downloads): the state
//! machine's own snapshot bytes and the revision they stand at, and what `snapshot status`
//! reports about them.
//!
//! The archive holds only replicated state (keys with their history, leases, compaction point),
//! nothing of the raft log or the membership: restoring it starts a new cluster (see `restore`).
//! Decoding trusts nothing: bytes that are not an archive of this format, or whose state machine
//! does not decode, are refused with an error, never a panic. Integrity (the sha256 trailer of
//! the file) is the edge's job; this is the payload.

use super::Member;
use crate::api::RangeRequest;
use crate::apply::StateMachine;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Bumped whenever the archive's encoding changes incompatibly.
const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope {
    format: u32,
    revision: i64,
    machine: Vec<u8>,
}

/// A decoded archive: the state machine it holds.
pub struct Archive {
    pub machine: StateMachine,
}

/// etcd's `snapshot status` figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveStatus {
    /// The key space's hash at `revision` (as `HashKV` computes it).
    pub hash: u32,
    pub revision: i64,
    /// Live keys at `revision`.
    pub total_keys: i64,
}

impl Member {
    /// This member's replicated state now, as archive bytes.
    pub fn archive(&self) -> Vec<u8> {
        let state = self.node().replica.lock();
        encode(&state.machine)
    }
}

/// The archive bytes of `machine`.
pub fn encode(machine: &StateMachine) -> Vec<u8> {
    let envelope =
        Envelope { format: FORMAT, revision: machine.revision(), machine: machine.snapshot() };
    // Encoding plain data into a Vec cannot fail; an empty archive would be refused on decode.
    postcard::to_stdvec(&envelope).unwrap_or_default()
}

/// The state machine in archive bytes made by [`encode`]; bytes after the encoding (a file's
/// padding) are ignored.
pub fn decode(bytes: &[u8]) -> Result<Archive> {
    let envelope: Envelope = postcard::from_bytes(bytes)
        .map_err(|e| Error::Other(format!("not a detcd snapshot: {e}")))?;
    if envelope.format != FORMAT {
        return Err(Error::Other(format!("unknown detcd snapshot format {}", envelope.format)));
    }
    let machine = StateMachine::restore(&envelope.machine)?;
    if machine.revision() != envelope.revision {
        return Err(Error::Other("detcd snapshot revision does not match its state".into()));
    }
    Ok(Archive { machine })
}

impl Archive {
    pub fn status(&self) -> Result<ArchiveStatus> {
        let revision = self.machine.revision();
        let (hash, _) = self.machine.hash_kv(revision)?;
        // Every key: from "\0" to the end of the key space, as etcd's `--from-key ""`.
        let all = RangeRequest {
            key: vec![0],
            range_end: vec![0],
            count_only: true,
            serializable: true,
            ..Default::default()
        };
        let total_keys = self.machine.range(&all)?.count;
        Ok(ArchiveStatus { hash, revision, total_keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::PutRequest;
    use crate::apply::Command;

    fn machine_with(keys: &[&str]) -> StateMachine {
        let mut machine = StateMachine::with_min_ttl(1);
        for (index, key) in keys.iter().enumerate() {
            let put = PutRequest {
                key: key.as_bytes().to_vec(),
                value: b"v".to_vec(),
                ..Default::default()
            };
            let (outcome, _) = machine.apply(index as u64 + 1, &Command::Put(put));
            outcome.expect("put");
        }
        machine
    }

    #[test]
    fn an_archive_round_trips_and_reports_keys_revision_and_hash() {
        let machine = machine_with(&["a", "b", "a"]);
        let mut padded = encode(&machine);
        padded.resize(padded.len() + 100, 0);
        let archive = decode(&padded).expect("decodes, padding and all");
        let status = archive.status().expect("status");
        assert_eq!((status.revision, status.total_keys), (4, 2));
        assert_eq!(status.hash, machine.hash_kv(4).expect("hash").0);
        let other = decode(&encode(&machine_with(&["a", "b", "c"]))).expect("decodes");
        assert_ne!(other.status().expect("status").hash, status.hash);
    }

    #[test]
    fn bytes_that_are_not_an_archive_are_refused() {
        assert!(decode(b"").is_err());
        assert!(decode(b"definitely not a snapshot").is_err());
        let mut bytes = encode(&machine_with(&["a"]));
        bytes.truncate(bytes.len() - 3);
        assert!(decode(&bytes).is_err());
    }
}
