//! Behaviour tests that read like a spec: goldenscripts under `tests/scripts/`, one test each.
//!
//! Every command goes through [`StateMachine::apply`] (writes) or the state machine's read paths,
//! exactly as a member serves it. Lease expiry runs through the leader's [`ExpiryTracker`] on a
//! [`ManualClock`], and every expired lease becomes a `LeaseRevoke` command through `apply`.
//!
//! Commands (a `!` prefix expects an error; regenerate output with `UPDATE_GOLDENFILES=1`):
//!
//! ```text
//! put KEY VALUE [lease=L] [prev_kv=true] [ignore_value=true] [ignore_lease=true]
//! get KEY [end=END | prefix=true | from_key=true] [rev=N] [limit=N] [sort=asc|desc]
//!         [target=key|version|create|mod|value] [keys_only=true] [count_only=true]
//!         [min_mod=N] [max_mod=N] [min_create=N] [max_create=N]
//! del KEY [end=END | prefix=true | from_key=true] [prev_kv=true]
//! txn                      opens a txn (nested when one is open); then:
//!   if KEY TARGET "OP" VALUE [end=END | prefix=true]   TARGET: version|create|mod|value|lease,
//!                                                    OP: = != > <
//!   then | else            following put/get/del/txn go into that branch
//!   end                    closes the txn; the outermost one is applied
//! compact REV
//! grant TTL [id=N] [name=NAME]        lease grant; later lease arguments take NAME or a number
//! revoke L | keepalive L | ttl L [keys=true] | leases
//! clock ADVANCE_SECONDS | promote | demote | expire   leader-local expiry on a manual clock
//! events KEY [end=END | prefix=true | from_key=true] from=N [to=N]
//! hash [rev=N] | revision | dump | snapshot
//! ```

use detcd_core::api::*;
use detcd_core::apply::{Command, Response, StateMachine};
use detcd_core::clock::{Clock, ManualClock};
use detcd_core::kv::{Event, EventType, KeyRange, KeyValue, LeaseId};
use detcd_core::lease::ExpiryTracker;
use goldenscript::ArgumentConsumer;
use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::time::Duration;

#[macro_use]
#[path = "support/script_suite.rs"]
mod script_suite;

type Outcome = Result<String, Box<dyn Error>>;

/// A txn being written, and which branch ops go into.
struct OpenTxn {
    txn: TxnRequest,
    in_else: bool,
    in_branch: bool,
}

struct Runner {
    machine: StateMachine,
    expiry: ExpiryTracker,
    clock: ManualClock,
    index: u64,
    names: BTreeMap<String, LeaseId>,
    open: Vec<OpenTxn>,
}

impl Runner {
    fn new() -> Self {
        Runner {
            machine: StateMachine::new(),
            expiry: ExpiryTracker::new(),
            clock: ManualClock::new(),
            index: 0,
            names: BTreeMap::new(),
            open: Vec::new(),
        }
    }

    /// Applies one command as the next log entry; keeps the leader's tracker in step.
    fn apply(&mut self, command: Command) -> Result<(Response, Vec<Event>), Box<dyn Error>> {
        self.index += 1;
        let (result, events) = self.machine.apply(self.index, &command);
        self.expiry.sync(self.machine.lessor(), self.clock.now());
        Ok((result?, events))
    }

    fn lease(&self, text: &str) -> Result<LeaseId, Box<dyn Error>> {
        match self.names.get(text) {
            Some(id) => Ok(*id),
            None => Ok(text.parse()?),
        }
    }

    /// Adds an op to the open txn's current branch; false when no txn is open.
    fn add_op(&mut self, op: RequestOp) -> Result<bool, Box<dyn Error>> {
        let Some(open) = self.open.last_mut() else { return Ok(false) };
        if !open.in_branch {
            return Err("say `then` or `else` before ops".into());
        }
        if open.in_else {
            open.txn.failure.push(op);
        } else {
            open.txn.success.push(op);
        }
        Ok(true)
    }

    fn put(&mut self, args: &mut ArgumentConsumer) -> Outcome {
        let key = args.next_pos().ok_or("key")?;
        let value = args.next_pos().unwrap_or("");
        let lease = args.take_key("lease").map(|l| self.lease(l)).transpose()?.unwrap_or(0);
        let request = PutRequest {
            key: key.into(),
            value: value.into(),
            lease,
            prev_kv: flag(args, "prev_kv")?,
            ignore_value: flag(args, "ignore_value")?,
            ignore_lease: flag(args, "ignore_lease")?,
        };
        args.reject_next()?;
        if self.add_op(RequestOp::Put(request.clone()))? {
            return Ok(String::new());
        }
        let (response, _) = self.apply(Command::Put(request))?;
        let Response::Put(put) = response else { return Err("not a put response".into()) };
        Ok(fmt_put(&put, ""))
    }

    fn get(&mut self, args: &mut ArgumentConsumer) -> Outcome {
        let range = key_range(args)?;
        let request = RangeRequest {
            key: range.key,
            range_end: range.range_end,
            limit: number(args, "limit")?,
            revision: number(args, "rev")?,
            sort_order: match args.take_key("sort") {
                None => SortOrder::None,
                Some("asc") => SortOrder::Ascend,
                Some("desc") => SortOrder::Descend,
                Some(other) => return Err(format!("sort {other}").into()),
            },
            sort_target: match args.take_key("target") {
                None | Some("key") => SortTarget::Key,
                Some("version") => SortTarget::Version,
                Some("create") => SortTarget::Create,
                Some("mod") => SortTarget::Mod,
                Some("value") => SortTarget::Value,
                Some(other) => return Err(format!("target {other}").into()),
            },
            serializable: false,
            keys_only: flag(args, "keys_only")?,
            count_only: flag(args, "count_only")?,
            min_mod_revision: number(args, "min_mod")?,
            max_mod_revision: number(args, "max_mod")?,
            min_create_revision: number(args, "min_create")?,
            max_create_revision: number(args, "max_create")?,
        };
        args.reject_next()?;
        if self.add_op(RequestOp::Range(request.clone()))? {
            return Ok(String::new());
        }
        Ok(fmt_range(&self.machine.range(&request)?, ""))
    }

    fn del(&mut self, args: &mut ArgumentConsumer) -> Outcome {
        let range = key_range(args)?;
        let request = DeleteRangeRequest {
            key: range.key,
            range_end: range.range_end,
            prev_kv: flag(args, "prev_kv")?,
        };
        args.reject_next()?;
        if self.add_op(RequestOp::DeleteRange(request.clone()))? {
            return Ok(String::new());
        }
        let (response, _) = self.apply(Command::DeleteRange(request))?;
        let Response::DeleteRange(del) = response else { return Err("not a delete".into()) };
        Ok(fmt_delete(&del, ""))
    }

    fn compare(&mut self, args: &mut ArgumentConsumer) -> Outcome {
        let key = args.next_pos().ok_or("key")?;
        let target = args.next_pos().ok_or("target")?;
        let op = args.next_pos().ok_or("op")?;
        let operand = args.next_pos().unwrap_or("");
        let range_end = match (args.take_key("end"), flag(args, "prefix")?) {
            (Some(end), _) => end.as_bytes().to_vec(),
            (None, true) => KeyRange::prefix(key).range_end,
            (None, false) => Vec::new(),
        };
        args.reject_next()?;
        let target = match target {
            "version" => CompareTarget::Version(operand.parse()?),
            "create" => CompareTarget::Create(operand.parse()?),
            "mod" => CompareTarget::Mod(operand.parse()?),
            "value" => CompareTarget::Value(operand.into()),
            "lease" => CompareTarget::Lease(self.lease(operand)?),
            other => return Err(format!("target {other}").into()),
        };
        let result = match op {
            "=" => CompareResult::Equal,
            "!=" => CompareResult::NotEqual,
            ">" => CompareResult::Greater,
            "<" => CompareResult::Less,
            other => return Err(format!("op {other}").into()),
        };
        let open = self.open.last_mut().ok_or("`if` outside a txn")?;
        open.txn.compare.push(Compare { key: key.into(), range_end, target, result });
        Ok(String::new())
    }

    fn end_txn(&mut self) -> Outcome {
        let open = self.open.pop().ok_or("`end` outside a txn")?;
        if self.add_op(RequestOp::Txn(open.txn.clone()))? {
            return Ok(String::new());
        }
        let (response, events) = self.apply(Command::Txn(open.txn))?;
        let Response::Txn(txn) = response else { return Err("not a txn".into()) };
        let mut out = fmt_txn(&txn, "");
        for event in &events {
            writeln!(out, "event {}", fmt_event(event))?;
        }
        Ok(out)
    }

    fn grant(&mut self, args: &mut ArgumentConsumer) -> Outcome {
        let ttl = args.next_pos().ok_or("ttl")?.parse()?;
        let id = number(args, "id")?;
        let name = args.take_key("name");
        args.reject_next()?;
        let (response, _) = self.apply(Command::LeaseGrant(LeaseGrantRequest { ttl, id }))?;
        let Response::LeaseGrant(grant) = response else { return Err("not a grant".into()) };
        if let Some(name) = name {
            self.names.insert(name.to_string(), grant.id);
        }
        Ok(format!("lease {:016x} granted with TTL({}s)\n", grant.id, grant.ttl))
    }

    fn revoke(&mut self, id: LeaseId) -> Outcome {
        let (_, events) = self.apply(Command::LeaseRevoke(LeaseRevokeRequest { id }))?;
        let mut out = format!("lease {id:016x} revoked, rev={}\n", self.machine.revision());
        for event in &events {
            writeln!(out, "event {}", fmt_event(event))?;
        }
        Ok(out)
    }

    fn clock(&mut self, args: &mut ArgumentConsumer) -> Outcome {
        let what = args.next_pos().ok_or("clock what")?;
        let now = self.clock.now();
        match what {
            "promote" => self.expiry.promote(self.machine.lessor(), now),
            "demote" => self.expiry.demote(),
            "expire" => {
                let mut out = String::new();
                for id in self.expiry.expired(now) {
                    writeln!(out, "expired {id:016x}")?;
                    out.push_str(&self.revoke(id)?);
                }
                return Ok(out);
            }
            seconds => self.clock.advance(Duration::from_secs(seconds.parse()?)),
        }
        Ok(format!("now={}s primary={}\n", self.clock.now().as_secs(), self.expiry.is_primary()))
    }

    fn events(&mut self, args: &mut ArgumentConsumer) -> Outcome {
        let range = key_range(args)?;
        let from = number(args, "from")?;
        let to = args.take_key("to").map(str::parse).transpose()?.unwrap_or(i64::MAX);
        args.reject_next()?;
        let mut out = String::new();
        for event in self.machine.events(&range, from, to)? {
            writeln!(out, "{}", fmt_event(&event))?;
        }
        Ok(out)
    }

    fn dump(&self) -> Outcome {
        let all = RangeRequest { key: vec![0], range_end: vec![0], ..Default::default() };
        Ok(fmt_range(&self.machine.range(&all)?, ""))
    }
}

impl goldenscript::Runner for Runner {
    type Command = goldenscript::Command;

    fn run(&mut self, command: &goldenscript::Command, _: &goldenscript::Context) -> Outcome {
        let mut args = command.consume_args();
        let out = match command.name.as_str() {
            "put" => self.put(&mut args)?,
            "get" => self.get(&mut args)?,
            "del" => self.del(&mut args)?,
            "txn" => {
                let txn = TxnRequest::default();
                self.open.push(OpenTxn { txn, in_else: false, in_branch: false });
                String::new()
            }
            "if" => self.compare(&mut args)?,
            "then" | "else" => {
                let open = self.open.last_mut().ok_or("branch outside a txn")?;
                open.in_branch = true;
                open.in_else = command.name == "else";
                String::new()
            }
            "end" => self.end_txn()?,
            "compact" => {
                let revision = args.next_pos().ok_or("revision")?.parse()?;
                let request = CompactionRequest { revision, physical: false };
                let (response, _) = self.apply(Command::Compact(request))?;
                format!("compacted at {revision}, rev={}\n", response.header().revision)
            }
            "grant" => self.grant(&mut args)?,
            "revoke" => {
                let id = self.lease(args.next_pos().ok_or("lease")?)?;
                self.revoke(id)?
            }
            "keepalive" => {
                let id = self.lease(args.next_pos().ok_or("lease")?)?;
                let now = self.clock.now();
                let ttl = self.expiry.renew(self.machine.lessor(), id, now)?;
                format!("lease {id:016x} keepalived with TTL({ttl})\n")
            }
            "ttl" => {
                let id = self.lease(args.next_pos().ok_or("lease")?)?;
                let keys = flag(&mut args, "keys")?;
                let request = LeaseTimeToLiveRequest { id, keys };
                let r = self.machine.lease_time_to_live(&request, &self.expiry, self.clock.now());
                let keys: Vec<String> = r.keys.iter().map(|k| show(k)).collect();
                format!(
                    "lease {:016x} ttl={} granted={} keys=[{}]\n",
                    r.id,
                    r.ttl,
                    r.granted_ttl,
                    keys.join(", ")
                )
            }
            "leases" => {
                let ids: Vec<String> = self
                    .machine
                    .lease_leases()
                    .leases
                    .iter()
                    .map(|id| format!("{id:016x}"))
                    .collect();
                format!("leases [{}]\n", ids.join(", "))
            }
            "clock" => self.clock(&mut args)?,
            "events" => self.events(&mut args)?,
            "hash" => {
                let (hash, compacted) = self.machine.hash_kv(number(&mut args, "rev")?)?;
                format!("hash={hash:08x} compact_revision={compacted}\n")
            }
            "revision" => format!("rev={}\n", self.machine.revision()),
            "dump" => self.dump()?,
            "snapshot" => {
                let bytes = self.machine.snapshot();
                let restored = StateMachine::restore(&bytes)?;
                if restored != self.machine || restored.snapshot() != bytes {
                    return Err("snapshot did not round-trip".into());
                }
                format!("snapshot {} bytes, restored exactly\n", bytes.len())
            }
            name => return Err(format!("unknown command {name}").into()),
        };
        args.reject_next()?;
        Ok(out)
    }

    fn end_script(&mut self) -> Result<(), Box<dyn Error>> {
        if !self.open.is_empty() {
            return Err("a txn was left open".into());
        }
        Ok(())
    }
}

fn flag(args: &mut ArgumentConsumer, key: &str) -> Result<bool, Box<dyn Error>> {
    Ok(args.take_key(key).map(str::parse).transpose()?.unwrap_or(false))
}

fn number(args: &mut ArgumentConsumer, key: &str) -> Result<i64, Box<dyn Error>> {
    Ok(args.take_key(key).map(str::parse).transpose()?.unwrap_or(0))
}

fn key_range(args: &mut ArgumentConsumer) -> Result<KeyRange, Box<dyn Error>> {
    let key = args.next_pos().unwrap_or("");
    if flag(args, "prefix")? {
        return Ok(KeyRange::prefix(key));
    }
    if flag(args, "from_key")? {
        return Ok(KeyRange { key: key.into(), range_end: vec![0] });
    }
    let range_end = args.take_key("end").unwrap_or("").into();
    Ok(KeyRange { key: key.into(), range_end })
}

fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

fn fmt_kv(kv: &KeyValue) -> String {
    let lease = if kv.lease != 0 { format!(" lease={:016x}", kv.lease) } else { String::new() };
    format!(
        "{}={} (create={} mod={} version={}{lease})",
        show(&kv.key),
        show(&kv.value),
        kv.create_revision,
        kv.mod_revision,
        kv.version
    )
}

fn fmt_event(event: &Event) -> String {
    let prev = match &event.prev_kv {
        Some(prev) => format!(" prev={}", fmt_kv(prev)),
        None => String::new(),
    };
    match event.kind {
        EventType::Put => format!("PUT {}{prev}", fmt_kv(&event.kv)),
        EventType::Delete => {
            format!("DELETE {} (mod={}){prev}", show(&event.kv.key), event.kv.mod_revision)
        }
    }
}

fn fmt_put(put: &PutResponse, indent: &str) -> String {
    let mut out = format!("{indent}put rev={}\n", put.header.revision);
    if let Some(prev) = &put.prev_kv {
        out.push_str(&format!("{indent}  prev {}\n", fmt_kv(prev)));
    }
    out
}

fn fmt_range(range: &RangeResponse, indent: &str) -> String {
    let mut out = String::new();
    for kv in &range.kvs {
        out.push_str(&format!("{indent}{}\n", fmt_kv(kv)));
    }
    let (count, more, rev) = (range.count, range.more, range.header.revision);
    out.push_str(&format!("{indent}count={count} more={more} rev={rev}\n"));
    out
}

fn fmt_delete(del: &DeleteRangeResponse, indent: &str) -> String {
    let mut out = format!("{indent}deleted={} rev={}\n", del.deleted, del.header.revision);
    for kv in &del.prev_kvs {
        out.push_str(&format!("{indent}  prev {}\n", fmt_kv(kv)));
    }
    out
}

fn fmt_txn(txn: &TxnResponse, indent: &str) -> String {
    let mut out = format!("{indent}succeeded={} rev={}\n", txn.succeeded, txn.header.revision);
    let inner = format!("{indent}  ");
    for op in &txn.responses {
        match op {
            ResponseOp::Range(r) => out.push_str(&fmt_range(r, &inner)),
            ResponseOp::Put(r) => out.push_str(&fmt_put(r, &inner)),
            ResponseOp::DeleteRange(r) => out.push_str(&fmt_delete(r, &inner)),
            ResponseOp::Txn(t) => out.push_str(&fmt_txn(t, &inner)),
        }
    }
    out
}

script_suite!(
    "scripts",
    Runner::new(),
    [
        kv_basics,
        prefix_and_ranges,
        range_options,
        revisions,
        txn_bank,
        txn_lock,
        txn_rules,
        lease,
        lease_expiry,
        events,
        compaction,
        errors,
        recipes_on_kv,
        watch_from
    ]
);
