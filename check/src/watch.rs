//! Watch: what each watcher received, judged against the committed event history.
//!
//! Input ([`WatchHistory`]): every committed event in commit order (the simulator knows it from
//! the applied log), and per watcher its range, start revision, filters, whether it asked for
//! `prev_kv`, and the messages it received in order: event batches (one watch response),
//! progress notifications, resumptions (the client re-created the watch at a start revision after
//! a broken stream), and a cancel.
//!
//! A watcher is *owed* every committed event in its range, from its start revision on, whose
//! kind its filters let through. The rules check the guarantees etcd documents for watch, one
//! rule per guarantee, so a history that breaks one guarantee breaks one rule
//! (records: `[watcher index, message index]`):
//!
//! | guarantee | rule | broken when |
//! |---|---|---|
//! | ordered | `order` | an owed event arrives after a later one (that was not a duplicate) |
//! | unique | `duplicate` | the same (revision, key) event arrives twice |
//! | atomic | `atomic` | the events of one revision are split across responses |
//! | reliable | `gap` | an owed event was skipped for good: a later event came and it never did, or a resumption started past it |
//! | resumable | `cancel` | a cancel for compaction (`compact_revision` c) while the watcher needed nothing below c; or any message after a cancel |
//! | bookmarkable | `progress` | a progress notification at revision R while an owed event <= R was not yet received |
//! | `prev_kv` | `prev_kv` | with `prev_kv` asked, the previous value differs from the committed one (a missing one is excused once a compaction at or past the event's revision was asked for: etcd does not return a compacted previous pair, see `compacted_to`); without it, a previous value came anyway (etcd sends none) |
//! | `is_create` | `create` | a received event's `create` flag differs from the committed event's |
//! | filters | `filter` | a watcher received an event of a kind its filters exclude |
//!
//! and `phantom`: an event that was never committed, or with a different value or type.
//!
//! **Create-ness.** etcd's `Event.IsCreate()` is true for a put that makes the key exist (its
//! version becomes 1: `create_revision == mod_revision`), false for every other put and for
//! deletes. A committed event may state it (`create`); when it does not, it is derived from the
//! committed sequence: a put is a create iff the key had no put since its last delete (or
//! before). That derivation assumes the committed list is complete from revision 1; a history that
//! starts after a compaction must state `create` on its committed events (at least on each key's
//! first). A received event without `create` is not judged.
//!
//! **Compaction cancels.** etcd (and detcd's hub) cancel a watcher with `compact_revision = c`
//! exactly when the revision it needs next is below the store's compaction c (`next < c`; the
//! revision c itself survives a compaction). The checker knows a lower bound of the server's
//! `next`: the start revision of the watcher's latest creation or resumption, raised to one past
//! every event received since. A cancel with c <= that bound is wrong: nothing the watcher needed
//! was compacted. A watcher started "now" (start revision 0, never confirmed) is not judged.
//! Progress notifications do not raise the bound: they vouch for events, not for the server's
//! position of each watcher. A cancel (for compaction or any other reason) is the only way a
//! watcher may stop short of events: nothing after it is owed, but events skipped before it are
//! still gaps. The checker does not know the compactions themselves, so it cannot tell whether c
//! was really compacted, only whether the watcher could have lost anything to it.
//!
//! Events still unsent when the history ends are not a violation (the stream may lag), unless a
//! progress notification claimed otherwise.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::verdict::{finding, Finding, SafetyVerdict};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WatchHistory {
    pub committed: Vec<Event>,
    pub watchers: Vec<Watcher>,
    /// The highest revision a compaction was asked for in the run (acknowledged or of unknown
    /// outcome), when the history records compactions; `None`: not recorded (see `prev_kv`).
    #[serde(default)]
    pub compacted_to: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Put,
    Delete,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub revision: i64,
    pub key: String,
    pub kind: EventKind,
    /// The new value (puts).
    #[serde(default)]
    pub value: Option<String>,
    /// The value before this event (`None`: the key did not exist, or `prev_kv` was not asked).
    #[serde(default)]
    pub prev_value: Option<String>,
    /// etcd's `IsCreate()`: a put that made the key exist. `None`: not stated (on a committed
    /// event: derived from the committed sequence; on a received one: not judged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create: Option<bool>,
}

/// etcd's `WatchCreateRequest.FilterType`: a kind of event the watcher does not want.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    NoPut,
    NoDelete,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Watcher {
    pub key: String,
    /// Half-open end as in etcd; `"\u0000"` = every key >= `key`; absent = the key alone.
    #[serde(default)]
    pub range_end: Option<String>,
    pub start_revision: i64,
    #[serde(default)]
    pub prev_kv: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    pub received: Vec<Message>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Events { events: Vec<Event> },
    Progress { revision: i64 },
    Resume { start_revision: i64 },
    Canceled { compact_revision: Option<i64> },
}

impl Watcher {
    fn covers(&self, key: &str) -> bool {
        match self.range_end.as_deref() {
            None => key == self.key,
            Some("\0") => key >= self.key.as_str(),
            Some(end) => key >= self.key.as_str() && key < end,
        }
    }

    /// Whether the filters let this kind of event through.
    fn wants(&self, kind: EventKind) -> bool {
        let filter = match kind {
            EventKind::Put => Filter::NoPut,
            EventKind::Delete => Filter::NoDelete,
        };
        !self.filters.contains(&filter)
    }
}

/// Checks every watcher.
pub fn check(history: &WatchHistory) -> SafetyVerdict {
    let creates = creates(&history.committed);
    let findings = history
        .watchers
        .iter()
        .enumerate()
        .flat_map(|(w, watcher)| check_watcher(history, &creates, w, watcher))
        .collect();
    SafetyVerdict::from_findings(findings)
}

/// Whether each committed (revision, key) event is a create: as stated, else derived from the
/// sequence (see the module doc for the assumption).
fn creates(committed: &[Event]) -> BTreeMap<(i64, &str), bool> {
    let mut existing: BTreeSet<&str> = BTreeSet::new();
    let mut creates = BTreeMap::new();
    for event in committed {
        let key = event.key.as_str();
        let create = match event.kind {
            EventKind::Put => {
                let derived = !existing.contains(key);
                existing.insert(key);
                event.create.unwrap_or(derived)
            }
            EventKind::Delete => {
                existing.remove(key);
                event.create.unwrap_or(false)
            }
        };
        creates.insert((event.revision, key), create);
    }
    creates
}

/// Walks one watcher's messages against the events it is owed.
struct Walk<'a> {
    watcher: usize,
    /// The owed events: committed, in range, let through by the filters, in commit order.
    expected: Vec<&'a Event>,
    creates: &'a BTreeMap<(i64, &'a str), bool>,
    /// One past the furthest owed event received (or skipped by a resumption).
    next: usize,
    seen: BTreeSet<(i64, &'a str)>,
    /// Owed events jumped over (position -> message of the jump): a gap unless they still come.
    skipped: BTreeMap<usize, usize>,
    last_revision: i64,
    /// The least revision the server may still need for this watcher (see the module doc).
    needs_from: i64,
    /// `WatchHistory::compacted_to`.
    compacted_to: Option<i64>,
    findings: Vec<Finding>,
}

fn check_watcher<'a>(
    history: &'a WatchHistory,
    creates: &'a BTreeMap<(i64, &'a str), bool>,
    index: usize,
    watcher: &'a Watcher,
) -> Vec<Finding> {
    let expected: Vec<&Event> = history
        .committed
        .iter()
        .filter(|e| watcher.covers(&e.key) && watcher.wants(e.kind))
        .collect();
    let next = expected.partition_point(|e| e.revision < watcher.start_revision);
    let mut walk = Walk {
        watcher: index,
        expected,
        creates,
        next,
        seen: BTreeSet::new(),
        skipped: BTreeMap::new(),
        last_revision: 0,
        needs_from: watcher.start_revision,
        compacted_to: history.compacted_to,
        findings: Vec::new(),
    };
    let mut messages = watcher.received.iter().enumerate();
    for (m, message) in messages.by_ref() {
        match message {
            Message::Events { events } => {
                for event in events {
                    walk.event(m, watcher, event);
                }
                walk.atomic(m);
            }
            Message::Progress { revision } => walk.progress(m, *revision),
            Message::Resume { start_revision } => walk.resume(m, *start_revision),
            Message::Canceled { compact_revision } => {
                walk.canceled(m, *compact_revision);
                break;
            }
        }
    }
    // After a cancel the watcher is gone: anything more came from a watcher that should not be.
    if let Some((m, _)) = messages.next() {
        walk.report("cancel", m, "received a message after its cancel".into());
    }
    walk.gaps();
    // Gaps are known only at the end; in message order, the first finding is the earliest one.
    walk.findings.sort_by_key(|f| f.records[1]);
    walk.findings
}

impl<'a> Walk<'a> {
    /// Whether a missing previous value is etcd's answer for a compacted one: etcd reads the
    /// previous pair at `revision - 1` when it sends the event, and documents that a compacted
    /// previous pair is not returned, so once a compaction at or past the event's revision
    /// was asked for, an event may come without it. A wrong previous value is never excused.
    fn prev_compacted(&self, event: &Event, committed: &Event) -> bool {
        event.prev_value.is_none()
            && committed.prev_value.is_some()
            && self.compacted_to.is_some_and(|compacted| compacted >= event.revision)
    }

    fn report(&mut self, rule: &'static str, message: usize, text: String) {
        self.findings.push(finding(
            rule,
            vec![self.watcher, message],
            format!("watcher {}: {text}", self.watcher),
        ));
    }

    fn event(&mut self, m: usize, watcher: &Watcher, event: &Event) {
        if !watcher.wants(event.kind) {
            return self.report(
                "filter",
                m,
                format!(
                    "received {} {} at revision {} though its filters exclude {}s",
                    kind(event),
                    event.key,
                    event.revision,
                    kind(event)
                ),
            );
        }
        let id = (event.revision, event.key.as_str());
        let position = self.expected.iter().position(|e| (e.revision, e.key.as_str()) == id);
        let Some(position) = position else {
            return self.report(
                "phantom",
                m,
                format!(
                    "received {} {} at revision {} that was never committed",
                    kind(event),
                    event.key,
                    event.revision
                ),
            );
        };
        let committed = self.expected[position];
        if self.seen.contains(&(committed.revision, committed.key.as_str())) {
            return self.report(
                "duplicate",
                m,
                format!("received {} at revision {} twice", event.key, event.revision),
            );
        }
        if position < self.next {
            // It still came, so it is not lost: late, not missing.
            self.skipped.remove(&position);
            self.report(
                "order",
                m,
                format!(
                    "received {} at revision {} after revision {}",
                    event.key, event.revision, self.last_revision
                ),
            );
        } else {
            for jumped in self.next..position {
                self.skipped.entry(jumped).or_insert(m);
            }
            self.next = position + 1;
        }
        self.compare(m, watcher, event, committed);
        self.seen.insert((committed.revision, committed.key.as_str()));
        self.last_revision = self.last_revision.max(event.revision);
        self.needs_from = self.needs_from.max(event.revision + 1);
    }

    /// The received event's content against the committed one it claims to be.
    fn compare(&mut self, m: usize, watcher: &Watcher, event: &Event, committed: &Event) {
        if committed.kind != event.kind
            || (event.kind == EventKind::Put && event.value != committed.value)
        {
            // A different event altogether: its flags cannot be judged against this one.
            return self.report(
                "phantom",
                m,
                format!(
                    "received {} {}={:?} at revision {} but the committed event is {} {:?}",
                    kind(event),
                    event.key,
                    event.value,
                    event.revision,
                    kind(committed),
                    committed.value
                ),
            );
        }
        if !watcher.prev_kv && event.prev_value.is_some() {
            self.report(
                "prev_kv",
                m,
                format!(
                    "{}@{} came with a prev value though prev_kv was not asked",
                    event.key, event.revision
                ),
            );
        } else if watcher.prev_kv
            && event.prev_value != committed.prev_value
            && !self.prev_compacted(event, committed)
        {
            self.report(
                "prev_kv",
                m,
                format!(
                    "{}@{} came with prev value {:?}, committed prev was {:?}",
                    event.key, event.revision, event.prev_value, committed.prev_value
                ),
            );
        }
        let create = self.creates.get(&(committed.revision, committed.key.as_str())).copied();
        if let (Some(received), Some(create)) = (event.create, create) {
            if received != create {
                self.report(
                    "create",
                    m,
                    format!(
                        "{} {}@{} came with is_create={received}; the committed event {} a create",
                        kind(event),
                        event.key,
                        event.revision,
                        if create { "is" } else { "is not" }
                    ),
                );
            }
        }
    }

    /// After a response: nothing of its last revision may be left for a later response.
    fn atomic(&mut self, m: usize) {
        let split: Vec<String> = self.expected[self.next.min(self.expected.len())..]
            .iter()
            .take_while(|e| e.revision == self.last_revision)
            .map(|e| e.key.clone())
            .collect();
        if !split.is_empty() {
            self.report(
                "atomic",
                m,
                format!(
                    "revision {} was split: {} not in the same response",
                    self.last_revision,
                    split.join(", ")
                ),
            );
        }
    }

    fn progress(&mut self, m: usize, revision: i64) {
        let owed: Vec<String> = self.expected[self.next.min(self.expected.len())..]
            .iter()
            .filter(|e| {
                e.revision <= revision && !self.seen.contains(&(e.revision, e.key.as_str()))
            })
            .map(|e| format!("{}@{}", e.key, e.revision))
            .collect();
        if !owed.is_empty() {
            self.report(
                "progress",
                m,
                format!(
                    "progress notification at revision {revision} before receiving {}",
                    owed.join(", ")
                ),
            );
        }
    }

    fn resume(&mut self, m: usize, start: i64) {
        let skipped: Vec<String> = self.expected[self.next.min(self.expected.len())..]
            .iter()
            .filter(|e| e.revision < start && !self.seen.contains(&(e.revision, e.key.as_str())))
            .map(|e| format!("{}@{}", e.key, e.revision))
            .collect();
        if !skipped.is_empty() {
            self.report(
                "gap",
                m,
                format!("resumed at revision {start}, losing {}", skipped.join(", ")),
            );
        }
        let from = self.expected.partition_point(|e| e.revision < start);
        self.next = self.next.max(from);
        // The new server-side watcher starts here, whatever the old one had reached.
        self.needs_from = start;
    }

    /// A cancel for compaction at `c` is right only if the watcher still needed a revision below
    /// `c` (see the module doc); any other cancel is not judged.
    fn canceled(&mut self, m: usize, compact_revision: Option<i64>) {
        let Some(c) = compact_revision else { return };
        if self.needs_from > 0 && c <= self.needs_from {
            self.report(
                "cancel",
                m,
                format!(
                    "canceled for a compaction at revision {c}, but it needed only revisions from \
                     {} on, which that compaction keeps",
                    self.needs_from
                ),
            );
        }
    }

    /// Owed events jumped over that never came.
    fn gaps(&mut self) {
        let mut by_message: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (&position, &m) in &self.skipped {
            let e = self.expected[position];
            by_message.entry(m).or_default().push(format!("{}@{}", e.key, e.revision));
        }
        for (m, missed) in by_message {
            self.report(
                "gap",
                m,
                format!("skipped {} committed event(s): {}", missed.len(), missed.join(", ")),
            );
        }
    }
}

fn kind(event: &Event) -> &'static str {
    match event.kind {
        EventKind::Put => "PUT",
        EventKind::Delete => "DELETE",
    }
}
