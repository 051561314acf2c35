//! The `Disk` trait: the handful of file operations the core may perform.
//!
//! Paths are relative to the disk's root (a member's data directory) and use `/` as separator,
//! e.g. `wal/0000000000000003.wal`. Directories are implicit: creating a file creates its parent.
//!
//! Durability contract (the same for every implementation, and what the simulated disk enforces):
//! - written bytes are durable only after [`Disk::sync`] of that file returns `Ok`;
//! - a file's *name* (create, rename, remove) is durable only after [`Disk::sync_dir`] of its
//!   parent directory returns `Ok`.
//!
//! Only the two fsyncs are async: writes land in the page cache and return at once, while an fsync
//! is where a disk spends time (the simulated disk sleeps there on virtual time). The trait is
//! object-safe and used as `Arc<dyn Disk>`.

use std::fmt;
use std::io;

use futures::future::BoxFuture;

/// A member's data directory.
pub trait Disk: Send + Sync + fmt::Debug {
    /// Creates an empty file at `path`, replacing any file of that name.
    fn create(&self, path: &str) -> io::Result<()>;

    /// Appends `data` at the end of the existing file `path`.
    fn append(&self, path: &str, data: &[u8]) -> io::Result<()>;

    /// Writes `data` at `offset` of the existing file `path`, extending it if needed.
    fn write_at(&self, path: &str, offset: u64, data: &[u8]) -> io::Result<()>;

    /// Reads the whole file `path` as the running system sees it (synced or not).
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;

    /// The length of file `path` in bytes.
    fn file_len(&self, path: &str) -> io::Result<u64>;

    /// Cuts file `path` to `len` bytes.
    fn truncate(&self, path: &str, len: u64) -> io::Result<()>;

    /// Renames `from` to `to`, replacing `to` if it exists.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;

    /// Removes file `path`.
    fn remove(&self, path: &str) -> io::Result<()>;

    /// Names (not paths) of the files directly inside `dir` (`""` is the root), sorted. A
    /// directory that does not exist lists as empty.
    fn list(&self, dir: &str) -> io::Result<Vec<String>>;

    /// Makes the bytes written to `path` so far durable.
    fn sync<'a>(&'a self, path: &'a str) -> BoxFuture<'a, io::Result<()>>;

    /// Makes the names created, renamed or removed in `dir` so far durable.
    fn sync_dir<'a>(&'a self, dir: &'a str) -> BoxFuture<'a, io::Result<()>>;
}

/// The directory part of `path` (`""` for a file in the root).
pub fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// `dir/name`, or `name` in the root.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}
