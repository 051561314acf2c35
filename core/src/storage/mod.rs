//! Storage: the only way the core touches bytes at rest.
//!
//! Everything durable a member keeps — the raft write-ahead log and snapshot files — goes through
//! the [`Disk`] trait, a handful of file operations on paths relative to the member's data
//! directory. Two disks implement it:
//!
//! - [`SimDisk`] (simulator): in-memory files owned by the harness, so they outlive a node's tasks.
//!   It tracks which bytes are synced; a crash drops the unsynced ones (optionally leaving a torn
//!   prefix of them), and fsyncs can fail or take time — all decided by a seed.
//! - [`RealDisk`] (server): `std::fs` plus fsync. It is the seam's server side and is never used
//!   by simulator code paths.
//!
//! On top of the trait sit the write-ahead log ([`wal`]) and atomic snapshot files
//! ([`snapshot_file`]). Their invariant: nothing is reported durable before an fsync of it (and of
//! its directory entry) has returned `Ok`, and recovery never silently drops a record that could
//! have been acknowledged.

pub mod disk;
pub mod error;
pub mod real;
pub mod sim;
pub mod snapshot_file;
pub mod wal;

pub use disk::Disk;
pub use error::StorageError;
pub use real::RealDisk;
pub use sim::{SimDisk, SimDiskFaults};
pub use snapshot_file::SnapshotFiles;
pub use wal::{Entry, Purged, Record, Wal, WalOptions, WalState};
