//! The watch hub as transcripts: goldenscripts under `tests/watch_hub/`, one test each.
//!
//! The hub has no I/O, so a script drives it alone: writes go to a [`MemoryHistory`] and their
//! events to [`WatchHub::notify`] (as a member does after applying), and `recv` prints what a
//! stream would send, in order. On top of the golden output the runner checks every stream's
//! guarantees as it drains it: each watcher's events come in revision order, never twice.
//!
//! Commands (a `!` prefix expects an error; regenerate output with `UPDATE_GOLDENFILES=1`):
//!
//! ```text
//! hub [outbox=N] [batch=N]          a fresh hub (limits: events per outbox, revisions per
//!                                   catch-up batch) and history; scripts start with it
//! open                              opens a stream: s1, s2, ...
//! close S
//! put KEY VALUE [silent=true]       one revision; `silent` skips `notify` (a missed
//!                                   notification, as after a snapshot was installed)
//! del KEY [silent=true]
//! txn KEY=VALUE... del=KEY...      several changes at one revision (puts, deletes)
//! compact REV                       compacts the history, then `sync`
//! watch S KEY [end=END | prefix=true] [from=REV] [id=N] [prev_kv=true] [no_put=true]
//!       [no_delete=true] [progress_notify=true]
//! cancel S ID | progress S | sync | tick
//! recv S                            drains the stream's outbox, one line per response
//! status                            hub revision, watchers (unsynced), pending events per stream
//! ```

use detcd_core::kv::{Event, EventType};
use detcd_core::watch::memory::Change;
use detcd_core::watch::{
    EventHistory, MemoryHistory, StreamId, WatchCancelRequest, WatchConfig, WatchCreateRequest,
    WatchFilter, WatchHub, WatchProgressRequest, WatchResponse,
};
use goldenscript::ArgumentConsumer;
use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fmt::Write as _;

#[macro_use]
#[path = "support/script_suite.rs"]
mod script_suite;

type Outcome = Result<String, Box<dyn Error>>;

struct Runner {
    hub: WatchHub,
    history: MemoryHistory,
    /// The newest event revision each watcher of each stream was sent.
    last_sent: BTreeMap<(u64, i64), i64>,
    /// The open streams.
    streams: BTreeSet<u64>,
}

impl Runner {
    fn new() -> Self {
        Runner {
            hub: WatchHub::new(WatchConfig::default()),
            history: MemoryHistory::new(),
            last_sent: BTreeMap::new(),
            streams: BTreeSet::new(),
        }
    }

    fn write(&mut self, changes: &[Change], silent: bool) -> Outcome {
        let events = self.history.write(changes);
        if !silent {
            self.hub.notify(&events);
        }
        let revision = events.first().map_or(self.history.current_revision(), Event::revision);
        Ok(format!("rev={revision} events={}\n", events.len()))
    }

    fn watch(&mut self, args: &mut ArgumentConsumer) -> Outcome {
        let stream = stream(args)?;
        let key = args.next_pos().ok_or("key")?;
        let mut request = if flag(args, "prefix")? {
            WatchCreateRequest::prefix(key, 0)
        } else {
            let mut request = WatchCreateRequest::key(key, 0);
            request.range_end = args.take_key("end").unwrap_or("").into();
            request
        };
        request.start_revision = number(args, "from")?;
        request.watch_id = number(args, "id")?;
        request.prev_kv = flag(args, "prev_kv")?;
        request.progress_notify = flag(args, "progress_notify")?;
        if flag(args, "no_put")? {
            request.filters.push(WatchFilter::NoPut);
        }
        if flag(args, "no_delete")? {
            request.filters.push(WatchFilter::NoDelete);
        }
        args.reject_next()?;
        Ok(match self.hub.create(stream, request, &self.history) {
            Some(id) => format!("watcher {id} on s{}\n", stream.0),
            None => "refused\n".to_string(),
        })
    }

    /// Drains `stream`, checking each watcher's events only move forward.
    fn recv(&mut self, stream: StreamId) -> Outcome {
        let mut out = String::new();
        for response in self.hub.take_responses(stream) {
            for event in &response.events {
                let last = self.last_sent.entry((stream.0, response.watch_id)).or_insert(0);
                if event.revision() < *last {
                    let (id, revision) = (response.watch_id, event.revision());
                    return Err(format!("watcher {id} went back to {revision}").into());
                }
                *last = event.revision();
            }
            if response.canceled {
                self.last_sent.remove(&(stream.0, response.watch_id));
            }
            writeln!(out, "{}", fmt_response(&response))?;
        }
        if out.is_empty() {
            out.push_str("(nothing)\n");
        }
        Ok(out)
    }

    fn status(&self) -> Outcome {
        let mut out = format!(
            "hub rev={} watchers={} unsynced={}",
            self.hub.revision(),
            self.hub.watcher_count(),
            self.hub.unsynced_count()
        );
        for &stream in &self.streams {
            write!(out, " s{stream}:pending={}", self.hub.pending_events(StreamId(stream)))?;
        }
        out.push('\n');
        Ok(out)
    }
}

impl goldenscript::Runner for Runner {
    type Command = goldenscript::Command;

    fn run(&mut self, command: &goldenscript::Command, _: &goldenscript::Context) -> Outcome {
        let mut args = command.consume_args();
        let out = match command.name.as_str() {
            "hub" => {
                let defaults = WatchConfig::default();
                let config = WatchConfig {
                    max_pending_events: args
                        .take_key("outbox")
                        .map(str::parse)
                        .transpose()?
                        .unwrap_or(defaults.max_pending_events),
                    max_catch_up_revisions: args
                        .take_key("batch")
                        .map(str::parse)
                        .transpose()?
                        .unwrap_or(defaults.max_catch_up_revisions),
                    ..defaults
                };
                *self = Runner::new();
                self.hub = WatchHub::new(config);
                String::new()
            }
            "open" => {
                let stream = self.hub.open_stream().0;
                self.streams.insert(stream);
                format!("s{stream}\n")
            }
            "close" => {
                let stream = stream(&mut args)?;
                self.streams.remove(&stream.0);
                format!("closed={}\n", self.hub.close_stream(stream))
            }
            "put" => {
                let key = args.next_pos().ok_or("key")?;
                let value = args.next_pos().ok_or("value")?;
                let silent = flag(&mut args, "silent")?;
                args.reject_next()?;
                self.write(&[(key.into(), Some(value.into()))], silent)?
            }
            "del" => {
                let key = args.next_pos().ok_or("key")?;
                let silent = flag(&mut args, "silent")?;
                args.reject_next()?;
                self.write(&[(key.into(), None)], silent)?
            }
            "txn" => {
                let mut changes: Vec<Change> = Vec::new();
                for arg in args.by_ref() {
                    match arg {
                        goldenscript::Argument::KeyValue(key, what) if key == "del" => {
                            changes.push((what.clone().into_bytes(), None));
                        }
                        goldenscript::Argument::KeyValue(key, value) => {
                            changes.push((key.clone().into_bytes(), Some(value.clone().into())));
                        }
                        other => {
                            return Err(
                                format!("txn takes KEY=VALUE and del=KEY, not {other}").into()
                            )
                        }
                    }
                }
                self.write(&changes, false)?
            }
            "compact" => {
                let revision = args.next_pos().ok_or("revision")?.parse()?;
                self.history.compact(revision)?;
                self.hub.sync(&self.history);
                format!("compacted at {revision}\n")
            }
            "watch" => self.watch(&mut args)?,
            "cancel" => {
                let stream = stream(&mut args)?;
                let watch_id = args.next_pos().ok_or("id")?.parse()?;
                let request = WatchCancelRequest { watch_id };
                format!("canceled={}\n", self.hub.cancel(stream, request, &self.history))
            }
            "progress" => {
                let stream = stream(&mut args)?;
                self.hub.request_progress(stream, WatchProgressRequest {}, &self.history);
                String::new()
            }
            "sync" => {
                self.hub.sync(&self.history);
                String::new()
            }
            "tick" => {
                self.hub.tick_progress(&self.history);
                String::new()
            }
            "recv" => {
                let stream = stream(&mut args)?;
                self.recv(stream)?
            }
            "status" => self.status()?,
            name => return Err(format!("unknown command {name}").into()),
        };
        args.reject_next()?;
        Ok(out)
    }
}

fn stream(args: &mut ArgumentConsumer) -> Result<StreamId, Box<dyn Error>> {
    let name = args.next_pos().ok_or("stream")?;
    let number = name.strip_prefix('s').ok_or("streams are s1, s2, ...")?;
    Ok(StreamId(number.parse()?))
}

fn flag(args: &mut ArgumentConsumer, key: &str) -> Result<bool, Box<dyn Error>> {
    Ok(args.take_key(key).map(str::parse).transpose()?.unwrap_or(false))
}

fn number(args: &mut ArgumentConsumer, key: &str) -> Result<i64, Box<dyn Error>> {
    Ok(args.take_key(key).map(str::parse).transpose()?.unwrap_or(0))
}

fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

fn fmt_event(event: &Event) -> String {
    let kv = &event.kv;
    let mut out = match event.kind {
        EventType::Put => format!("PUT {}={}@{}", show(&kv.key), show(&kv.value), kv.mod_revision),
        EventType::Delete => format!("DELETE {}@{}", show(&kv.key), kv.mod_revision),
    };
    if let Some(prev) = &event.prev_kv {
        write!(out, " prev={}@{}", show(&prev.value), prev.mod_revision).unwrap_or_default();
    }
    out
}

fn fmt_response(response: &WatchResponse) -> String {
    let mut out = format!("w{} rev={}", response.watch_id, response.header.revision);
    if response.created {
        out.push_str(" created");
    }
    if response.canceled {
        out.push_str(" canceled");
    }
    if response.compact_revision != 0 {
        write!(out, " compact_revision={}", response.compact_revision).unwrap_or_default();
    }
    if !response.cancel_reason.is_empty() {
        write!(out, " reason={:?}", response.cancel_reason).unwrap_or_default();
    }
    if response.is_progress() {
        out.push_str(" progress");
    }
    if !response.events.is_empty() {
        let events: Vec<String> = response.events.iter().map(fmt_event).collect();
        write!(out, " [{}]", events.join(", ")).unwrap_or_default();
    }
    out
}

script_suite!(
    "watch_hub",
    Runner::new(),
    [live_and_catch_up, slow_streams, compaction_and_progress]
);
