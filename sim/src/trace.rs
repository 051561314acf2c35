//! The run's event trace: one line per event, readable without a tool, hashed to identify the run.
//!
//! Lines look like `   4.102s n2   leader term=3` — virtual time, who, what. Everything that
//! matters goes in: role and term changes, faults, client operations and outcomes, violations.
//! Nothing in a line may depend on anything but the seed (no addresses of objects, no real time),
//! so two runs of one seed give byte-identical traces, and the trace hash names the run.

use detcd_check::history::Operation;
use std::cell::RefCell;
use std::fmt::Display;
use std::time::Duration;

thread_local! {
    // One simulation per thread: the trace of the run on this thread.
    static TRACE: RefCell<Trace> = RefCell::new(Trace::default());
}

#[derive(Default)]
struct Trace {
    lines: Vec<String>,
    echo: bool,
}

/// Starts a new trace for the run on this thread; `echo` also prints each line as it is made.
pub fn start(echo: bool) {
    TRACE.with(|trace| *trace.borrow_mut() = Trace { lines: Vec::new(), echo });
}

/// The virtual time since the run began.
pub fn now() -> Duration {
    madsim::time::TimeHandle::try_current().map_or(Duration::ZERO, |time| time.elapsed())
}

/// Records one event by `who` (a member `n3`, a client `c2`, the harness `sim`).
pub fn event(who: &str, what: impl Display) {
    let line = format!("{:>9.3}s {who:<4} {what}", now().as_secs_f64());
    TRACE.with(|trace| {
        let mut trace = trace.borrow_mut();
        if trace.echo {
            println!("{line}");
        }
        trace.lines.push(line);
    });
}

/// Ends the run's trace and returns its lines.
pub fn finish() -> Vec<String> {
    TRACE.with(|trace| std::mem::take(&mut trace.borrow_mut().lines))
}

/// FNV-1a over the trace's bytes: equal traces, equal hashes.
pub fn hash(lines: &[String]) -> u64 {
    hash_lines(FNV_OFFSET, lines.iter().map(String::as_str))
}

/// A run's fingerprint: its trace, then every operation the clients saw (requests, responses,
/// revisions, outcomes, times, and each watcher's events and progress notifications) as JSON.
/// Two runs with equal fingerprints showed their clients the same behaviour, not only the same
/// trace.
pub fn hash_run(lines: &[String], history: &[Operation]) -> u64 {
    let mut fnv = Fnv(hash_lines(FNV_OFFSET, lines.iter().map(String::as_str)));
    for op in history {
        // The JSON goes straight into the hash, as if each operation's line were hashed whole.
        // Serializing an operation cannot fail: it is plain data whose maps have string keys.
        let _ = serde_json::to_writer(&mut fnv, op);
        fnv.byte(b'\n');
    }
    fnv.0
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a as a byte sink, so serializers can write into the hash without building strings.
struct Fnv(u64);

impl Fnv {
    fn byte(&mut self, byte: u8) {
        self.0 = (self.0 ^ byte as u64).wrapping_mul(0x100_0000_01b3);
    }
}

impl std::io::Write for Fnv {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        bytes.iter().for_each(|&byte| self.byte(byte));
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn hash_lines<'a>(hash: u64, lines: impl Iterator<Item = &'a str>) -> u64 {
    let mut fnv = Fnv(hash);
    for line in lines {
        line.bytes().chain(std::iter::once(b'\n')).for_each(|byte| fnv.byte(byte));
    }
    fnv.0
}
