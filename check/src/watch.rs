//! Watch: what each watcher received, judged against the committed event history.
//!
//! Input ([`WatchHistory`]): every committed event in commit order (the simulator knows it from
//! the applied log), and per watcher its range, start revision, whether it asked for `prev_kv`,
//! and the messages it received in order: event batches (one watch response), progress
//! notifications, resumptions (the client re-created the watch at a start revision after a
//! broken stream), and a cancel.
//!
//! Rules (records: `[watcher index, message index]`):
//! - `order`: an event older than one already received (that was not a duplicate).
//! - `duplicate`: the same (revision, key) event received twice.
//! - `gap`: committed events in range were skipped (including across a resumption).
//! - `phantom`: an event that was never committed, or with a different value or type.
//! - `atomic`: the events of one revision were split across responses.
//! - `prev_kv`: with `prev_kv` asked, the previous value differs from the committed one;
//!   without it, a previous value came anyway (etcd sends none).
//! - `progress`: a progress notification at revision R while an event <= R in range was not yet
//!   received.
//!
//! Events still unsent when the history ends are not a violation (the stream may lag), unless a
//! progress notification claimed otherwise.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::verdict::{finding, Finding, SafetyVerdict};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WatchHistory {
    pub committed: Vec<Event>,
    pub watchers: Vec<Watcher>,
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
}

/// Checks every watcher.
pub fn check(history: &WatchHistory) -> SafetyVerdict {
    let findings = history
        .watchers
        .iter()
        .enumerate()
        .flat_map(|(w, watcher)| check_watcher(history, w, watcher))
        .collect();
    SafetyVerdict::from_findings(findings)
}

/// Walks one watcher's messages against the committed events in its range.
struct Walk<'a> {
    watcher: usize,
    expected: Vec<&'a Event>,
    /// The next expected event.
    next: usize,
    seen: BTreeSet<(i64, &'a str)>,
    last_revision: i64,
    findings: Vec<Finding>,
}

fn check_watcher(history: &WatchHistory, index: usize, watcher: &Watcher) -> Vec<Finding> {
    let expected: Vec<&Event> =
        history.committed.iter().filter(|e| watcher.covers(&e.key)).collect();
    let next = expected.partition_point(|e| e.revision < watcher.start_revision);
    let mut walk = Walk {
        watcher: index,
        expected,
        next,
        seen: BTreeSet::new(),
        last_revision: 0,
        findings: Vec::new(),
    };
    for (m, message) in watcher.received.iter().enumerate() {
        match message {
            Message::Events { events } => {
                for event in events {
                    walk.event(m, watcher, event);
                }
                walk.atomic(m);
            }
            Message::Progress { revision } => walk.progress(m, *revision),
            Message::Resume { start_revision } => walk.resume(m, *start_revision),
            Message::Canceled { .. } => break,
        }
    }
    walk.findings
}

impl<'a> Walk<'a> {
    fn report(&mut self, rule: &'static str, message: usize, text: String) {
        self.findings.push(finding(
            rule,
            vec![self.watcher, message],
            format!("watcher {}: {text}", self.watcher),
        ));
    }

    fn event(&mut self, m: usize, watcher: &Watcher, event: &Event) {
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
            self.report(
                "order",
                m,
                format!(
                    "received {} at revision {} after revision {}",
                    event.key, event.revision, self.last_revision
                ),
            );
        } else if position > self.next {
            let missed: Vec<String> = self.expected[self.next..position]
                .iter()
                .filter(|e| !self.seen.contains(&(e.revision, e.key.as_str())))
                .map(|e| format!("{}@{}", e.key, e.revision))
                .collect();
            if !missed.is_empty() {
                self.report(
                    "gap",
                    m,
                    format!(
                        "skipped {} committed event(s) before {}@{}: {}",
                        missed.len(),
                        event.key,
                        event.revision,
                        missed.join(", ")
                    ),
                );
            }
            self.next = position + 1;
        } else {
            self.next += 1;
        }
        if committed.kind != event.kind
            || (event.kind == EventKind::Put && event.value != committed.value)
        {
            self.report(
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
        } else if watcher.prev_kv && event.prev_value != committed.prev_value {
            self.report(
                "prev_kv",
                m,
                format!(
                    "{}@{} came with prev value {:?}, committed prev was {:?}",
                    event.key, event.revision, event.prev_value, committed.prev_value
                ),
            );
        }
        self.seen.insert((committed.revision, committed.key.as_str()));
        self.last_revision = self.last_revision.max(event.revision);
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
    }
}

fn kind(event: &Event) -> &'static str {
    match event.kind {
        EventKind::Put => "PUT",
        EventKind::Delete => "DELETE",
    }
}
