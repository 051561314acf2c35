//! Lock: mutual exclusion, fencing tokens, and what a lock-protected resource saw.
//!
//! Input ([`LockHistory`]): the holds (who had the lock, from when the lock call returned until
//! the unlock returned, with the fencing token = the lock key's create revision, and when the
//! holder's lease expired if it did), and the writes a lock-protected counter applied, in the
//! order it applied them (each write carries the value its writer read and the value it wrote,
//! and the writer's token).
//!
//! Rules:
//! - `mutual_exclusion`: two holds overlap, and neither holder's lease had expired by then. A
//!   holder whose lease expired (a paused process) is no longer the owner; the lock is only
//!   advisory from then on, which is why resources must be fenced. A hold whose lease may have
//!   expired before the hold began (`lease_expired` earlier than `acquired`: the lock call
//!   returned to a client whose key was already gone) never owned the lock, so it cannot break
//!   anyone's exclusion.
//! - `token_order`: tokens must strictly increase in the order holds began (among holds that
//!   owned the lock when they began, as above).
//! - `lost_update`: a write computed from a value the counter no longer had (someone else's
//!   write came between its read and its write): that update is lost. With fencing (the
//!   resource rejects tokens older than the newest it accepted) a paused holder's stale write is
//!   refused, so no update is lost; without it this rule catches the loss.
//! - `fencing`: with `fenced: true`, an applied write's token is older than one already applied.
//! - `expired_owner` (needs `keys`, the lock's keys as the committed log saw them): a lock call
//!   returned to a session whose key was deleted (its lease expired) before every older key under
//!   the prefix was gone, i.e. before the lock was ever free for it. The holder never owned the
//!   lock, and the recipe handed it over anyway. This is what tells a recipe that skips its
//!   "is my key still there?" check apart from the honest race the rules above excuse: there the
//!   key outlives the moment the lock became free (the recipe read it after that moment) and the
//!   lease dies afterwards, which a client cannot tell from "before" but the log can.
//!
//! Records: hold indices for `mutual_exclusion`, `token_order` and `expired_owner`, write indices
//! for `lost_update` and `fencing`.

use serde::{Deserialize, Serialize};

use crate::verdict::{end, finding, Finding, SafetyVerdict};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LockHistory {
    pub holds: Vec<Hold>,
    /// Writes in the order the protected resource applied them.
    #[serde(default)]
    pub writes: Vec<ProtectedWrite>,
    /// The counter's value before any write.
    #[serde(default)]
    pub initial: i64,
    /// Whether the resource was meant to reject stale tokens.
    #[serde(default)]
    pub fenced: bool,
    /// Every key ever created under the lock's prefix, from the committed log (empty: unknown,
    /// and `expired_owner` is not judged).
    #[serde(default)]
    pub keys: Vec<LockKey>,
}

/// One incarnation of a key under the lock's prefix, in revisions of the committed log.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct LockKey {
    /// Its create revision (a hold's token names it).
    pub created: i64,
    /// The revision that deleted it (unlock, lease expiry, a lock call giving up); `None`: never.
    #[serde(default)]
    pub deleted: Option<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hold {
    pub client: u64,
    /// The fencing token: the lock key's create revision.
    pub token: i64,
    /// When the lock call returned.
    pub acquired: f64,
    /// When the unlock call returned (`None`: never, or unknown).
    #[serde(default)]
    pub released: Option<f64>,
    /// When the holder's lease expired, if it did while holding.
    #[serde(default)]
    pub lease_expired: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProtectedWrite {
    pub client: u64,
    pub token: i64,
    /// The counter value the writer read (under the lock).
    pub read: i64,
    /// The value it wrote.
    pub wrote: i64,
    pub time: f64,
}

/// Checks a lock history.
pub fn check(history: &LockHistory) -> SafetyVerdict {
    let mut findings = mutual_exclusion(&history.holds);
    findings.extend(token_order(&history.holds));
    findings.extend(lost_updates(history));
    findings.extend(expired_owners(history));
    SafetyVerdict::from_findings(findings)
}

/// When a hold stopped being legitimate: unlock or lease expiry, whichever came first.
fn legitimate_until(hold: &Hold) -> f64 {
    end(hold.released).min(end(hold.lease_expired))
}

/// Whether the hold owned the lock when it began: its lease had not (possibly) expired yet.
fn owned_at_start(hold: &Hold) -> bool {
    hold.lease_expired.is_none_or(|expired| expired >= hold.acquired)
}

fn mutual_exclusion(holds: &[Hold]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, a) in holds.iter().enumerate() {
        for (j, b) in holds.iter().enumerate().skip(i + 1) {
            let (first, second, fi, si) =
                if a.acquired <= b.acquired { (a, b, i, j) } else { (b, a, j, i) };
            if owned_at_start(second) && second.acquired < legitimate_until(first) {
                findings.push(finding(
                    "mutual_exclusion",
                    vec![fi, si],
                    format!(
                        "client {} acquired the lock at t={} (token {}) while client {} still held it \
                         (token {}, acquired t={}, lease alive)",
                        second.client, second.acquired, second.token, first.client, first.token, first.acquired
                    ),
                ));
            }
        }
    }
    findings
}

fn token_order(holds: &[Hold]) -> Vec<Finding> {
    let mut order: Vec<usize> = (0..holds.len()).filter(|&i| owned_at_start(&holds[i])).collect();
    order.sort_by(|&a, &b| holds[a].acquired.total_cmp(&holds[b].acquired));
    order
        .windows(2)
        .filter(|w| holds[w[1]].token <= holds[w[0]].token)
        .map(|w| {
            let (a, b) = (&holds[w[0]], &holds[w[1]]);
            finding(
                "token_order",
                vec![w[0], w[1]],
                format!(
                    "client {} got token {} at t={}, not above client {}'s earlier token {} (t={})",
                    b.client, b.token, b.acquired, a.client, a.token, a.acquired
                ),
            )
        })
        .collect()
}

fn lost_updates(history: &LockHistory) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut counter = history.initial;
    let mut newest_token: Option<(usize, i64)> = None;
    for (index, write) in history.writes.iter().enumerate() {
        if write.read != counter {
            findings.push(finding(
                "lost_update",
                vec![index],
                format!(
                    "client {} (token {}) wrote {} at t={} computed from {}, but the counter was already {}: \
                     the update(s) in between are lost",
                    write.client, write.token, write.wrote, write.time, write.read, counter
                ),
            ));
        }
        if history.fenced {
            if let Some((newest, token)) = newest_token.filter(|(_, t)| write.token < *t) {
                findings.push(finding(
                    "fencing",
                    vec![newest, index],
                    format!(
                        "the resource accepted client {}'s token {} at t={} after already accepting token {token}",
                        write.client, write.token, write.time
                    ),
                ));
            }
        }
        if newest_token.is_none_or(|(_, t)| write.token > t) {
            newest_token = Some((index, write.token));
        }
        counter = write.wrote;
    }
    findings
}

/// Holds whose key was gone before the lock was free for it (see the module docs).
fn expired_owners(history: &LockHistory) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, hold) in history.holds.iter().enumerate() {
        let Some(own) = history.keys.iter().find(|k| k.created == hold.token) else { continue };
        let Some(deleted) = own.deleted else { continue };
        // The lock is free for this key once every older key is deleted; an older key never
        // deleted keeps it busy for good (`i64::MAX`).
        let free_at = history
            .keys
            .iter()
            .filter(|k| k.created < hold.token)
            .map(|k| k.deleted.unwrap_or(i64::MAX))
            .max()
            .unwrap_or(hold.token);
        if deleted < free_at {
            let free = if free_at == i64::MAX {
                "an older key was never deleted".to_string()
            } else {
                format!("the last older key went at revision {free_at}")
            };
            findings.push(finding(
                "expired_owner",
                vec![index],
                format!(
                    "client {}'s lock call returned at t={} (token {}) although its key was deleted at \
                     revision {deleted}, before the lock was free for it ({free}): the lock went to a \
                     session that had already expired",
                    hold.client, hold.acquired, hold.token
                ),
            ));
        }
    }
    findings
}

/// What a fenced resource does: applies a write only if its token is not older than the newest
/// token it accepted. Test helpers and the simulator use it to build `writes`.
pub fn fence(attempts: &[ProtectedWrite]) -> Vec<ProtectedWrite> {
    let mut newest = i64::MIN;
    let mut applied = Vec::new();
    for attempt in attempts {
        if attempt.token >= newest {
            newest = attempt.token;
            applied.push(attempt.clone());
        }
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(client: u64, token: i64, acquired: f64, released: f64, expired: Option<f64>) -> Hold {
        Hold { client, token, acquired, released: Some(released), lease_expired: expired }
    }

    fn check_holds(holds: Vec<Hold>) -> SafetyVerdict {
        check(&LockHistory { holds, ..Default::default() })
    }

    #[test]
    fn a_hold_whose_lease_was_gone_before_it_began_owned_nothing() {
        // Client 2's lock call (from t=0.5) returned at t=2 after its key had expired: it neither
        // breaks client 1's exclusion nor the token order.
        let stale = check_holds(vec![hold(1, 9, 1.0, 5.0, None), hold(2, 4, 2.0, 3.0, Some(0.5))]);
        assert!(stale.is_ok(), "{stale:?}");
    }

    /// Client 1 holds token 3 from t=1 (its key deleted at revision 10 by its unlock); client
    /// 2's key (token 5) waits behind it. Only client 2's key's fate differs between the cases.
    fn race(client_2_key_deleted: i64) -> LockHistory {
        LockHistory {
            holds: vec![
                hold(1, 3, 1.0, 4.0, None),
                // Client 2's lock returned at t=4.1 and its lease check found the lease gone, so
                // the scenario dates the expiry back to its lock call (t=0.5).
                hold(2, 5, 4.1, 6.0, Some(0.5)),
            ],
            keys: vec![
                LockKey { created: 3, deleted: Some(10) },
                LockKey { created: 5, deleted: Some(client_2_key_deleted) },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn a_lock_handed_to_a_waiter_whose_key_was_already_gone_is_an_expired_owner() {
        // Client 2's lease expired while it waited: its key went at revision 8, before client 1's
        // (revision 10), yet its lock call returned.
        let verdict = check(&race(8));
        assert!(verdict.broke("expired_owner"), "{verdict:?}");
        assert_eq!(verdict.findings().len(), 1, "{verdict:?}");
        assert_eq!(verdict.findings()[0].records, vec![1]);
    }

    #[test]
    fn a_lease_that_dies_after_the_lock_was_free_is_an_honest_race() {
        // Client 2's key outlived client 1's (revision 12 > 10): it did own the lock, then lost
        // it; the client cannot tell when, and that is excused as before.
        let verdict = check(&race(12));
        assert!(verdict.is_ok(), "{verdict:?}");
    }

    #[test]
    fn an_older_key_that_never_went_away_means_the_lock_was_never_free() {
        let mut history = race(8);
        history.keys[0].deleted = None;
        assert!(check(&history).broke("expired_owner"));
        // Without the committed keys the rule has nothing to judge.
        history.keys.clear();
        assert!(check(&history).is_ok());
    }

    #[test]
    fn a_hold_whose_lease_lived_past_its_start_still_counts() {
        let live = check_holds(vec![hold(1, 9, 1.0, 5.0, None), hold(2, 4, 2.0, 3.0, Some(2.0))]);
        assert!(live.broke("mutual_exclusion"), "{live:?}");
        assert!(live.broke("token_order"), "{live:?}");
    }
}
