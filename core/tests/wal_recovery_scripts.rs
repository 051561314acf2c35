//! WAL recovery as transcripts: goldenscripts under `tests/wal_recovery/`, one test each.
//!
//! The WAL's only I/O is the `Disk` seam, so a script runs it on a [`SimDisk`] and damages the
//! disk by hand: what a crash keeps (synced bytes only), a torn tail cut at a chosen byte,
//! garbage over the preallocated zeros, a flipped bit. `reopen` then runs recovery and prints
//! what it kept or why it refused to start; `files` shows each segment's records and offsets, so
//! a script can aim its damage at a record.
//!
//! Commands (a `!` prefix expects an error; regenerate output with `UPDATE_GOLDENFILES=1`):
//!
//! ```text
//! wal [segment=BYTES]               a fresh disk and WAL (segments roll at BYTES, soft limit)
//! append INDEX... [term=T]          entries (payload "e<index>") in one write, not yet synced
//! vote TEXT | commit TEXT | truncate SINCE | purge INDEX     one record each, not yet synced
//! sync                              fsync (rolls and deletes segments as due)
//! crash                             power failure: the WAL is dropped, unsynced bytes are lost
//! reopen                            recovery: prints the state, or the error that refuses it
//! files                             every segment: its records with offsets, how its scan ends
//! state                             the log as the open WAL sees it
//! tear SEG AT                       cuts segment SEG to AT bytes, durably (a write torn there)
//! garbage SEG [len=N]               N (16) non-zero bytes right after SEG's last record, durably
//! flip SEG AT                       flips the bits of the byte at AT in SEG, durably (bit rot)
//! remove SEG                        deletes segment SEG, durably (a lost file)
//! ```

use bytes::Bytes;
use detcd_core::storage::wal::record::Frame;
use detcd_core::storage::wal::segment::{scan, segment_name, ScanEnd};
use detcd_core::storage::{Disk, Entry, Purged, Record, SimDisk, SimDiskFaults, Wal, WalOptions};
use futures::executor::block_on;
use std::error::Error;
use std::fmt::Write as _;
use std::sync::Arc;

#[macro_use]
#[path = "support/script_suite.rs"]
mod script_suite;

type Outcome = Result<String, Box<dyn Error>>;

struct Runner {
    sim: SimDisk,
    disk: Arc<dyn Disk>,
    options: WalOptions,
    wal: Option<Wal>,
}

impl Runner {
    fn new(options: WalOptions) -> Result<Self, Box<dyn Error>> {
        let sim = SimDisk::new(7, SimDiskFaults::default());
        let disk: Arc<dyn Disk> = Arc::new(sim.clone());
        let wal = block_on(Wal::open(disk.clone(), options.clone()))?;
        Ok(Runner { sim, disk, options, wal: Some(wal) })
    }

    fn wal(&mut self) -> Result<&mut Wal, Box<dyn Error>> {
        self.wal.as_mut().ok_or_else(|| "no open WAL (crashed or refused): reopen first".into())
    }

    fn append(&mut self, records: Vec<Record>) -> Outcome {
        self.wal()?.append(records)?;
        Ok(String::new())
    }

    fn path(&self, segment: &str) -> Result<String, Box<dyn Error>> {
        Ok(format!("{}/{}", self.options.dir, segment_name(segment.parse()?)))
    }

    /// Where the records of `path` end (its preallocated zeros, or torn bytes, start).
    fn records_end(&self, path: &str) -> Result<u64, Box<dyn Error>> {
        let bytes = self.disk.read(path)?;
        Ok(match scan(&bytes).end {
            ScanEnd::Clean => bytes.len() as u64,
            ScanEnd::Torn { offset, .. } | ScanEnd::Damaged { offset, .. } => offset,
        })
    }

    /// Changes segment `path` by hand and makes the change durable.
    fn damage(&self, path: &str, change: impl FnOnce(&dyn Disk) -> std::io::Result<()>) -> Outcome {
        change(self.disk.as_ref())?;
        block_on(self.disk.sync(path))?;
        Ok(String::new())
    }

    fn files(&self) -> Outcome {
        let mut out = String::new();
        for name in self.disk.list(&self.options.dir)? {
            let path = format!("{}/{name}", self.options.dir);
            let bytes = self.disk.read(&path)?;
            let scanned = scan(&bytes);
            let frames: Vec<String> = scanned
                .frames
                .iter()
                .map(|(at, frame)| format!("{}@{at}", fmt_frame(frame)))
                .collect();
            let end = match scanned.end {
                ScanEnd::Clean => "clean".to_string(),
                ScanEnd::Torn { offset, reason } => format!("torn at {offset} ({reason})"),
                ScanEnd::Damaged { offset, reason } => format!("damaged at {offset} ({reason})"),
            };
            writeln!(out, "{name} len={}: {} | {end}", bytes.len(), frames.join(" "))?;
        }
        Ok(out)
    }
}

impl goldenscript::Runner for Runner {
    type Command = goldenscript::Command;

    fn run(&mut self, command: &goldenscript::Command, _: &goldenscript::Context) -> Outcome {
        let mut args = command.consume_args();
        let out = match command.name.as_str() {
            "wal" => {
                let segment_size = args.take_key("segment").map(str::parse).transpose()?;
                let defaults = WalOptions::default();
                let segment_size = segment_size.unwrap_or(defaults.segment_size);
                *self = Runner::new(WalOptions { segment_size, ..defaults })?;
                String::new()
            }
            "append" => {
                let term = args.take_key("term").map(str::parse).transpose()?.unwrap_or(1);
                let mut records = Vec::new();
                while let Some(index) = args.next_pos() {
                    let index: u64 = index.parse()?;
                    let payload = Bytes::from(format!("e{index}"));
                    records.push(Record::Entry(Entry { index, term, payload }));
                }
                self.append(records)?
            }
            "vote" => {
                let vote = Bytes::from(args.next_pos().ok_or("vote")?.to_string());
                self.append(vec![Record::Vote(vote)])?
            }
            "commit" => {
                let committed = Bytes::from(args.next_pos().ok_or("committed")?.to_string());
                self.append(vec![Record::Committed(Some(committed))])?
            }
            "truncate" => {
                let since = args.next_pos().ok_or("since")?.parse()?;
                self.append(vec![Record::Truncate { since }])?
            }
            "purge" => {
                let index: u64 = args.next_pos().ok_or("index")?.parse()?;
                let log_id = Bytes::from(format!("id{index}"));
                self.append(vec![Record::Purge(Purged { index, log_id })])?
            }
            "sync" => {
                block_on(self.wal()?.sync())?;
                String::new()
            }
            "crash" => {
                self.wal = None;
                self.sim.crash();
                String::new()
            }
            "reopen" => {
                self.wal = None;
                let wal = block_on(Wal::open(self.disk.clone(), self.options.clone()))?;
                let out = fmt_state(&wal);
                self.wal = Some(wal);
                out
            }
            "state" => {
                let wal = self.wal()?;
                fmt_state(wal)
            }
            "files" => self.files()?,
            "tear" => {
                let path = self.path(args.next_pos().ok_or("segment")?)?;
                let at = args.next_pos().ok_or("offset")?.parse()?;
                self.damage(&path, |disk| disk.truncate(&path, at))?
            }
            "garbage" => {
                let path = self.path(args.next_pos().ok_or("segment")?)?;
                let len = args.take_key("len").map(str::parse).transpose()?.unwrap_or(16);
                let at = self.records_end(&path)?;
                self.damage(&path, |disk| disk.write_at(&path, at, &vec![0x5a; len]))?
            }
            "remove" => {
                let path = self.path(args.next_pos().ok_or("segment")?)?;
                self.disk.remove(&path)?;
                block_on(self.disk.sync_dir(&self.options.dir))?;
                String::new()
            }
            "flip" => {
                let path = self.path(args.next_pos().ok_or("segment")?)?;
                let at = args.next_pos().ok_or("offset")?.parse()?;
                self.sim.corrupt_byte(&path, at)?;
                String::new()
            }
            name => return Err(format!("unknown command {name}").into()),
        };
        args.reject_next()?;
        Ok(out)
    }
}

fn text(bytes: &Option<Bytes>) -> String {
    match bytes {
        Some(bytes) => bytes.escape_ascii().to_string(),
        None => "-".to_string(),
    }
}

fn fmt_state(wal: &Wal) -> String {
    let state = wal.state();
    let entries: Vec<String> =
        state.entries.values().map(|entry| format!("{}:{}", entry.index, entry.term)).collect();
    let purged = state.purged.as_ref().map_or("-".to_string(), |purged| purged.index.to_string());
    format!(
        "entries=[{}] vote={} committed={} purged={} segments={:?}\n",
        entries.join(" "),
        text(&state.vote),
        text(&state.committed),
        purged,
        wal.segment_seqs()
    )
}

fn fmt_frame(frame: &Frame) -> String {
    match frame {
        Frame::Header(header) => format!("header({})", header.seq),
        Frame::Record(Record::Entry(entry)) => format!("entry({}:{})", entry.index, entry.term),
        Frame::Record(Record::Vote(vote)) => format!("vote({})", vote.escape_ascii()),
        Frame::Record(Record::Committed(committed)) => format!("commit({})", text(committed)),
        Frame::Record(Record::Truncate { since }) => format!("truncate({since})"),
        Frame::Record(Record::Purge(purged)) => format!("purge({})", purged.index),
    }
}

script_suite!(
    "wal_recovery",
    Runner::new(WalOptions::default()).expect("a fresh WAL"),
    [crash_keeps_what_was_synced, torn_tails, checksums, segment_boundaries]
);
