//! Auth: no operation succeeded without the permission in force at its place in the log, and
//! no operation was denied while the history says its permission was in force throughout.
//!
//! Input ([`AuthHistory`]): the roles' permissions and the users' roles at the start
//! (`initial`), the permission and role changes an administrator made while users worked
//! (`changes`: each with its outcome and, when it succeeded, the revision in its header), and the
//! users' operations (`ops`: what each needed, its outcome and the revision in its header).
//!
//! Where an operation sits among the changes is read from revisions, as etcd orders them: a
//! change's header names the key-space revision the log had reached when it applied. A change
//! with header revision `c` is before a write that made revision `w` exactly when `c < w`; a
//! read (or a write that changed nothing) with header revision `r` is after every change with
//! `c < r`, before every change with `c > r`, and on either side of a change with `c == r`.
//! A denied operation has no header: it was judged somewhere in its real-time window, so the
//! changes that returned before it was called are before it, those called after it returned are
//! after it, the rest on either side. A serializable read is judged by a replica that may be
//! behind: nothing is surely before its denial. An unknown change may have applied at any point
//! after its call, or never.
//!
//! So each permission slot (a role's key range) and each membership (a user's role) has a set
//! of values it may have had at an operation: the value of the last changes surely before it
//! (or the initial one), and the value of every change that may be between. Allowing is
//! monotone in permissions, so two states bound them all: the most permissive (every slot at
//! its most permissive possible value) and the least.
//!
//! Rules (records: `[op index]`):
//! - `unpermitted`: an operation succeeded that even the most permissive possible state does not
//!   allow (some key it reads or writes was not covered);
//! - `unexplained_denial`: an operation was denied `permission denied` that even the least
//!   permissive possible state allows;
//! - `unexplained_old_revision`: an operation was refused `auth old revision` although no change
//!   can have applied before it returned (the caller's revision is resolved on the replica it
//!   reaches, which may be behind; any change before that may explain it).
//!
//! Other refusals (an unknown token, an anonymous caller) are about who the caller is, not what
//! it may do, and are not judged. Keys are strings; a `range_end` of `""` is the one key and
//! `"\u0000"` every key from `key` on, as etcd spells them.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::verdict::{finding, Finding, SafetyVerdict};

/// What a permission allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Read,
    Write,
    Readwrite,
}

impl Kind {
    /// Whether a permission of this kind allows `wanted` (`Read` or `Write`).
    pub fn allows(self, wanted: Kind) -> bool {
        self == Kind::Readwrite || self == wanted
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub role: String,
    pub key: String,
    #[serde(default)]
    pub range_end: String,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub user: String,
    pub role: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Initial {
    pub permissions: Vec<Permission>,
    pub roles: Vec<Membership>,
}

/// One change an administrator asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Grant(Permission),
    Revoke { role: String, key: String, range_end: String },
    GrantRole(Membership),
    RevokeRole(Membership),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOutcome {
    Ok,
    /// Refused: surely no effect.
    Failed,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub change: ChangeKind,
    pub call: f64,
    /// When it returned (`None` for an unknown outcome).
    pub ret: Option<f64>,
    pub outcome: ChangeOutcome,
    /// The revision in its header (when it succeeded).
    #[serde(default)]
    pub revision: Option<i64>,
}

/// One key or range an operation reads or writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Need {
    /// `Read` or `Write`.
    pub kind: Kind,
    pub key: String,
    #[serde(default)]
    pub range_end: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpOutcome {
    Ok,
    /// `permission denied`.
    Denied,
    /// `auth old revision`.
    OldRevision,
    /// Refused for another reason (not judged).
    Other,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserOp {
    pub user: String,
    /// Everything the request reads or writes (for a txn: every compare and both branches).
    pub needs: Vec<Need>,
    pub call: f64,
    pub ret: Option<f64>,
    pub outcome: OpOutcome,
    /// The revision in its header (when it succeeded).
    #[serde(default)]
    pub revision: Option<i64>,
    /// Whether it made a new revision (a put; a delete or txn that changed something).
    #[serde(default)]
    pub wrote: bool,
    /// A serializable read (judged by a replica that may be behind).
    #[serde(default)]
    pub serializable: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AuthHistory {
    pub initial: Initial,
    pub changes: Vec<Change>,
    pub ops: Vec<UserOp>,
}

/// Where a change sits relative to an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Before,
    Either,
    After,
}

/// What a slot holds: a permission's kind (or none), or whether a user has a role.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Permission { role: String, key: String, range_end: String },
    Member { user: String, role: String },
}

/// A slot's value: `Some(kind)` for a permission (or `Some(Readwrite)` for a held role), `None`
/// for no permission (or a role not held).
type Value = Option<Kind>;

fn effect(change: &ChangeKind) -> (Slot, Value) {
    match change {
        ChangeKind::Grant(p) => (permission_slot(&p.role, &p.key, &p.range_end), Some(p.kind)),
        ChangeKind::Revoke { role, key, range_end } => {
            (permission_slot(role, key, range_end), None)
        }
        ChangeKind::GrantRole(m) => (member_slot(m), Some(Kind::Readwrite)),
        ChangeKind::RevokeRole(m) => (member_slot(m), None),
    }
}

fn permission_slot(role: &str, key: &str, range_end: &str) -> Slot {
    Slot::Permission { role: role.into(), key: key.into(), range_end: range_end.into() }
}

fn member_slot(m: &Membership) -> Slot {
    Slot::Member { user: m.user.clone(), role: m.role.clone() }
}

/// Whether change `a` surely applied before change `b` (both succeeded or may have).
fn precedes(a: &Change, b: &Change) -> bool {
    let by_revision = matches!((a.revision, b.revision), (Some(x), Some(y)) if x < y);
    let by_time = a.ret.is_some_and(|ret| ret < b.call);
    by_revision || by_time
}

/// Where `change` sits relative to `op` (see the module docs).
fn side(change: &Change, op: &UserOp) -> Side {
    let op_ret = op.ret.unwrap_or(f64::INFINITY);
    if change.call > op_ret {
        return Side::After;
    }
    if change.outcome == ChangeOutcome::Unknown {
        return Side::Either;
    }
    if op.outcome == OpOutcome::Ok {
        if let (Some(c), Some(r)) = (change.revision, op.revision) {
            return match (c.cmp(&r), op.wrote) {
                (std::cmp::Ordering::Less, _) => Side::Before,
                (std::cmp::Ordering::Equal, false) => Side::Either,
                _ => Side::After,
            };
        }
    }
    match change.ret {
        Some(ret) if ret < op.call && !op.serializable => Side::Before,
        _ => Side::Either,
    }
}

/// Each slot's possible values at `op`.
fn possible(history: &AuthHistory, op: &UserOp) -> BTreeMap<Slot, Vec<Value>> {
    let mut initial: BTreeMap<Slot, Value> = BTreeMap::new();
    for p in &history.initial.permissions {
        initial.insert(permission_slot(&p.role, &p.key, &p.range_end), Some(p.kind));
    }
    for m in &history.initial.roles {
        initial.insert(member_slot(m), Some(Kind::Readwrite));
    }
    let mut before: BTreeMap<Slot, Vec<&Change>> = BTreeMap::new();
    let mut either: BTreeMap<Slot, Vec<Value>> = BTreeMap::new();
    for change in history.changes.iter().filter(|c| c.outcome != ChangeOutcome::Failed) {
        let (slot, value) = effect(&change.change);
        match side(change, op) {
            Side::Before => before.entry(slot).or_default().push(change),
            Side::Either => either.entry(slot).or_default().push(value),
            Side::After => {}
        }
    }
    let mut slots: BTreeMap<Slot, Vec<Value>> = BTreeMap::new();
    let names = initial.keys().chain(before.keys()).chain(either.keys()).cloned();
    for slot in names.collect::<Vec<_>>() {
        let mut values: Vec<Value> = match before.get(&slot) {
            // The last of them: those no other surely follows.
            Some(changes) => changes
                .iter()
                .filter(|c| !changes.iter().any(|d| precedes(c, d)))
                .map(|c| effect(&c.change).1)
                .collect(),
            None => vec![initial.get(&slot).cloned().flatten()],
        };
        values.extend(either.get(&slot).into_iter().flatten().cloned());
        slots.insert(slot, values);
    }
    slots
}

/// The permissions `user` has for `wanted` in the bounding state: the most permissive one
/// (`most`) or the least.
fn permissions(
    slots: &BTreeMap<Slot, Vec<Value>>,
    user: &str,
    wanted: Kind,
    most: bool,
) -> Vec<(String, String)> {
    let holds = |values: &Vec<Value>, test: &dyn Fn(Value) -> bool| match most {
        true => values.iter().any(|v| test(*v)),
        false => values.iter().all(|v| test(*v)),
    };
    let has_role = |role: &str| {
        let slot = Slot::Member { user: user.into(), role: role.into() };
        slots.get(&slot).is_some_and(|values| holds(values, &|v| v.is_some()))
    };
    slots
        .iter()
        .filter_map(|(slot, values)| match slot {
            Slot::Permission { role, key, range_end } => {
                let allows = holds(values, &|v| v.is_some_and(|k| k.allows(wanted)));
                (allows && has_role(role)).then(|| (key.clone(), range_end.clone()))
            }
            Slot::Member { .. } => None,
        })
        .collect()
}

/// Whether `granted` (key, range_end) cover every key of `key..range_end` (etcd's rule: a
/// range must be covered without a gap; an empty range is never covered).
pub fn covers(granted: &[(String, String)], key: &str, range_end: &str) -> bool {
    // Half-open intervals over byte strings; `None` as an end is unbounded.
    fn interval(key: &str, range_end: &str) -> (Vec<u8>, Option<Vec<u8>>) {
        let end = match range_end {
            "" => Some([key.as_bytes(), &[0]].concat()),
            "\0" => None,
            end => Some(end.as_bytes().to_vec()),
        };
        (key.as_bytes().to_vec(), end)
    }
    let (start, end) = interval(key, range_end);
    if end.as_ref().is_some_and(|end| *end <= start) {
        return false;
    }
    let mut pieces: Vec<_> = granted.iter().map(|(k, e)| interval(k, e)).collect();
    pieces.sort();
    let mut reached = start;
    for (from, to) in pieces {
        if from > reached {
            break;
        }
        match to {
            None => return true,
            Some(to) if to > reached => reached = to,
            Some(_) => {}
        }
        if end.as_ref().is_some_and(|end| reached >= *end) {
            return true;
        }
    }
    false
}

/// The first need of `op` the bounding state (see [`permissions`]) does not cover.
fn uncovered<'a>(
    slots: &BTreeMap<Slot, Vec<Value>>,
    op: &'a UserOp,
    most: bool,
) -> Option<&'a Need> {
    op.needs.iter().find(|need| {
        let granted = permissions(slots, &op.user, need.kind, most);
        !covers(&granted, &need.key, &need.range_end)
    })
}

fn describe(need: &Need) -> String {
    match need.range_end.as_str() {
        "" => format!("{:?} {}", need.kind, need.key),
        "\0" => format!("{:?} {}..", need.kind, need.key),
        end => format!("{:?} {}..{end}", need.kind, need.key),
    }
}

/// Checks the users' operations against the permissions the changes put in force.
pub fn check(history: &AuthHistory) -> SafetyVerdict {
    let mut findings: Vec<Finding> = Vec::new();
    for (i, op) in history.ops.iter().enumerate() {
        let when = format!("t={}..{}", op.call, op.ret.map_or("?".into(), |r| r.to_string()));
        match op.outcome {
            OpOutcome::Ok => {
                let slots = possible(history, op);
                if let Some(need) = uncovered(&slots, op, true) {
                    findings.push(finding(
                        "unpermitted",
                        vec![i],
                        format!(
                            "user {} succeeded at {when} (revision {:?}) without {}: no permission that may have been in force allowed it",
                            op.user,
                            op.revision,
                            describe(need)
                        ),
                    ));
                }
            }
            OpOutcome::Denied => {
                let slots = possible(history, op);
                if uncovered(&slots, op, false).is_none() {
                    findings.push(finding(
                        "unexplained_denial",
                        vec![i],
                        format!(
                            "user {} was denied at {when} though every permission it needed was in force throughout",
                            op.user
                        ),
                    ));
                }
            }
            OpOutcome::OldRevision => {
                let ret = op.ret.unwrap_or(f64::INFINITY);
                let any = history
                    .changes
                    .iter()
                    .any(|c| c.outcome != ChangeOutcome::Failed && c.call < ret);
                if !any {
                    findings.push(finding(
                        "unexplained_old_revision",
                        vec![i],
                        format!(
                            "user {} was refused 'auth old revision' at {when} though no permission had changed",
                            op.user
                        ),
                    ));
                }
            }
            OpOutcome::Other | OpOutcome::Unknown => {}
        }
    }
    SafetyVerdict::from_findings(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(role: &str, key: &str, range_end: &str, kind: Kind) -> Permission {
        Permission { role: role.into(), key: key.into(), range_end: range_end.into(), kind }
    }

    fn history() -> AuthHistory {
        AuthHistory {
            initial: Initial {
                permissions: vec![perm("r", "a", "", Kind::Readwrite)],
                roles: vec![Membership { user: "u".into(), role: "r".into() }],
            },
            changes: Vec::new(),
            ops: Vec::new(),
        }
    }

    fn write(key: &str, call: f64, ret: f64, outcome: OpOutcome, revision: i64) -> UserOp {
        UserOp {
            user: "u".into(),
            needs: vec![Need { kind: Kind::Write, key: key.into(), range_end: String::new() }],
            call,
            ret: Some(ret),
            outcome,
            revision: (outcome == OpOutcome::Ok).then_some(revision),
            wrote: true,
            serializable: false,
        }
    }

    fn change(change: ChangeKind, call: f64, ret: f64, revision: i64) -> Change {
        let outcome = ChangeOutcome::Ok;
        Change { change, call, ret: Some(ret), outcome, revision: Some(revision) }
    }

    fn grant_b(call: f64, ret: f64, revision: i64) -> Change {
        change(ChangeKind::Grant(perm("r", "b", "", Kind::Write)), call, ret, revision)
    }

    fn revoke_a(call: f64, ret: f64, revision: i64) -> Change {
        let revoke = ChangeKind::Revoke { role: "r".into(), key: "a".into(), range_end: "".into() };
        change(revoke, call, ret, revision)
    }

    #[test]
    fn covers_follows_etcd_ranges() {
        let granted = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter().map(|(k, e)| (k.to_string(), e.to_string())).collect()
        };
        assert!(covers(&granted(&[("a", "")]), "a", ""));
        assert!(!covers(&granted(&[("a", "")]), "a", "b"), "a range is more than its key");
        assert!(covers(&granted(&[("a", "c"), ("c", "\0")]), "b", "\0"));
        assert!(!covers(&granted(&[("a", "b"), ("c", "d")]), "a", "d"), "a gap");
        assert!(!covers(&granted(&[("a", "\0")]), "b", "a"), "an empty range");
    }

    #[test]
    fn writes_are_judged_at_their_revision() {
        let mut h = history();
        h.changes = vec![grant_b(1.0, 2.0, 5)];
        // Before the grant (revision 5 is the change's; a write making 5 came before it).
        h.ops =
            vec![write("b", 0.0, 3.0, OpOutcome::Ok, 5), write("b", 0.0, 3.0, OpOutcome::Ok, 6)];
        let verdict = check(&h);
        assert!(verdict.broke("unpermitted"));
        assert_eq!(verdict.findings().len(), 1);
        assert_eq!(verdict.findings()[0].records, vec![0]);
    }

    #[test]
    fn a_read_at_the_changes_revision_may_sit_on_either_side() {
        let mut h = history();
        h.changes = vec![grant_b(1.0, 2.0, 5)];
        let mut read = write("b", 0.0, 3.0, OpOutcome::Ok, 5);
        read.needs[0].kind = Kind::Read;
        read.wrote = false;
        h.initial.permissions[0] = perm("r", "a", "", Kind::Readwrite);
        h.changes[0].change = ChangeKind::Grant(perm("r", "b", "", Kind::Read));
        h.ops = vec![read.clone()];
        assert!(check(&h).is_ok());
        read.revision = Some(4);
        h.ops = vec![read];
        assert!(check(&h).broke("unpermitted"));
    }

    #[test]
    fn an_unknown_grant_may_have_applied_and_a_failed_one_did_not() {
        let mut h = history();
        let mut grant = grant_b(1.0, 2.0, 5);
        grant.outcome = ChangeOutcome::Unknown;
        grant.ret = None;
        grant.revision = None;
        h.changes = vec![grant.clone()];
        h.ops = vec![write("b", 3.0, 4.0, OpOutcome::Ok, 9)];
        assert!(check(&h).is_ok());
        grant.outcome = ChangeOutcome::Failed;
        h.changes = vec![grant];
        assert!(check(&h).broke("unpermitted"));
        h.changes[0].call = 5.0;
        h.changes[0].outcome = ChangeOutcome::Unknown;
        assert!(check(&h).broke("unpermitted"), "called after the write returned");
    }

    #[test]
    fn a_denial_needs_a_state_in_its_window_that_forbids() {
        let mut h = history();
        h.changes = vec![revoke_a(5.0, 6.0, 7)];
        h.ops = vec![
            write("a", 1.0, 2.0, OpOutcome::Denied, 0),
            write("a", 4.0, 5.5, OpOutcome::Denied, 0),
            write("a", 7.0, 8.0, OpOutcome::Denied, 0),
        ];
        let verdict = check(&h);
        assert_eq!(verdict.findings().len(), 1, "{verdict:?}");
        assert_eq!(verdict.findings()[0].rule, "unexplained_denial");
        assert_eq!(verdict.findings()[0].records, vec![0]);
    }

    #[test]
    fn roles_count_only_while_held() {
        let mut h = history();
        let member = Membership { user: "u".into(), role: "r".into() };
        h.changes = vec![change(ChangeKind::RevokeRole(member), 1.0, 2.0, 3)];
        h.ops =
            vec![write("a", 3.0, 4.0, OpOutcome::Ok, 4), write("a", 0.0, 0.5, OpOutcome::Ok, 2)];
        let verdict = check(&h);
        assert_eq!(verdict.findings().len(), 1);
        assert_eq!(verdict.findings()[0].records, vec![0]);
    }

    #[test]
    fn old_revision_needs_a_change_before_it_returned() {
        let mut h = history();
        h.changes = vec![revoke_a(5.0, 6.0, 7)];
        h.ops = vec![
            write("a", 1.0, 2.0, OpOutcome::OldRevision, 0),
            write("a", 4.0, 5.5, OpOutcome::OldRevision, 0),
        ];
        let verdict = check(&h);
        assert_eq!(verdict.findings().len(), 1);
        assert_eq!(verdict.findings()[0].rule, "unexplained_old_revision");
        assert_eq!(verdict.findings()[0].records, vec![0]);
    }
}
