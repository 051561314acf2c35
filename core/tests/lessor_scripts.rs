//! The lessor as transcripts: goldenscripts under `tests/lessor/`, one test each.
//!
//! Leases have no I/O: the replicated [`Lessor`] changes only by grant, revoke and the store's
//! events, and the leader's [`ExpiryTracker`] only by the times its caller passes in. A script
//! drives both directly, with a clock that moves only when told, and the store reduced to what
//! the lessor sees of it: put and delete events carrying each key's lease. `checkpoint` and
//! `restore` take the lessor through its serialized form, as a snapshot does.
//!
//! Commands (a `!` prefix expects an error; regenerate output with `UPDATE_GOLDENFILES=1`):
//!
//! ```text
//! lessor [min_ttl=N]                a fresh lessor and tracker, the clock at 0
//! grant TTL [id=N] [name=NAME]      later commands take NAME or the id in decimal
//! revoke L                          prints the keys the caller must delete (and deletes them)
//! put KEY [lease=L] | del KEY       a store change, as the event the lessor follows
//! leases                            every lease: id, granted TTL, keys
//! promote | demote                  the tracker becomes primary (leader) or stops
//! clock SECONDS                     moves time on
//! sync                              the tracker follows the lessor (after an apply)
//! keepalive L | remaining L | expired
//! checkpoint | restore              the lessor to bytes; a lessor from them (a fresh tracker)
//! ```

use detcd_core::api::LeaseGrantRequest;
use detcd_core::kv::{Event, EventType, KeyValue, LeaseId};
use detcd_core::lease::{ExpiryTracker, Lessor};
use goldenscript::ArgumentConsumer;
use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::time::Duration;

#[macro_use]
#[path = "support/script_suite.rs"]
mod script_suite;

type Outcome = Result<String, Box<dyn Error>>;

struct Runner {
    lessor: Lessor,
    tracker: ExpiryTracker,
    now: Duration,
    names: BTreeMap<String, LeaseId>,
    /// The store as the lessor sees it: each live key and its lease (0: none).
    keys: BTreeMap<Vec<u8>, LeaseId>,
    checkpoint: Option<Vec<u8>>,
}

impl Runner {
    fn new(min_ttl: i64) -> Self {
        Runner {
            lessor: Lessor::new(min_ttl),
            tracker: ExpiryTracker::new(),
            now: Duration::ZERO,
            names: BTreeMap::new(),
            keys: BTreeMap::new(),
            checkpoint: None,
        }
    }

    fn lease(&self, args: &mut ArgumentConsumer) -> Result<LeaseId, Box<dyn Error>> {
        let text = args.next_pos().ok_or("lease")?;
        match self.names.get(text) {
            Some(id) => Ok(*id),
            None => Ok(text.parse()?),
        }
    }

    fn name(&self, id: LeaseId) -> String {
        match self.names.iter().find(|(_, named)| **named == id) {
            Some((name, _)) => name.clone(),
            None => id.to_string(),
        }
    }

    /// Changes `key` in the store model and hands the lessor the event a store would make.
    fn change(&mut self, key: &[u8], lease: Option<LeaseId>) -> Outcome {
        let prev_kv = self.keys.get(key).map(|&lease| KeyValue {
            key: key.to_vec(),
            lease,
            ..KeyValue::default()
        });
        let (kind, kv) = match lease {
            Some(lease) => {
                self.keys.insert(key.to_vec(), lease);
                (EventType::Put, KeyValue { key: key.to_vec(), lease, ..KeyValue::default() })
            }
            None => {
                if self.keys.remove(key).is_none() {
                    return Ok("nothing to delete\n".into());
                }
                (EventType::Delete, KeyValue { key: key.to_vec(), ..KeyValue::default() })
            }
        };
        self.lessor.apply_events(&[Event { kind, kv, prev_kv }]);
        Ok(String::new())
    }

    fn leases(&self) -> Outcome {
        let mut out = String::new();
        for lease in self.lessor.leases() {
            let keys: Vec<String> =
                lease.keys.iter().map(|k| k.escape_ascii().to_string()).collect();
            writeln!(out, "{} ttl={} keys=[{}]", self.name(lease.id), lease.ttl, keys.join(" "))?;
        }
        if out.is_empty() {
            out.push_str("no leases\n");
        }
        Ok(out)
    }
}

impl goldenscript::Runner for Runner {
    type Command = goldenscript::Command;

    fn run(&mut self, command: &goldenscript::Command, _: &goldenscript::Context) -> Outcome {
        let mut args = command.consume_args();
        let out = match command.name.as_str() {
            "lessor" => {
                let min_ttl = args.take_key("min_ttl").map(str::parse).transpose()?;
                *self = Runner::new(min_ttl.unwrap_or(detcd_core::lease::DEFAULT_MIN_TTL));
                String::new()
            }
            "grant" => {
                let ttl = args.next_pos().ok_or("ttl")?.parse()?;
                let id = args.take_key("id").map(str::parse).transpose()?.unwrap_or(0);
                let name = args.take_key("name").map(str::to_string);
                let (id, ttl) = self.lessor.grant(&LeaseGrantRequest { ttl, id })?;
                if let Some(name) = name {
                    self.names.insert(name, id);
                }
                format!("granted {} ({id:016x}) ttl={ttl}\n", self.name(id))
            }
            "revoke" => {
                let id = self.lease(&mut args)?;
                let keys = self.lessor.revoke(id)?;
                let mut shown = Vec::new();
                for key in &keys {
                    self.change(key, None)?;
                    shown.push(key.escape_ascii().to_string());
                }
                format!("revoked {}, deleting [{}]\n", self.name(id), shown.join(" "))
            }
            "put" => {
                let key = args.next_pos().ok_or("key")?.as_bytes().to_vec();
                let lease = match args.take_key("lease") {
                    Some(text) => match self.names.get(text) {
                        Some(id) => *id,
                        None => text.parse()?,
                    },
                    None => 0,
                };
                self.change(&key, Some(lease))?
            }
            "del" => {
                let key = args.next_pos().ok_or("key")?.as_bytes().to_vec();
                self.change(&key, None)?
            }
            "leases" => self.leases()?,
            "promote" => {
                self.tracker.promote(&self.lessor, self.now);
                format!("primary at {}s\n", self.now.as_secs())
            }
            "demote" => {
                self.tracker.demote();
                "not primary\n".to_string()
            }
            "clock" => {
                self.now += Duration::from_secs(args.next_pos().ok_or("seconds")?.parse()?);
                format!("now={}s\n", self.now.as_secs())
            }
            "sync" => {
                self.tracker.sync(&self.lessor, self.now);
                String::new()
            }
            "keepalive" => {
                let id = self.lease(&mut args)?;
                let ttl = self.tracker.renew(&self.lessor, id, self.now)?;
                format!("{} kept alive, ttl={ttl}\n", self.name(id))
            }
            "remaining" => {
                let id = self.lease(&mut args)?;
                match self.tracker.remaining(id, self.now) {
                    Some(left) => format!("{} has {left}s left\n", self.name(id)),
                    None => format!("{} is not counted here\n", self.name(id)),
                }
            }
            "expired" => {
                let expired: Vec<String> =
                    self.tracker.expired(self.now).into_iter().map(|id| self.name(id)).collect();
                format!("expired [{}]\n", expired.join(" "))
            }
            "checkpoint" => {
                let bytes = postcard::to_allocvec(&self.lessor)?;
                let out = format!("checkpoint of {} leases\n", self.lessor.ids().len());
                self.checkpoint = Some(bytes);
                out
            }
            "restore" => {
                let bytes = self.checkpoint.as_ref().ok_or("no checkpoint")?;
                let restored: Lessor = postcard::from_bytes(bytes)?;
                let since = if restored == self.lessor {
                    "nothing changed"
                } else {
                    "undoing later changes"
                };
                self.lessor = restored;
                self.tracker = ExpiryTracker::new();
                format!("restored {} leases ({since}), tracker fresh\n", self.lessor.ids().len())
            }
            name => return Err(format!("unknown command {name}").into()),
        };
        args.reject_next()?;
        Ok(out)
    }
}

script_suite!(
    "lessor",
    Runner::new(detcd_core::lease::DEFAULT_MIN_TTL),
    [grant_attach_revoke, keepalive_and_expiry, checkpoint_and_restore]
);
