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
//!
//! Records: hold indices for the first two rules, write indices for the last two.

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

    #[test]
    fn a_hold_whose_lease_lived_past_its_start_still_counts() {
        let live = check_holds(vec![hold(1, 9, 1.0, 5.0, None), hold(2, 4, 2.0, 3.0, Some(2.0))]);
        assert!(live.broke("mutual_exclusion"), "{live:?}");
        assert!(live.broke("token_order"), "{live:?}");
    }
}
