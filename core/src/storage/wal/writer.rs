//! The WAL writer: appends records to the active segment, fsyncs, rolls and deletes segments.
//!
//! Durability protocol: [`Wal::append`] only writes (to the page cache); nothing is durable until
//! [`Wal::sync`] returns `Ok`. A caller acknowledges — e.g. fires openraft's `IOFlushed` — only
//! after that. The WAL counts appends ([`Wal::appended`]) and how many of them a successful fsync
//! covered ([`Wal::durable`]), so an acknowledgement can check — and does, with `invariant!` —
//! that the fsync covering its append has returned. `sync` is also where the slow, structural work happens, always after the records are
//! durable: rolling to a new segment once the active one reaches `segment_size`, and deleting the
//! oldest segments once a durable purge record covers every entry in them.
//!
//! Preallocation: the active segment is extended with zeros ahead of the records, in steps that
//! grow with the segment ([`MIN_PREALLOCATION`] to [`MAX_PREALLOCATION`]), and records overwrite
//! those zeros. An fsync of bytes inside the file's length does not have to write the file's
//! metadata as well; an append that grew the file did, one more disk round trip on every fsync
//! (~190 vs ~135 us per `fdatasync` on the test machine). The zeros past the last record read as
//! a torn tail (see [`super::segment`]): recovery cuts them off, and a segment is cut to its
//! records before the next one starts, so only the last segment ever has them.
//!
//! Failure policy ("fsyncgate"): after a failed write or fsync the kernel may already have dropped
//! the dirty pages, so retrying the fsync proves nothing. The writer therefore *poisons* itself:
//! every later call returns [`StorageError::Poisoned`], and the only way forward is to reopen the
//! log (restart the member), which re-reads what is really on disk. Invalid caller requests (an
//! entry that leaves a hole) are refused before anything is written and do not poison.

use std::sync::Arc;

use bytes::Bytes;

use super::record::{encode, Entry, Frame, Purged, Record};
use super::recovery::{recover, write_header, SegmentInfo};
use super::segment::segment_name;
use super::state::WalState;
use crate::probes::{self, Probe};
use crate::storage::disk::{join, Disk};
use crate::storage::StorageError;

/// An fsync of the active segment that [`Wal::begin_sync`] handed out, to run without holding the
/// WAL and report to [`Wal::finish_sync`].
pub struct PendingSync {
    disk: Arc<dyn Disk>,
    path: String,
    /// The appends this fsync covers: every one up to this count (see [`Wal::appended`]).
    covers: u64,
}

impl PendingSync {
    /// Runs the fsync.
    pub async fn run(&self) -> std::io::Result<()> {
        self.disk.sync(&self.path).await
    }
}

/// The first zero-filled extension of a segment; later ones double with the segment's length.
pub const MIN_PREALLOCATION: u64 = 64 * 1024;
/// The largest zero-filled extension.
pub const MAX_PREALLOCATION: u64 = 1024 * 1024;

/// Where the WAL lives and how big its segments grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalOptions {
    /// Directory of the segment files, relative to the disk root.
    pub dir: String,
    /// A segment is rolled at the first `sync` after it reaches this many bytes (a soft limit).
    pub segment_size: u64,
}

impl Default for WalOptions {
    fn default() -> Self {
        WalOptions { dir: "wal".to_string(), segment_size: 64 * 1024 * 1024 }
    }
}

/// An open write-ahead log.
#[derive(Debug)]
pub struct Wal {
    disk: Arc<dyn Disk>,
    options: WalOptions,
    /// The log as appended so far (durable or not): what reads should see.
    state: WalState,
    /// Oldest first; the last one is the active segment. Never empty.
    segments: Vec<SegmentInfo>,
    /// The active segment's file: named once when it becomes active, not at every append.
    active_path: String,
    /// The active segment's length on disk: its records, then zeros (see the module docs).
    allocated: u64,
    /// The active segment has writes not yet fsynced.
    dirty: bool,
    /// Set by the first failed write or fsync; see the module docs.
    poisoned: Option<String>,
    /// Appends written since the log was opened (see [`Wal::appended`]).
    appended: u64,
    /// Appends an fsync that returned `Ok` covered (see [`Wal::durable`]).
    durable: u64,
}

impl Wal {
    /// Opens (recovering) the WAL on `disk`, or creates an empty one. See [`super::recovery`].
    pub async fn open(disk: Arc<dyn Disk>, options: WalOptions) -> Result<Wal, StorageError> {
        let recovered = recover(&disk, &options.dir).await?;
        let allocated = recovered.segments.last().map_or(0, |segment| segment.len);
        let active_seq = recovered.segments.last().map_or(0, |segment| segment.seq);
        Ok(Wal {
            active_path: join(&options.dir, &segment_name(active_seq)),
            disk,
            options,
            state: recovered.state,
            segments: recovered.segments,
            allocated,
            dirty: false,
            poisoned: None,
            appended: 0,
            durable: 0,
        })
    }

    /// The log as appended so far, including records not yet synced.
    pub fn state(&self) -> &WalState {
        &self.state
    }

    /// How many appends ([`Wal::append`] and the calls built on it) were written since the log
    /// was opened. An append is durable once [`Wal::durable`] has reached the count it made.
    pub fn appended(&self) -> u64 {
        self.appended
    }

    /// How many of the appends an fsync that returned `Ok` covered (never above
    /// [`Wal::appended`]). Whoever acknowledges an append checks its count against this first:
    /// the WAL never acknowledges before its fsync.
    pub fn durable(&self) -> u64 {
        crate::invariant!(
            self.durable <= self.appended,
            "the WAL counts {} appends durable of {} written",
            self.durable,
            self.appended
        );
        self.durable
    }

    /// Sequence numbers of the segment files, oldest first.
    pub fn segment_seqs(&self) -> Vec<u64> {
        self.segments.iter().map(|segment| segment.seq).collect()
    }

    /// Writes `records` to the active segment in one write. Not durable until [`Wal::sync`].
    pub fn append(
        &mut self,
        records: impl IntoIterator<Item = Record>,
    ) -> Result<(), StorageError> {
        self.check_poisoned()?;
        let records: Vec<Record> = records.into_iter().collect();
        if records.is_empty() {
            return Ok(());
        }
        self.validate(&records)?;
        let mut bytes = Vec::new();
        for record in &records {
            encode(&Frame::Record(record.clone()), &mut bytes).map_err(StorageError::Invalid)?;
        }
        let path = self.active_path();
        let offset = self.active().len;
        let written = self
            .preallocate(&path, offset + bytes.len() as u64)
            .and_then(|()| self.disk.write_at(&path, offset, &bytes));
        if let Err(err) = written {
            return Err(self.poison(StorageError::io("append", &path)(err)));
        }
        self.dirty = true;
        self.appended += 1;
        let max_index = records
            .iter()
            .filter_map(|record| match record {
                Record::Entry(entry) => Some(entry.index),
                _ => None,
            })
            .max();
        let active = self.active_mut();
        active.len += bytes.len() as u64;
        active.max_index = active.max_index.max(max_index);
        for record in records {
            self.state.apply(record);
        }
        Ok(())
    }

    /// Zero-fills the active segment past `end` when the records would run beyond its zeros.
    fn preallocate(&mut self, path: &str, end: u64) -> std::io::Result<()> {
        if end <= self.allocated {
            return Ok(());
        }
        let step = end.clamp(MIN_PREALLOCATION, MAX_PREALLOCATION);
        let zeros = vec![0; (end + step - self.allocated) as usize];
        self.disk.write_at(path, self.allocated, &zeros)?;
        self.allocated = end + step;
        Ok(())
    }

    /// Appends entries (see [`Wal::append`]).
    pub fn append_entries(
        &mut self,
        entries: impl IntoIterator<Item = Entry>,
    ) -> Result<(), StorageError> {
        self.append(entries.into_iter().map(Record::Entry))
    }

    /// Records the vote (see [`Wal::append`]).
    pub fn save_vote(&mut self, vote: Bytes) -> Result<(), StorageError> {
        self.append([Record::Vote(vote)])
    }

    /// Records the committed marker (see [`Wal::append`]).
    pub fn save_committed(&mut self, committed: Option<Bytes>) -> Result<(), StorageError> {
        self.append([Record::Committed(committed)])
    }

    /// Removes every entry with `index >= since` (see [`Wal::append`]).
    pub fn truncate(&mut self, since: u64) -> Result<(), StorageError> {
        self.append([Record::Truncate { since }])
    }

    /// Keeps entries up to `last_kept` and removes the rest (`None`: all of them) — openraft's
    /// `truncate_after` (see [`Wal::append`]).
    pub fn truncate_after(&mut self, last_kept: Option<u64>) -> Result<(), StorageError> {
        self.truncate(last_kept.map_or(0, |index| index.saturating_add(1)))
    }

    /// Removes every entry up to `purged.index`; the segments holding only such entries are
    /// deleted by a later [`Wal::sync`] (see [`Wal::append`]).
    pub fn purge(&mut self, purged: Purged) -> Result<(), StorageError> {
        self.append([Record::Purge(purged)])
    }

    /// Makes everything appended so far durable, then rolls and deletes segments as due.
    pub async fn sync(&mut self) -> Result<(), StorageError> {
        self.check_poisoned()?;
        let result = self.sync_inner().await;
        result.map_err(|err| self.poison(err))
    }

    /// The first half of a sync whose fsync runs without holding the WAL (group commit, see
    /// `raft::group_commit`): marks everything appended so far as being synced and says which
    /// file to fsync (`None`: nothing is waiting to be synced). Appends made while that fsync
    /// runs are not covered by it; they make the WAL dirty again for the next sync.
    pub fn begin_sync(&mut self) -> Result<Option<PendingSync>, StorageError> {
        self.check_poisoned()?;
        if !self.dirty {
            return Ok(None);
        }
        self.dirty = false;
        let covers = self.appended;
        Ok(Some(PendingSync { disk: self.disk.clone(), path: self.active_path(), covers }))
    }

    /// The second half: records the outcome of `pending`'s fsync (a failure poisons the WAL),
    /// then rolls and deletes segments as due. A roll needs every earlier byte durable, so when
    /// one is due it first syncs whatever was appended meanwhile.
    pub async fn finish_sync(
        &mut self,
        pending: &PendingSync,
        synced: std::io::Result<()>,
    ) -> Result<(), StorageError> {
        self.check_poisoned()?;
        let result = match synced {
            // The segment was purged and deleted while its fsync ran: nothing in it matters.
            Err(err)
                if err.kind() == std::io::ErrorKind::NotFound && !self.holds(&pending.path) =>
            {
                Ok(())
            }
            other => other.map_err(StorageError::io("fsync", &pending.path)),
        };
        if result.is_ok() {
            self.durable = self.durable.max(pending.covers);
        }
        let result = match result {
            Ok(()) if self.active().len >= self.options.segment_size => self.sync_inner().await,
            Ok(()) => self.delete_purged_segments().await,
            Err(err) => Err(err),
        };
        result.map_err(|err| self.poison(err))
    }

    /// Whether `path` is one of this WAL's segment files.
    fn holds(&self, path: &str) -> bool {
        let dir = &self.options.dir;
        self.segments.iter().any(|segment| join(dir, &segment_name(segment.seq)) == path)
    }

    /// [`Wal::append`] then [`Wal::sync`].
    pub async fn write(
        &mut self,
        records: impl IntoIterator<Item = Record>,
    ) -> Result<(), StorageError> {
        self.append(records)?;
        self.sync().await
    }

    async fn sync_inner(&mut self) -> Result<(), StorageError> {
        if self.dirty {
            let path = self.active_path();
            self.disk.sync(&path).await.map_err(StorageError::io("fsync", &path))?;
            self.dirty = false;
            // `&mut self` is held across the fsync: no append slipped in while it ran.
            self.durable = self.appended;
        }
        if self.active().len >= self.options.segment_size {
            self.roll().await?;
        }
        self.delete_purged_segments().await
    }

    /// Starts the next segment. Runs only when everything before it is durable, so every segment
    /// but the last is always complete; its zeros are cut off (durably) first.
    async fn roll(&mut self) -> Result<(), StorageError> {
        let active = self.active_path();
        let len = self.active().len;
        self.disk.truncate(&active, len).map_err(StorageError::io("truncate", &active))?;
        self.disk.sync(&active).await.map_err(StorageError::io("fsync", &active))?;
        let seq = self.active().seq + 1;
        let dir = &self.options.dir;
        let path = join(dir, &segment_name(seq));
        self.disk.create(&path).map_err(StorageError::io("create", &path))?;
        let len = write_header(&self.disk, dir, seq, &self.state).await?;
        self.disk.sync_dir(dir).await.map_err(StorageError::io("fsync dir", dir))?;
        self.segments.push(SegmentInfo { seq, max_index: None, len });
        self.active_path = path;
        self.allocated = len;
        probes::hit(Probe::WalSegmentRolled);
        Ok(())
    }

    /// Deletes the oldest non-active segments whose entries all lie at or below the purge point.
    /// The next segment's header carries their vote, committed marker and purge point.
    async fn delete_purged_segments(&mut self) -> Result<(), StorageError> {
        let purged_index = self.state.purged.as_ref().map(|purged| purged.index);
        let removable = |segment: &SegmentInfo| match segment.max_index {
            None => true,
            Some(max) => purged_index.is_some_and(|purged| max <= purged),
        };
        let count = self.segments[..self.segments.len() - 1]
            .iter()
            .take_while(|segment| removable(segment))
            .count();
        if count == 0 {
            return Ok(());
        }
        let dir = &self.options.dir;
        for segment in self.segments.drain(..count) {
            let path = join(dir, &segment_name(segment.seq));
            self.disk.remove(&path).map_err(StorageError::io("remove", &path))?;
        }
        self.disk.sync_dir(dir).await.map_err(StorageError::io("fsync dir", dir))
    }

    /// Refuses a batch that would break the log's contiguity, before writing any of it.
    fn validate(&self, records: &[Record]) -> Result<(), StorageError> {
        let mut shape = Shape::of(&self.state);
        for record in records {
            shape.check(record).map_err(StorageError::Invalid)?;
            shape.apply(record);
        }
        Ok(())
    }

    fn check_poisoned(&self) -> Result<(), StorageError> {
        match &self.poisoned {
            Some(reason) => Err(StorageError::Poisoned(reason.clone())),
            None => Ok(()),
        }
    }

    fn poison(&mut self, err: StorageError) -> StorageError {
        if self.poisoned.is_none() && !matches!(err, StorageError::Poisoned(_)) {
            tracing::error!(error = %err, "write-ahead log poisoned");
            probes::hit(Probe::WalFsyncFailed);
            self.poisoned = Some(err.to_string());
        }
        err
    }

    fn active(&self) -> &SegmentInfo {
        // `segments` is never empty: recovery returns at least one and deletion keeps the last.
        &self.segments[self.segments.len() - 1]
    }

    fn active_mut(&mut self) -> &mut SegmentInfo {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }

    fn active_path(&self) -> String {
        self.active_path.clone()
    }
}

/// Just enough of the log to validate a batch: first and last index and the purge point.
#[derive(Debug, Clone, Copy)]
struct Shape {
    first: Option<u64>,
    last: Option<u64>,
    purged: Option<u64>,
}

impl Shape {
    fn of(state: &WalState) -> Shape {
        Shape {
            first: state.entries.keys().next().copied(),
            last: state.last_index(),
            purged: state.purged.as_ref().map(|purged| purged.index),
        }
    }

    fn check(&self, record: &Record) -> Result<(), String> {
        match record {
            Record::Entry(entry) => {
                let expected = match (self.last, self.purged) {
                    (Some(last), _) => Some(last + 1),
                    (None, Some(purged)) => Some(purged + 1),
                    (None, None) => None,
                };
                match expected {
                    Some(expected) if entry.index != expected => {
                        Err(format!("entry {} appended where {expected} is next", entry.index))
                    }
                    _ => Ok(()),
                }
            }
            Record::Purge(purged) => match (self.purged, self.first) {
                (Some(current), _) if purged.index < current => {
                    Err(format!("purge to {} is below the purge point {current}", purged.index))
                }
                // Recovery insists that the first entry follows the purge point.
                (_, Some(first)) if purged.index + 1 < first => Err(format!(
                    "purge to {} leaves a hole before the first entry {first}",
                    purged.index
                )),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn apply(&mut self, record: &Record) {
        match record {
            Record::Entry(entry) => {
                self.first = self.first.or(Some(entry.index));
                self.last = Some(entry.index);
            }
            Record::Truncate { since } => {
                if self.first.is_some_and(|first| *since <= first) {
                    self.first = None;
                    self.last = None;
                } else if self.last.is_some_and(|last| *since <= last) {
                    self.last = Some(since - 1);
                }
            }
            Record::Purge(purged) => {
                self.purged = Some(purged.index);
                if self.last.is_some_and(|last| last <= purged.index) {
                    self.first = None;
                    self.last = None;
                } else if self.first.is_some_and(|first| first <= purged.index) {
                    self.first = Some(purged.index + 1);
                }
            }
            Record::Vote(_) | Record::Committed(_) => {}
        }
    }
}
