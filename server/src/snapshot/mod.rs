//! Snapshot files, as etcd's: a bbolt database holding etcd's buckets (`etcd_db`, written by
//! `bolt`), followed by the sha256 of everything before it. etcd's tools read it
//! (`etcdctl snapshot status`, `etcdctl snapshot restore`); detcd's restore reads detcd's own
//! archive (see `detcd_core::member::archive`) from the database's `detcd` bucket. `etcdctl
//! snapshot save` refuses a download whose size is not `512k + 32` ("sha256 checksum not found");
//! the database is whole pages. The trailer is what tells a complete, intact download from a cut
//! or damaged one; `open` checks it before anything reads the archive.
//!
//! Files of the first format (the archive itself, zero-padded to a multiple of 512 bytes, then
//! the sha256) still open: `open` tells them apart by bbolt's magic number.

pub mod bolt;
pub mod cli;
pub mod etcd_auth;
pub mod etcd_db;
pub use etcd_db::backend_hash;

use sha2::{Digest, Sha256};
use std::borrow::Cow;

const TRAILER: usize = 32;
const ALIGNMENT: usize = 512;

/// The file bytes for `archive`: the archive, padding, then their sha256.
pub fn seal(mut archive: Vec<u8>) -> Vec<u8> {
    archive.resize(archive.len().div_ceil(ALIGNMENT).max(1) * ALIGNMENT, 0);
    let digest = Sha256::digest(&archive);
    archive.extend_from_slice(&digest);
    archive
}

/// The snapshot file of a member's state: its archive (`archive`, the bytes of `machine`) in an
/// etcd database, then the sha256.
pub fn seal_database(machine: &detcd_core::apply::StateMachine, archive: Vec<u8>) -> Vec<u8> {
    seal(etcd_db::database(machine, archive))
}

/// The archive inside snapshot file bytes, once its sha256 trailer matches: detcd's own, or
/// (for a snapshot of etcd's, which has no `detcd` bucket) one made from etcd's buckets.
pub fn open(file: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    let Some(split) = file.len().checked_sub(TRAILER) else {
        return Err(format!("snapshot file too short ({} bytes) to hold a sha256", file.len()));
    };
    let (contents, trailer) = file.split_at(split);
    if Sha256::digest(contents).as_slice() != trailer {
        return Err("snapshot file's sha256 does not match its contents".into());
    }
    if !bolt::is_database(contents) {
        return Ok(Cow::Borrowed(contents));
    }
    if let Some(archive) = bolt::lookup(contents, etcd_db::DETCD_BUCKET, etcd_db::ARCHIVE_KEY)? {
        return Ok(Cow::Borrowed(archive));
    }
    let machine = etcd_db::import(contents, detcd_core::lease::DEFAULT_MIN_TTL)
        .map_err(|e| format!("etcd snapshot: {e}"))?;
    Ok(Cow::Owned(detcd_core::member::archive::encode(&machine)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_file_opens_to_the_archive_in_it() {
        let machine = detcd_core::apply::StateMachine::new();
        let file = seal_database(&machine, b"the archive".to_vec());
        assert_eq!((file.len() - TRAILER) % ALIGNMENT, 0);
        assert_eq!(&*open(&file).unwrap(), b"the archive");
        let mut flipped = file.clone();
        flipped[100] ^= 1;
        assert!(open(&flipped).is_err());
    }

    #[test]
    fn a_sealed_file_opens_and_any_damage_is_detected() {
        let file = seal(b"state".to_vec());
        assert_eq!(file.len(), ALIGNMENT + TRAILER, "etcdctl wants 512k + 32 bytes");
        assert!(open(&file).unwrap().starts_with(b"state\0\0"));
        let mut flipped = file.clone();
        flipped[1] ^= 1;
        assert!(open(&flipped).is_err());
        assert!(open(&file[..file.len() - 1]).is_err());
        assert!(open(b"short").is_err());
    }
}
