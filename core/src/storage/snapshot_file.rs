//! Snapshot files: the whole state (MVCC + leases) as one checksummed file, written atomically.
//!
//! A snapshot is saved as `snap.tmp`, fsynced, renamed to `{id:016x}.snap` and the directory
//! fsynced; only then does `save` return. A crash at any point leaves either the old set of
//! snapshots or the new one, plus at worst a stray `snap.tmp`, which is ignored and overwritten.
//! After a save, all but the newest `keep` snapshots are removed. Saves run one at a time (a
//! member may build a snapshot of its own while it installs one from the leader): two saves
//! sharing `snap.tmp` would truncate and rename each other's file.
//!
//! File format: `magic "DSNP" | version u32 LE (1) | data_len u64 LE | crc32(data) u32 LE | data`.
//! A file that does not match it is an error naming the file — never a silent fallback to an
//! older snapshot, because the log may already be purged up to the newer one.
//!
//! `id` is the caller's (e.g. the last log index the snapshot covers); larger is newer.

use std::sync::Arc;

use super::disk::{join, Disk};
use super::StorageError;

const MAGIC: &[u8; 4] = b"DSNP";
const VERSION: u32 = 1;
const PREAMBLE_LEN: usize = 4 + 4 + 8 + 4;
const TEMP_NAME: &str = "snap.tmp";
const EXTENSION: &str = ".snap";

/// The snapshot directory of one member.
#[derive(Debug, Clone)]
pub struct SnapshotFiles {
    disk: Arc<dyn Disk>,
    dir: String,
    keep: usize,
    /// Held for the whole of a save; shared by clones.
    saving: Arc<tokio::sync::Mutex<()>>,
}

impl SnapshotFiles {
    /// Snapshots in `dir` (relative to the disk root), keeping the newest `keep` (at least 1).
    pub fn new(disk: Arc<dyn Disk>, dir: impl Into<String>, keep: usize) -> SnapshotFiles {
        SnapshotFiles { disk, dir: dir.into(), keep: keep.max(1), saving: Arc::default() }
    }

    /// Durably stores `data` as snapshot `id`, then removes snapshots beyond the newest `keep`.
    pub async fn save(&self, id: u64, data: &[u8]) -> Result<(), StorageError> {
        let _one_at_a_time = self.saving.lock().await;
        let temp = join(&self.dir, TEMP_NAME);
        let path = self.path(id);
        self.disk.create(&temp).map_err(StorageError::io("create", &temp))?;
        self.disk.append(&temp, &encode(data)).map_err(StorageError::io("write", &temp))?;
        self.disk.sync(&temp).await.map_err(StorageError::io("fsync", &temp))?;
        self.disk.rename(&temp, &path).map_err(StorageError::io("rename", &path))?;
        self.sync_dir().await?;
        self.remove_old().await
    }

    /// Ids of the stored snapshots, oldest first.
    pub fn list(&self) -> Result<Vec<u64>, StorageError> {
        let names = self.disk.list(&self.dir).map_err(StorageError::io("list", &self.dir))?;
        let mut ids: Vec<u64> = names.iter().filter_map(|name| parse_name(name)).collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Reads snapshot `id`, checking its checksum.
    pub fn load(&self, id: u64) -> Result<Vec<u8>, StorageError> {
        let path = self.path(id);
        let bytes = self.disk.read(&path).map_err(StorageError::io("read", &path))?;
        decode(&bytes).map_err(|(offset, reason)| StorageError::corrupt(&path, offset, reason))
    }

    /// The newest snapshot, if any.
    pub fn load_latest(&self) -> Result<Option<(u64, Vec<u8>)>, StorageError> {
        match self.list()?.last() {
            None => Ok(None),
            Some(&id) => Ok(Some((id, self.load(id)?))),
        }
    }

    async fn remove_old(&self) -> Result<(), StorageError> {
        let ids = self.list()?;
        let excess = ids.len().saturating_sub(self.keep);
        if excess == 0 {
            return Ok(());
        }
        for id in &ids[..excess] {
            let path = self.path(*id);
            self.disk.remove(&path).map_err(StorageError::io("remove", &path))?;
        }
        self.sync_dir().await
    }

    async fn sync_dir(&self) -> Result<(), StorageError> {
        self.disk.sync_dir(&self.dir).await.map_err(StorageError::io("fsync dir", &self.dir))
    }

    fn path(&self, id: u64) -> String {
        join(&self.dir, &format!("{id:016x}{EXTENSION}"))
    }
}

fn parse_name(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(EXTENSION)?;
    if hex.len() != 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

fn encode(data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(PREAMBLE_LEN + data.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&(data.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    bytes.extend_from_slice(data);
    bytes
}

/// The data of a snapshot file, or the offset and reason it is malformed.
fn decode(bytes: &[u8]) -> Result<Vec<u8>, (u64, String)> {
    let Some(preamble) = bytes.first_chunk::<PREAMBLE_LEN>() else {
        return Err((0, format!("{} bytes, short of the preamble", bytes.len())));
    };
    if &preamble[0..4] != MAGIC {
        return Err((0, "not a snapshot file (bad magic)".to_string()));
    }
    let version = u32::from_le_bytes([preamble[4], preamble[5], preamble[6], preamble[7]]);
    if version != VERSION {
        return Err((4, format!("unsupported snapshot version {version}")));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&preamble[8..16]);
    let len = u64::from_le_bytes(len);
    let crc = u32::from_le_bytes([preamble[16], preamble[17], preamble[18], preamble[19]]);
    let data = &bytes[PREAMBLE_LEN..];
    if data.len() as u64 != len {
        return Err((8, format!("data is {} bytes, preamble says {len}", data.len())));
    }
    if crc32fast::hash(data) != crc {
        return Err((PREAMBLE_LEN as u64, "snapshot checksum mismatch".to_string()));
    }
    Ok(data.to_vec())
}
