//! Unsynced changes to directories (creates, renames, unlinks, mkdir, rmdir), undone when the
//! member is killed: the namespace half of the disk faults' file system (`lazyfs`).
//!
//! Directory changes are made on the backing directory at once (so the file system stays a
//! plain passthrough for lookups), and each is logged with how to undo it. A change becomes
//! durable, and leaves the log, by a sync that covers it:
//! - [`Commit::Directory`] (POSIX's letter): an `fsync` of each directory it touched;
//! - [`Commit::AnySync`] (what ext4's single journal does): any `fsync` or `fdatasync` of any
//!   file or directory of the file system commits every change made before it.
//!
//! Dropping ([`DirLog::undo_all`]) undoes the changes still logged, newest first. A file an
//! unsynced rename replaced or an unsynced unlink removed is kept under a spare name in the
//! *grave*, a directory beside the backing one on the same file system, so it can come back;
//! a durable change's grave files are deleted.
//!
//! Invariant: each logged change's undo, applied newest first, restores the backing tree to
//! what it was before that change, given the later changes were undone first.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// When a directory change becomes durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// An `fsync` of each directory the change touched.
    Directory,
    /// Any sync on the file system (one journal for everything, as ext4).
    AnySync,
}

impl Commit {
    pub fn parse(name: &str) -> Result<Commit, String> {
        match name {
            "posix" => Ok(Commit::Directory),
            "journal" => Ok(Commit::AnySync),
            other => Err(format!("unknown directory sync '{other}'; known: journal, posix")),
        }
    }
}

/// One step of an undo.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Undo {
    /// Remove what a create or mkdir made.
    Remove(PathBuf),
    /// Rename back.
    Move { from: PathBuf, to: PathBuf },
    /// Make again the (empty) directory an rmdir removed.
    Mkdir(PathBuf),
}

#[derive(Debug)]
struct Change {
    /// The directories whose fsync it still waits for.
    dirs: BTreeSet<PathBuf>,
    /// Applied in order.
    undo: Vec<Undo>,
    /// Files kept for the undo, deleted once the change is durable.
    graves: Vec<PathBuf>,
}

/// `path` with its `before` prefix replaced by `now`, if it lies under `before`.
fn rebase(path: &mut PathBuf, before: &Path, now: &Path) {
    if let Ok(rest) = path.strip_prefix(before) {
        *path = if rest.as_os_str().is_empty() { now.to_path_buf() } else { now.join(rest) };
    }
}

impl Change {
    /// What lay under `before` lies under `now`.
    fn moved(&mut self, before: &Path, now: &Path) {
        self.dirs = std::mem::take(&mut self.dirs)
            .into_iter()
            .map(|mut dir| {
                rebase(&mut dir, before, now);
                dir
            })
            .collect();
        for step in &mut self.undo {
            match step {
                Undo::Remove(path) | Undo::Mkdir(path) => rebase(path, before, now),
                Undo::Move { from, to } => {
                    rebase(from, before, now);
                    rebase(to, before, now);
                }
            }
        }
    }
}

/// The directory changes not yet durable.
#[derive(Debug)]
pub struct DirLog {
    commit: Commit,
    grave: PathBuf,
    next_grave: u64,
    changes: Vec<Change>,
}

fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}

impl DirLog {
    /// A log keeping replaced files in `grave` (created if missing; on the backing file system).
    pub fn new(commit: Commit, grave: PathBuf) -> io::Result<DirLog> {
        fs::create_dir_all(&grave)?;
        Ok(DirLog { commit, grave, next_grave: 0, changes: Vec::new() })
    }

    pub fn commit(&self) -> Commit {
        self.commit
    }

    /// How many changes are not yet durable.
    pub fn pending(&self) -> usize {
        self.changes.len()
    }

    fn spare(&mut self) -> PathBuf {
        self.next_grave += 1;
        self.grave.join(format!("{}", self.next_grave))
    }

    /// `path` was created (a file or a directory).
    pub fn created(&mut self, path: &Path) {
        self.changes.push(Change {
            dirs: BTreeSet::from([parent(path)]),
            undo: vec![Undo::Remove(path.to_path_buf())],
            graves: Vec::new(),
        });
    }

    /// Renames `from` to `to` on the backing tree, keeping a file it replaces for the undo.
    pub fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        let victim = match fs::symlink_metadata(to) {
            Ok(meta) if !meta.is_dir() => {
                let spare = self.spare();
                fs::hard_link(to, &spare)?;
                Some(spare)
            }
            _ => None,
        };
        if let Err(e) = fs::rename(from, to) {
            if let Some(spare) = &victim {
                let _ = fs::remove_file(spare);
            }
            return Err(e);
        }
        let mut undo = vec![Undo::Move { from: to.to_path_buf(), to: from.to_path_buf() }];
        undo.extend(
            victim.iter().map(|spare| Undo::Move { from: spare.clone(), to: to.to_path_buf() }),
        );
        self.changes.push(Change {
            dirs: BTreeSet::from([parent(from), parent(to)]),
            undo,
            graves: victim.into_iter().collect(),
        });
        Ok(())
    }

    /// Unlinks `path` on the backing tree by moving it into the grave.
    pub fn unlink(&mut self, path: &Path) -> io::Result<()> {
        let spare = self.spare();
        fs::rename(path, &spare)?;
        self.changes.push(Change {
            dirs: BTreeSet::from([parent(path)]),
            undo: vec![Undo::Move { from: spare.clone(), to: path.to_path_buf() }],
            graves: vec![spare],
        });
        Ok(())
    }

    /// Removes the empty directory `path` on the backing tree.
    pub fn rmdir(&mut self, path: &Path) -> io::Result<()> {
        fs::remove_dir(path)?;
        self.changes.push(Change {
            dirs: BTreeSet::from([parent(path)]),
            undo: vec![Undo::Mkdir(path.to_path_buf())],
            graves: Vec::new(),
        });
        Ok(())
    }

    /// A file (`dir == None`) or directory was synced: the changes that sync makes durable
    /// leave the log.
    pub fn synced(&mut self, dir: Option<&Path>) {
        match (self.commit, dir) {
            (Commit::AnySync, _) => {
                for change in &mut self.changes {
                    change.dirs.clear();
                }
            }
            (Commit::Directory, Some(dir)) => {
                for change in &mut self.changes {
                    change.dirs.remove(dir);
                }
            }
            (Commit::Directory, None) => {}
        }
        let mut index = 0;
        while index < self.changes.len() {
            if !self.changes[index].dirs.is_empty() {
                index += 1;
                continue;
            }
            let change = self.changes.remove(index);
            for grave in &change.graves {
                let _ = fs::remove_file(grave);
            }
            // A durable rename stays: what older changes name under its old path now lives
            // under its new one (a directory made as `wal.tmp` and renamed to `wal`).
            if let Some(Undo::Move { from: now, to: before }) = change.undo.first() {
                for older in &mut self.changes[..index] {
                    older.moved(before, now);
                }
            }
        }
    }

    /// Undoes every change not durable, newest first; returns how many changes were undone
    /// and the steps that failed (the tree moved under a later change already undone).
    pub fn undo_all(&mut self) -> (usize, Vec<String>) {
        let mut failed = Vec::new();
        let count = self.changes.len();
        while let Some(change) = self.changes.pop() {
            for step in change.undo {
                let result = match &step {
                    Undo::Remove(path) => match fs::symlink_metadata(path) {
                        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
                        Ok(_) => fs::remove_file(path),
                        Err(e) => Err(e),
                    },
                    Undo::Move { from, to } => fs::rename(from, to),
                    Undo::Mkdir(path) => fs::create_dir(path),
                };
                if let Err(e) = result {
                    failed.push(format!("{step:?}: {e}"));
                }
            }
        }
        (count, failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(name: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("detcd-dirlog-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let root = dir.join("root");
        fs::create_dir_all(&root).unwrap();
        (root, dir.join("grave"))
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn unsynced_creates_renames_and_unlinks_are_undone_newest_first() {
        let (root, grave) = tree("undo");
        let mut log = DirLog::new(Commit::Directory, grave.clone()).unwrap();
        fs::write(root.join("kept"), b"old kept").unwrap();
        fs::write(root.join("victim"), b"old victim").unwrap();
        // A tmp file written, renamed over `victim`; `kept` unlinked; a directory made.
        fs::write(root.join("tmp"), b"new").unwrap();
        log.created(&root.join("tmp"));
        log.rename(&root.join("tmp"), &root.join("victim")).unwrap();
        log.unlink(&root.join("kept")).unwrap();
        fs::create_dir(root.join("sub")).unwrap();
        log.created(&root.join("sub"));
        fs::write(root.join("sub/inner"), b"x").unwrap();
        log.created(&root.join("sub/inner"));
        assert_eq!(names(&root), ["sub", "victim"]);
        assert_eq!(fs::read(root.join("victim")).unwrap(), b"new");
        let (undone, failed) = log.undo_all();
        assert_eq!((undone, failed), (5, Vec::<String>::new()));
        assert_eq!(names(&root), ["kept", "victim"]);
        assert_eq!(fs::read(root.join("victim")).unwrap(), b"old victim");
        assert_eq!(fs::read(root.join("kept")).unwrap(), b"old kept");
        assert!(names(&grave).is_empty(), "{:?}", names(&grave));
        let _ = fs::remove_dir_all(root.parent().unwrap());
    }

    #[test]
    fn a_directory_sync_makes_its_changes_durable_and_frees_their_graves() {
        let (root, grave) = tree("durable");
        fs::create_dir(root.join("a")).unwrap();
        let mut log = DirLog::new(Commit::Directory, grave.clone()).unwrap();
        fs::write(root.join("a/f"), b"1").unwrap();
        log.created(&root.join("a/f"));
        fs::write(root.join("g"), b"2").unwrap();
        log.created(&root.join("g"));
        log.unlink(&root.join("a/f")).unwrap();
        log.synced(None);
        assert_eq!(log.pending(), 3, "a file's fsync does not sync its directory");
        log.synced(Some(&root.join("a")));
        assert_eq!(log.pending(), 1);
        assert!(names(&grave).is_empty(), "the durable unlink's grave is gone");
        log.undo_all();
        assert_eq!(names(&root), ["a"]);
        assert!(names(&root.join("a")).is_empty(), "the durable create and unlink stand");
        let _ = fs::remove_dir_all(root.parent().unwrap());
    }

    #[test]
    fn a_rename_between_directories_waits_for_both() {
        let (root, grave) = tree("both");
        fs::create_dir(root.join("a")).unwrap();
        fs::create_dir(root.join("b")).unwrap();
        fs::write(root.join("a/f"), b"1").unwrap();
        let mut log = DirLog::new(Commit::Directory, grave).unwrap();
        log.rename(&root.join("a/f"), &root.join("b/f")).unwrap();
        log.synced(Some(&root.join("b")));
        assert_eq!(log.pending(), 1);
        log.synced(Some(&root.join("a")));
        assert_eq!(log.pending(), 0);
        let _ = fs::remove_dir_all(root.parent().unwrap());
    }

    #[test]
    fn with_one_journal_any_sync_commits_every_earlier_change() {
        let (root, grave) = tree("journal");
        let mut log = DirLog::new(Commit::AnySync, grave).unwrap();
        fs::write(root.join("f"), b"1").unwrap();
        log.created(&root.join("f"));
        log.synced(None);
        fs::write(root.join("g"), b"2").unwrap();
        log.created(&root.join("g"));
        log.undo_all();
        assert_eq!(names(&root), ["f"]);
        assert_eq!(Commit::parse("posix"), Ok(Commit::Directory));
        assert!(Commit::parse("ext4").is_err());
        let _ = fs::remove_dir_all(root.parent().unwrap());
    }

    #[test]
    fn a_durable_rename_of_a_directory_moves_the_older_changes_inside_it() {
        // etcd's WAL: files made in `wal.tmp`, `wal.tmp` renamed to `wal`, the parent synced.
        let (root, grave) = tree("rebase");
        let mut log = DirLog::new(Commit::Directory, grave).unwrap();
        fs::create_dir(root.join("wal.tmp")).unwrap();
        log.created(&root.join("wal.tmp"));
        fs::write(root.join("wal.tmp/0.wal"), b"entries").unwrap();
        log.created(&root.join("wal.tmp/0.wal"));
        log.rename(&root.join("wal.tmp"), &root.join("wal")).unwrap();
        log.synced(Some(&root));
        assert_eq!(log.pending(), 1, "the file's name in its directory is not durable yet");
        let (undone, failed) = log.undo_all();
        assert_eq!((undone, failed), (1, Vec::<String>::new()));
        assert_eq!(names(&root), ["wal"]);
        assert!(names(&root.join("wal")).is_empty());
        let _ = fs::remove_dir_all(root.parent().unwrap());
        // Synced under its new name, the directory keeps the file.
        let (root, grave) = tree("rebase-synced");
        let mut log = DirLog::new(Commit::Directory, grave).unwrap();
        fs::create_dir(root.join("wal.tmp")).unwrap();
        fs::write(root.join("wal.tmp/0.wal"), b"entries").unwrap();
        log.created(&root.join("wal.tmp/0.wal"));
        log.rename(&root.join("wal.tmp"), &root.join("wal")).unwrap();
        log.synced(Some(&root));
        log.synced(Some(&root.join("wal")));
        assert_eq!(log.pending(), 0);
        let _ = fs::remove_dir_all(root.parent().unwrap());
    }

    #[test]
    fn an_rmdir_not_synced_comes_back() {
        let (root, grave) = tree("rmdir");
        fs::create_dir(root.join("d")).unwrap();
        let mut log = DirLog::new(Commit::Directory, grave).unwrap();
        log.rmdir(&root.join("d")).unwrap();
        assert!(names(&root).is_empty());
        log.undo_all();
        assert_eq!(names(&root), ["d"]);
        let _ = fs::remove_dir_all(root.parent().unwrap());
    }
}
