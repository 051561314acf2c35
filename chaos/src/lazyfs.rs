//! A FUSE passthrough file system that keeps every write in memory until it is synced, so a
//! killed member loses exactly what it had not fsynced (LazyFS's idea, our own code), and that
//! fails or delays fsync on command.
//!
//! Mounted over a member's data directory with the real files in a *backing* directory beside
//! it. File data goes through [`Unsynced`] (a page cache in memory; `fsync`/`fdatasync` writes a
//! file's pages to its backing file); directory changes are made on the backing tree at once
//! and logged by [`DirLog`] so that they can be undone when not yet durable. The chaos command
//! holds a [`Control`] per member: after it SIGKILLs the member it calls
//! [`Control::lose_unsynced`], which drops the cache and undoes the directory log, so the
//! restarted member finds its files as they were at its last syncs.
//!
//! Invariants:
//! - what a reader of the mount sees is the backing tree with the cache over it; entry and
//!   attribute timeouts are zero and no open keeps the kernel's cache, so after a loss the
//!   kernel asks again and sees the loss;
//! - inode numbers are the backing files' own (the backing root's is swapped with 1, FUSE's
//!   root), so a path's inode stays the same across renames and the cache follows the file;
//! - one thread serves the mount (a delayed fsync stalls the member's whole disk, as a slow
//!   device does); the control never waits for a delayed fsync, which sleeps unlocked;
//! - a failed fsync (EIO) loses the file's unsynced data, as Linux marks pages clean after a
//!   failed writeback: a server that retries the fsync and carries on has lost writes;
//! - an fsync still under way when the power is cut ([`Control::cut_power`], before the kill)
//!   makes nothing durable: it answers EIO to a process that is gone. The kernel does not let a
//!   process killed inside a FUSE request die until the request is answered, so without this a
//!   delayed fsync would finish its work after the power cut, and a kill during a slow fsync
//!   could never lose what that fsync was writing.

use crate::dirlog::{Commit, DirLog};
use crate::unsynced::Unsynced;
use fuser::{
    BackgroundSession, Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags,
    Generation, INodeNo, LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request,
    TimeOrNow, WriteFlags,
};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Nothing is cached by the kernel beyond one request.
const TTL: Duration = Duration::ZERO;

/// What fsync does now (`--faults disk` switches it for a while).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncMode {
    Normal,
    /// Every fsync fails with EIO (and loses the file's unsynced data).
    Fail,
    /// Every fsync first waits this long.
    Delay(Duration),
}

/// What the file system did, for the run's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub fsyncs: u64,
    pub failed: u64,
    pub delayed: u64,
    /// Files whose unsynced data was lost (by kills and failed fsyncs).
    pub files_lost: u64,
    /// Directory changes undone by kills.
    pub changes_undone: u64,
}

struct State {
    root: PathBuf,
    root_ino: u64,
    paths: BTreeMap<u64, PathBuf>,
    files: BTreeMap<u64, File>,
    unsynced: Unsynced<u64>,
    dirlog: DirLog,
    mode: FsyncMode,
    counts: Counts,
    /// Power cuts so far: an fsync that began before the latest one does not complete.
    cuts: u64,
    /// A cut has begun and its loss is not yet done: no fsync completes meanwhile.
    cutting: bool,
}

/// The handle the chaos command keeps: loses unsynced data, switches fsync's behaviour.
#[derive(Clone)]
pub struct Control {
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Control {
    /// Drops every unsynced write and undoes every directory change not durable (call it after
    /// the member died, before it restarts); returns the files that lost data, the changes
    /// undone, and the undo steps that failed.
    pub fn lose_unsynced(&self) -> (usize, usize, Vec<String>) {
        let mut state = lock(&self.state);
        state.cutting = false;
        let files = state.unsynced.drop_all();
        let (changes, failed) = state.dirlog.undo_all();
        state.files.clear();
        state.paths.retain(|&ino, _| ino == INodeNo::ROOT.0);
        state.counts.files_lost += files as u64;
        state.counts.changes_undone += changes as u64;
        (files, changes, failed)
    }

    /// The power fails now (call it before killing the member): an fsync under way or yet to
    /// come makes nothing durable until [`Control::lose_unsynced`] has dropped what was lost.
    pub fn cut_power(&self) {
        let mut state = lock(&self.state);
        state.cuts += 1;
        state.cutting = true;
    }

    pub fn set_fsync(&self, mode: FsyncMode) {
        lock(&self.state).mode = mode;
    }

    pub fn counts(&self) -> Counts {
        lock(&self.state).counts
    }

    /// How many files hold unsynced data, and how many directory changes are not durable.
    pub fn pending(&self) -> (usize, usize) {
        let state = lock(&self.state);
        (state.unsynced.dirty_files(), state.dirlog.pending())
    }
}

/// A mounted file system; dropping it unmounts.
pub struct Mounted {
    pub control: Control,
    session: Option<BackgroundSession>,
    mountpoint: PathBuf,
}

impl Mounted {
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Unmounts and waits for the serving thread; a mount some process still uses (EBUSY) is
    /// detached instead, and goes when its last file is closed.
    pub fn unmount(mut self) -> io::Result<()> {
        self.unmount_now()
    }

    fn unmount_now(&mut self) -> io::Result<()> {
        let Some(session) = self.session.take() else { return Ok(()) };
        match session.umount_and_join() {
            Ok(()) => Ok(()),
            Err(e) => {
                let path = std::ffi::CString::new(self.mountpoint.as_os_str().as_bytes())
                    .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
                // SAFETY: umount2 on a NUL-terminated path we own.
                if unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) } == 0 {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = self.unmount_now();
    }
}

/// Whether this machine can mount FUSE file systems here, or why not.
pub fn usable() -> Result<(), String> {
    if !Path::new("/dev/fuse").exists() {
        return Err("/dev/fuse is missing (no FUSE in this kernel or container)".into());
    }
    if let Err(e) = OpenOptions::new().read(true).write(true).open("/dev/fuse") {
        return Err(format!("/dev/fuse cannot be opened: {e}"));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("mounting needs root (the direct mount(2) path; fusermount is not used)".into());
    }
    Ok(())
}

/// Mounts the file system at `mountpoint` over the real files in `backing` (both created if
/// missing), with replaced and unlinked files kept in `grave` until durable.
pub fn mount(
    backing: &Path,
    grave: &Path,
    mountpoint: &Path,
    commit: Commit,
) -> io::Result<Mounted> {
    fs::create_dir_all(backing)?;
    fs::create_dir_all(mountpoint)?;
    let root_ino = fs::metadata(backing)?.ino();
    let state = State {
        root: backing.to_path_buf(),
        root_ino,
        paths: BTreeMap::from([(INodeNo::ROOT.0, backing.to_path_buf())]),
        files: BTreeMap::new(),
        unsynced: Unsynced::new(),
        dirlog: DirLog::new(commit, grave.to_path_buf())?,
        mode: FsyncMode::Normal,
        counts: Counts::default(),
        cuts: 0,
        cutting: false,
    };
    let state = Arc::new(Mutex::new(state));
    let fs = LazyFs { state: state.clone() };
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName("detcd-lazyfs".into()),
        MountOption::Subtype("detcd-lazyfs".into()),
        MountOption::DefaultPermissions,
    ];
    let session = fuser::spawn_mount(fs, mountpoint, &config)?;
    Ok(Mounted {
        control: Control { state },
        session: Some(session),
        mountpoint: mountpoint.to_path_buf(),
    })
}

struct LazyFs {
    state: Arc<Mutex<State>>,
}

fn errno(e: io::Error) -> Errno {
    match e.raw_os_error() {
        Some(_) => Errno::from(e),
        None => Errno::EIO,
    }
}

fn time(secs: i64, nanos: i64) -> SystemTime {
    if secs >= 0 {
        UNIX_EPOCH + Duration::new(secs as u64, nanos.clamp(0, 999_999_999) as u32)
    } else {
        UNIX_EPOCH
    }
}

impl State {
    /// FUSE's inode number for a backing inode (the root's and 1 swapped).
    fn fuse_ino(&self, real: u64) -> u64 {
        if real == self.root_ino {
            INodeNo::ROOT.0
        } else if real == INodeNo::ROOT.0 {
            self.root_ino
        } else {
            real
        }
    }

    fn path(&self, ino: INodeNo) -> Result<PathBuf, Errno> {
        self.paths.get(&ino.0).cloned().ok_or(Errno::ENOENT)
    }

    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<PathBuf, Errno> {
        if name.as_bytes().contains(&b'/') || name == ".." || name == "." {
            return Err(Errno::EINVAL);
        }
        Ok(self.path(parent)?.join(name))
    }

    /// The backing file of `ino`, opened once and kept (writable when it can be).
    fn file(&mut self, ino: u64) -> Result<&File, Errno> {
        if !self.files.contains_key(&ino) {
            let path = self.paths.get(&ino).ok_or(Errno::ENOENT)?;
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .or_else(|_| File::open(path))
                .map_err(errno)?;
            self.files.insert(ino, file);
        }
        self.files.get(&ino).ok_or(Errno::ENOENT)
    }

    /// `path`'s attributes as the mount shows them (the cached length for a regular file),
    /// remembering the path of its inode.
    fn attr(&mut self, path: &Path) -> Result<FileAttr, Errno> {
        let meta = fs::symlink_metadata(path).map_err(errno)?;
        let ino = self.fuse_ino(meta.ino());
        self.paths.insert(ino, path.to_path_buf());
        let kind = if meta.is_dir() {
            FileType::Directory
        } else if meta.file_type().is_symlink() {
            FileType::Symlink
        } else {
            FileType::RegularFile
        };
        let mut size = meta.len();
        if kind == FileType::RegularFile && self.unsynced.is_dirty(ino) {
            let file = self.file(ino)?.try_clone().map_err(errno)?;
            size = self.unsynced.len(ino, &file).map_err(errno)?;
        }
        Ok(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: time(meta.atime(), meta.atime_nsec()),
            mtime: time(meta.mtime(), meta.mtime_nsec()),
            ctime: time(meta.ctime(), meta.ctime_nsec()),
            crtime: UNIX_EPOCH,
            kind,
            perm: (meta.mode() & 0o7777) as u16,
            nlink: meta.nlink() as u32,
            uid: meta.uid(),
            gid: meta.gid(),
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    /// The inode `path` names, if it exists.
    fn ino_at(&self, path: &Path) -> Option<u64> {
        fs::symlink_metadata(path).ok().map(|meta| self.fuse_ino(meta.ino()))
    }

    /// A file is gone from the tree for good or in the grave: its open handle and cached
    /// writes go when its last link does.
    fn unlinked(&mut self, ino: Option<u64>, links_before: u64) {
        if let Some(ino) = ino {
            if links_before <= 1 {
                self.files.remove(&ino);
                self.unsynced.discard(ino);
                self.paths.remove(&ino);
            }
        }
    }
}

impl LazyFs {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Filesystem for LazyFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let mut state = self.state();
        match state.child(parent, name).and_then(|path| state.attr(&path)) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let mut state = self.state();
        match state.path(ino).and_then(|path| state.attr(&path)) {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let mut state = self.state();
        let result = (|| {
            let path = state.path(ino)?;
            if let Some(mode) = mode {
                fs::set_permissions(&path, fs::Permissions::from_mode(mode & 0o7777))
                    .map_err(errno)?;
            }
            if let Some(size) = size {
                let file = state.file(ino.0)?.try_clone().map_err(errno)?;
                state.unsynced.truncate(ino.0, &file, size).map_err(errno)?;
            }
            state.attr(&path)
        })();
        match result {
            Ok(attr) => reply.attr(&TTL, &attr),
            Err(e) => reply.error(e),
        }
    }

    fn mknod(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        if mode & libc::S_IFMT != libc::S_IFREG {
            return reply.error(Errno::EPERM);
        }
        let mut state = self.state();
        let result = (|| {
            let path = state.child(parent, name)?;
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode & !umask & 0o7777)
                .open(&path)
                .map_err(errno)?;
            state.dirlog.created(&path);
            state.attr(&path)
        })();
        match result {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let mut state = self.state();
        let result = (|| {
            let path = state.child(parent, name)?;
            fs::create_dir(&path).map_err(errno)?;
            fs::set_permissions(&path, fs::Permissions::from_mode(mode & !umask & 0o7777))
                .map_err(errno)?;
            state.dirlog.created(&path);
            state.attr(&path)
        })();
        match result {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut state = self.state();
        let result = (|| {
            let path = state.child(parent, name)?;
            let meta = fs::symlink_metadata(&path).map_err(errno)?;
            let ino = state.ino_at(&path);
            state.dirlog.unlink(&path).map_err(errno)?;
            // Still linked in the grave until durable; its cached data dies with its name.
            state.unlinked(ino, meta.nlink());
            Ok(())
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut state = self.state();
        let result = (|| {
            let path = state.child(parent, name)?;
            let ino = state.ino_at(&path);
            state.dirlog.rmdir(&path).map_err(errno)?;
            if let Some(ino) = ino {
                state.paths.remove(&ino);
            }
            Ok(())
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let mut state = self.state();
        let result = (|| {
            let from = state.child(parent, name)?;
            let to = state.child(newparent, newname)?;
            let victim = fs::symlink_metadata(&to).ok();
            if flags.contains(RenameFlags::RENAME_NOREPLACE) && victim.is_some() {
                return Err(Errno::EEXIST);
            }
            if !(flags - RenameFlags::RENAME_NOREPLACE).is_empty() {
                return Err(Errno::EINVAL);
            }
            let moved = state.ino_at(&from);
            let replaced = state.ino_at(&to).filter(|&ino| Some(ino) != moved);
            state.dirlog.rename(&from, &to).map_err(errno)?;
            if let Some(meta) = victim.filter(|_| replaced.is_some()) {
                state.unlinked(replaced, meta.nlink());
            }
            if let Some(ino) = moved {
                // The moved entry's path, and every path below it if it is a directory.
                let below: Vec<(u64, PathBuf)> = state
                    .paths
                    .iter()
                    .filter_map(|(&i, p)| p.strip_prefix(&from).ok().map(|rest| (i, to.join(rest))))
                    .collect();
                for (i, p) in below {
                    state.paths.insert(i, p);
                }
                state.paths.insert(ino, to.clone());
            }
            Ok(())
        })();
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let mut state = self.state();
        let result = (|| {
            let path = state.path(ino)?;
            if fs::symlink_metadata(&path).map_err(errno)?.is_dir() {
                return Err(Errno::EISDIR);
            }
            state.file(ino.0)?;
            if flags.0 & libc::O_TRUNC != 0 {
                let file = state.file(ino.0)?.try_clone().map_err(errno)?;
                state.unsynced.truncate(ino.0, &file, 0).map_err(errno)?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let mut state = self.state();
        let result = (|| {
            let file = state.file(ino.0)?.try_clone().map_err(errno)?;
            state.unsynced.read(ino.0, &file, offset, size as usize).map_err(errno)
        })();
        match result {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let mut state = self.state();
        let result = (|| {
            let file = state.file(ino.0)?.try_clone().map_err(errno)?;
            state.unsynced.write(ino.0, &file, offset, data).map_err(errno)
        })();
        match result {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.sync(ino, false) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.state().path(ino) {
            Ok(_) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let state = self.state();
        let result = (|| {
            let path = state.path(ino)?;
            let mut entries = vec![
                (ino.0, FileType::Directory, ".".into()),
                (ino.0, FileType::Directory, "..".into()),
            ];
            let mut names: Vec<(u64, FileType, std::ffi::OsString)> = Vec::new();
            for entry in fs::read_dir(&path).map_err(errno)? {
                let entry = entry.map_err(errno)?;
                let meta = entry.metadata().map_err(errno)?;
                let kind = if meta.is_dir() { FileType::Directory } else { FileType::RegularFile };
                names.push((state.fuse_ino(meta.ino()), kind, entry.file_name()));
            }
            // The backing directory's order is the host's; a sorted one is stable across calls.
            names.sort_by(|a, b| a.2.cmp(&b.2));
            entries.extend(names);
            Ok(entries)
        })();
        match result {
            Ok(entries) => {
                for (i, (ino, kind, name)) in entries.into_iter().enumerate().skip(offset as usize)
                {
                    if reply.add(INodeNo(ino), (i + 1) as u64, kind, name) {
                        break;
                    }
                }
                reply.ok();
            }
            Err(e) => reply.error(e),
        }
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        match self.sync(ino, true) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let root = self.state().root.clone();
        let Ok(path) = std::ffi::CString::new(root.as_os_str().as_bytes()) else {
            return reply.error(Errno::EINVAL);
        };
        // SAFETY: statvfs writes into the zeroed struct we own, from a NUL-terminated path.
        let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(path.as_ptr(), &mut stat) } != 0 {
            return reply.error(errno(io::Error::last_os_error()));
        }
        reply.statfs(
            stat.f_blocks,
            stat.f_bfree,
            stat.f_bavail,
            stat.f_files,
            stat.f_ffree,
            stat.f_bsize as u32,
            stat.f_namemax as u32,
            stat.f_frsize as u32,
        );
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let mut state = self.state();
        let result = (|| {
            let path = state.child(parent, name)?;
            let existed = fs::symlink_metadata(&path).is_ok();
            if existed && flags & libc::O_EXCL != 0 {
                return Err(Errno::EEXIST);
            }
            if !existed {
                OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode & !umask & 0o7777)
                    .open(&path)
                    .map_err(errno)?;
                state.dirlog.created(&path);
            }
            let attr = state.attr(&path)?;
            if existed && flags & libc::O_TRUNC != 0 {
                let file = state.file(attr.ino.0)?.try_clone().map_err(errno)?;
                state.unsynced.truncate(attr.ino.0, &file, 0).map_err(errno)?;
                return state.attr(&path);
            }
            Ok(attr)
        })();
        match result {
            Ok(attr) => {
                reply.created(&TTL, &attr, Generation(0), FileHandle(0), FopenFlags::empty())
            }
            Err(e) => reply.error(e),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        _length: u64,
        _mode: i32,
        reply: ReplyEmpty,
    ) {
        // Servers fall back to extending by ftruncate (etcd does), which the cache holds.
        reply.error(Errno::EOPNOTSUPP);
    }
}

impl LazyFs {
    /// fsync or fsyncdir of `ino`, as the fsync mode says.
    fn sync(&self, ino: INodeNo, dir: bool) -> Result<(), Errno> {
        let (mode, cuts) = {
            let mut state = self.state();
            state.counts.fsyncs += 1;
            if state.cutting {
                return Err(Errno::EIO);
            }
            (state.mode, state.cuts)
        };
        match mode {
            FsyncMode::Normal => {}
            FsyncMode::Fail => {
                let mut state = self.state();
                state.counts.failed += 1;
                if !dir && state.unsynced.discard(ino.0) {
                    state.counts.files_lost += 1;
                }
                return Err(Errno::EIO);
            }
            FsyncMode::Delay(wait) => {
                self.state().counts.delayed += 1;
                std::thread::sleep(wait);
            }
        }
        let mut state = self.state();
        if state.cutting || state.cuts != cuts {
            // The power failed while this fsync waited: it never completed.
            return Err(Errno::EIO);
        }
        let path = state.path(ino)?;
        if dir {
            state.dirlog.synced(Some(&path));
            return Ok(());
        }
        let mut file = state.file(ino.0)?.try_clone().map_err(errno)?;
        state.unsynced.sync(ino.0, &mut file).map_err(errno)?;
        state.dirlog.synced(None);
        Ok(())
    }
}
