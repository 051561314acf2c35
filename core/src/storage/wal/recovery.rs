//! Recovery: reading every segment back into the log state.
//!
//! Rules, in order:
//! 1. Segment files are listed and sorted by sequence number; a gap in the sequence is damage
//!    (a segment that held acknowledged records is missing).
//! 2. Every segment must start with a header carrying its own sequence number. The oldest
//!    segment's header seeds the state (vote, committed, purge point of the deleted segments);
//!    records are then replayed through [`WalState::apply`] in order.
//! 3. A torn tail (see [`super::segment`]) in the **last** segment is cut off: the file is
//!    truncated to the last intact record and fsynced. It was never acknowledged, because
//!    acknowledgement follows an fsync of the whole segment.
//! 4. Anything else — damage anywhere, a torn tail in a non-last segment (segments roll only after
//!    an fsync, so they are complete), a record that breaks contiguity — refuses to start with a
//!    [`StorageError::Corrupt`] naming the file and offset. Acknowledged entries are never dropped
//!    silently.
//! 5. A last segment left empty (created but its header never made it) gets a fresh header.
//! 6. Before returning, the last segment and the directory are fsynced: what recovery reports is
//!    durable, even if the previous process wrote it without syncing and exited (openraft treats
//!    the log it reads at startup as flushed).

use std::sync::Arc;

use super::record::{encode, Frame, Record};
use super::segment::{parse_segment_name, scan, segment_name, ScanEnd};
use super::state::WalState;
use crate::probes::{self, Probe};
use crate::storage::disk::{join, Disk};
use crate::storage::StorageError;

/// A segment as the writer needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentInfo {
    pub seq: u64,
    /// The highest entry index ever appended to it (entries later truncated included).
    pub max_index: Option<u64>,
    /// Its length in bytes.
    pub len: u64,
}

/// What recovery hands to the writer.
#[derive(Debug)]
pub struct Recovered {
    pub state: WalState,
    /// The segments, oldest first; never empty.
    pub segments: Vec<SegmentInfo>,
}

/// Reads the WAL in `dir`, repairing a torn tail, or creating an empty WAL if there is none.
pub async fn recover(disk: &Arc<dyn Disk>, dir: &str) -> Result<Recovered, StorageError> {
    let seqs = list_segments(disk, dir)?;
    let Some(&last_seq) = seqs.last() else {
        return create_first(disk, dir).await;
    };
    let mut state: Option<WalState> = None;
    let mut segments = Vec::new();
    for &seq in &seqs {
        let is_last = seq == last_seq;
        let info = replay_segment(disk, dir, seq, is_last, &mut state).await?;
        segments.push(info);
    }
    // No header at all means a single empty segment: nothing was ever acknowledged in it.
    let state = state.unwrap_or_default();
    let path = join(dir, &segment_name(seqs[0]));
    state.check_start().map_err(|reason| StorageError::corrupt(&path, 0, reason))?;
    if let Some(last) = segments.last_mut() {
        if last.len == 0 {
            last.len = write_header(disk, dir, last.seq, &state).await?;
        }
    }
    let last_path = join(dir, &segment_name(last_seq));
    disk.sync(&last_path).await.map_err(StorageError::io("fsync", &last_path))?;
    disk.sync_dir(dir).await.map_err(StorageError::io("fsync dir", dir))?;
    Ok(Recovered { state, segments })
}

/// The sequence numbers of the segments in `dir`, checked for gaps.
fn list_segments(disk: &Arc<dyn Disk>, dir: &str) -> Result<Vec<u64>, StorageError> {
    let names = disk.list(dir).map_err(StorageError::io("list", dir))?;
    let mut seqs: Vec<u64> = names.iter().filter_map(|name| parse_segment_name(name)).collect();
    seqs.sort_unstable();
    for pair in seqs.windows(2) {
        if pair[1] != pair[0] + 1 {
            let missing = join(dir, &segment_name(pair[0] + 1));
            return Err(StorageError::corrupt(&missing, 0, "segment missing"));
        }
    }
    Ok(seqs)
}

/// Replays one segment into `state` (seeded by the first header seen), cutting a torn tail off
/// the last segment once the records before it have been accepted.
async fn replay_segment(
    disk: &Arc<dyn Disk>,
    dir: &str,
    seq: u64,
    is_last: bool,
    state: &mut Option<WalState>,
) -> Result<SegmentInfo, StorageError> {
    let path = join(dir, &segment_name(seq));
    let bytes = disk.read(&path).map_err(StorageError::io("read", &path))?;
    let scanned = scan(&bytes);
    let (len, torn) = match scanned.end {
        ScanEnd::Clean => (bytes.len() as u64, false),
        ScanEnd::Torn { offset, reason } if is_last => {
            // Zeros alone are the writer's preallocation, not a crash: no warning for those.
            if bytes[offset as usize..].iter().any(|&byte| byte != 0) {
                tracing::warn!(path, offset, reason, "write-ahead log: truncating torn tail");
                probes::hit(Probe::WalTornTailCut);
            }
            (offset, true)
        }
        ScanEnd::Torn { offset, reason } | ScanEnd::Damaged { offset, reason } => {
            return Err(StorageError::corrupt(&path, offset, reason));
        }
    };
    let max_index = replay_frames(&path, seq, is_last, scanned.frames, state)?;
    if torn {
        cut_tail(disk, &path, len).await?;
    }
    Ok(SegmentInfo { seq, max_index, len })
}

/// Applies a segment's frames to `state`; returns the highest entry index among them.
fn replay_frames(
    path: &str,
    seq: u64,
    is_last: bool,
    frames: Vec<(u64, Frame)>,
    state: &mut Option<WalState>,
) -> Result<Option<u64>, StorageError> {
    let mut frames = frames.into_iter();
    let state = match frames.next() {
        // Created by a roll whose header never became durable: nothing was acknowledged in it.
        None if is_last => return Ok(None),
        None => return Err(StorageError::corrupt(path, 0, "segment has no header")),
        Some((_, Frame::Header(header))) if header.seq == seq => {
            state.get_or_insert_with(|| WalState::from_header(&header))
        }
        Some((offset, _)) => {
            return Err(StorageError::corrupt(
                path,
                offset,
                "segment does not start with its header",
            ));
        }
    };
    let mut max_index = None;
    for (offset, frame) in frames {
        let Frame::Record(record) = frame else {
            return Err(StorageError::corrupt(path, offset, "segment header in mid-segment"));
        };
        state.check(&record).map_err(|reason| StorageError::corrupt(path, offset, reason))?;
        if let Record::Entry(entry) = &record {
            max_index = max_index.max(Some(entry.index));
        }
        state.apply(record);
    }
    Ok(max_index)
}

/// Cuts a torn tail off `path` and makes the cut durable before anything is appended after it.
async fn cut_tail(disk: &Arc<dyn Disk>, path: &str, offset: u64) -> Result<(), StorageError> {
    disk.truncate(path, offset).map_err(StorageError::io("truncate", path))?;
    disk.sync(path).await.map_err(StorageError::io("fsync", path))
}

/// Creates segment 0 of a new WAL.
async fn create_first(disk: &Arc<dyn Disk>, dir: &str) -> Result<Recovered, StorageError> {
    let state = WalState::default();
    let path = join(dir, &segment_name(0));
    disk.create(&path).map_err(StorageError::io("create", &path))?;
    let len = write_header(disk, dir, 0, &state).await?;
    disk.sync_dir(dir).await.map_err(StorageError::io("fsync dir", dir))?;
    let segments = vec![SegmentInfo { seq: 0, max_index: None, len }];
    Ok(Recovered { state, segments })
}

/// Writes the header of segment `seq` (an existing, empty file) and fsyncs it; returns its length.
pub async fn write_header(
    disk: &Arc<dyn Disk>,
    dir: &str,
    seq: u64,
    state: &WalState,
) -> Result<u64, StorageError> {
    let path = join(dir, &segment_name(seq));
    let mut bytes = Vec::new();
    encode(&Frame::Header(state.header(seq)), &mut bytes).map_err(StorageError::Invalid)?;
    disk.append(&path, &bytes).map_err(StorageError::io("append", &path))?;
    disk.sync(&path).await.map_err(StorageError::io("fsync", &path))?;
    Ok(bytes.len() as u64)
}
