//! Snapshot files: a member's archive (see `detcd_core::member::archive`), zero-padded to a
//! multiple of 512 bytes, followed by the sha256 of everything before it, as etcd's snapshot
//! stream is a page-aligned database followed by its sha256. `etcdctl snapshot save` refuses a
//! download whose size is not `512k + 32` ("sha256 checksum not found"). The trailer is what
//! tells a complete, intact download from a cut or damaged one; `open` checks it before anything
//! reads the archive (which ignores the padding after its own encoding).

pub mod cli;

use sha2::{Digest, Sha256};

const TRAILER: usize = 32;
const ALIGNMENT: usize = 512;

/// The file bytes for `archive`: the archive, padding, then their sha256.
pub fn seal(mut archive: Vec<u8>) -> Vec<u8> {
    archive.resize(archive.len().div_ceil(ALIGNMENT).max(1) * ALIGNMENT, 0);
    let digest = Sha256::digest(&archive);
    archive.extend_from_slice(&digest);
    archive
}

/// The archive inside snapshot file bytes, once its sha256 trailer matches.
pub fn open(file: &[u8]) -> Result<&[u8], String> {
    let Some(split) = file.len().checked_sub(TRAILER) else {
        return Err(format!("snapshot file too short ({} bytes) to hold a sha256", file.len()));
    };
    let (archive, trailer) = file.split_at(split);
    if Sha256::digest(archive).as_slice() != trailer {
        return Err("snapshot file's sha256 does not match its contents".into());
    }
    Ok(archive)
}

#[cfg(test)]
mod tests {
    use super::*;

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
