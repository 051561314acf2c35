//! Network faults as plans: which directed links between the members and the clients drop
//! their packets, and which member's link loses or delays some of them.
//!
//! A fault is drawn from the seed as a [`Net`] (a shape plus the numbers that pick its sides),
//! and turned into a [`Plan`] only when it fires, because its target (often the leader) is
//! known only then. [`plan`] is a pure function of the shape, the target and the member count,
//! so a seed names the same cuts for the same target every time.
//!
//! Invariants of every plan:
//! - a cut is directed (`from` → `to`); a two-way partition is the pair of cuts, a one-way one
//!   a single cut, so "A cannot hear B while B still hears A" is expressible;
//! - each client is a node of its own ([`Node::Client`]: it reaches the members from its own
//!   address on the bridge, see `relay`); during a partition the clients either reach every
//!   member (so a stranded leader is still reached by the clients that prefer it), or only the
//!   side without the target, or are split between the two sides;
//! - no member is ever cut from itself, and a plan for one member cuts nothing between members.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeSet;

/// A network fault as the schedule draws it, before its target is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "shape")]
pub enum Net {
    /// The target alone against the rest (the leader stranded from its peers).
    Isolate { clients: Clients },
    /// A minority of ⌊(n-1)/2⌋ members holding the target, against the majority; `picks`
    /// chooses the minority's other members.
    Halves { clients: Clients, picks: u64 },
    /// The target reaches everyone while the others, split in two sides by `picks`, reach only
    /// the target and their own side.
    Bridge { picks: u64 },
    /// One way only: the target hears no other member (`inbound`) or no other member hears
    /// it, while the other direction still flows.
    OneWay { inbound: bool },
    /// The target's link drops `loss_pct` % of its packets each way and delays what it sends by
    /// `delay_ms` (by `tc netem`, or an NFQUEUE delayer where the kernel lacks it: `latency`).
    Degrade { loss_pct: u8, delay_ms: u32 },
}

/// Which members the clients reach during a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clients {
    /// Every member, the cut-off side too.
    All,
    /// Only the side without the target.
    Majority,
    /// About half the clients (chosen by `picks`) only the target's side, the others only the
    /// other side.
    Split { picks: u64 },
}

/// An end of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Node {
    /// Member `n` (0-based).
    Member(usize),
    /// Client `n` (0-based).
    Client(usize),
}

/// What a network fault does while it holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Directed links whose packets are all dropped.
    pub cuts: BTreeSet<(Node, Node)>,
    /// A member whose link loses some packets and delays the rest: (member, loss %, delay ms).
    pub degrade: Option<(usize, u8, u32)>,
}

impl Net {
    /// Draws a network fault of kind `partition` (`degrade == false`) or `netem`.
    pub fn draw(rng: &mut ChaCha8Rng, degrade: bool) -> Net {
        if degrade {
            return Net::Degrade {
                loss_pct: rng.gen_range(5..30),
                delay_ms: rng.gen_range(20..200),
            };
        }
        let clients = match rng.gen_range(0..3) {
            0 => Clients::All,
            1 => Clients::Majority,
            _ => Clients::Split { picks: rng.gen() },
        };
        match rng.gen_range(0..4) {
            0 => Net::Isolate { clients },
            1 => Net::Halves { clients, picks: rng.gen() },
            2 => Net::Bridge { picks: rng.gen() },
            _ => Net::OneWay { inbound: rng.gen_bool(0.5) },
        }
    }

    /// A short name for traces: `isolate`, `halves`, `bridge`, `one-way`, `degrade`.
    pub fn name(&self) -> &'static str {
        match self {
            Net::Isolate { .. } => "isolate",
            Net::Halves { .. } => "halves",
            Net::Bridge { .. } => "bridge",
            Net::OneWay { .. } => "one-way",
            Net::Degrade { .. } => "degrade",
        }
    }
}

/// The plan of `net` hitting member `target` of `members`, with `clients` clients.
pub fn plan(net: Net, target: usize, members: usize, clients: usize) -> Plan {
    let mut plan = Plan::default();
    if members == 0 {
        return plan;
    }
    let target = target.min(members - 1);
    let others: Vec<usize> = (0..members).filter(|&m| m != target).collect();
    match net {
        Net::Isolate { clients: how } => {
            split(&mut plan, &[target], &others, how, clients);
        }
        Net::Halves { clients: how, picks } => {
            let mut rest = others.clone();
            rest.shuffle(&mut ChaCha8Rng::seed_from_u64(picks));
            let extra = ((members - 1) / 2).saturating_sub(1);
            let mut minority = vec![target];
            minority.extend(rest.iter().take(extra));
            let majority: Vec<usize> = rest.iter().skip(extra).copied().collect();
            split(&mut plan, &minority, &majority, how, clients);
        }
        Net::Bridge { picks } => {
            let mut rest = others.clone();
            rest.shuffle(&mut ChaCha8Rng::seed_from_u64(picks));
            let (left, right) = rest.split_at(rest.len() / 2);
            for &a in left {
                for &b in right {
                    plan.cuts.insert((Node::Member(a), Node::Member(b)));
                    plan.cuts.insert((Node::Member(b), Node::Member(a)));
                }
            }
        }
        Net::OneWay { inbound } => {
            for &other in &others {
                let link = if inbound { (other, target) } else { (target, other) };
                plan.cuts.insert((Node::Member(link.0), Node::Member(link.1)));
            }
        }
        Net::Degrade { loss_pct, delay_ms } => plan.degrade = Some((target, loss_pct, delay_ms)),
    }
    plan
}

/// Cuts `side` from `rest` both ways, and each of the `clients` clients from the side `how`
/// keeps it off.
fn split(plan: &mut Plan, side: &[usize], rest: &[usize], how: Clients, clients: usize) {
    let mut cut_both = |a: usize, b: Node| {
        plan.cuts.insert((Node::Member(a), b));
        plan.cuts.insert((b, Node::Member(a)));
    };
    for &a in side {
        for &b in rest {
            cut_both(a, Node::Member(b));
        }
    }
    let with_side: BTreeSet<usize> = match how {
        Clients::All => return,
        Clients::Majority => BTreeSet::new(),
        Clients::Split { picks } => {
            let mut order: Vec<usize> = (0..clients).collect();
            order.shuffle(&mut ChaCha8Rng::seed_from_u64(picks));
            order.into_iter().take(clients / 2).collect()
        }
    };
    for client in 0..clients {
        let away_from = if with_side.contains(&client) { rest } else { side };
        for &member in away_from {
            cut_both(member, Node::Client(client));
        }
    }
}

impl Plan {
    /// `{infra1} | {infra2 infra3}`-like text for the trace: every cut as `a->b`, the
    /// degraded link with its numbers.
    pub fn describe(&self, names: &[String]) -> String {
        let name = |node: &Node| match node {
            Node::Member(m) => names.get(*m).cloned().unwrap_or_else(|| format!("member{m}")),
            Node::Client(c) => format!("client{c}"),
        };
        let mut parts: Vec<String> =
            self.cuts.iter().map(|(a, b)| format!("{}->{}", name(a), name(b))).collect();
        if let Some((member, loss, delay)) = self.degrade {
            parts.push(format!("{} loses {loss}% delays {delay}ms", name(&Node::Member(member))));
        }
        if parts.is_empty() {
            return "nothing cut".into();
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member_cuts(plan: &Plan) -> Vec<(usize, usize)> {
        plan.cuts
            .iter()
            .filter_map(|cut| match cut {
                (Node::Member(a), Node::Member(b)) => Some((*a, *b)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn isolating_the_target_cuts_it_both_ways_and_clients_reach_it_unless_told_otherwise() {
        let all = plan(Net::Isolate { clients: Clients::All }, 1, 3, 4);
        assert_eq!(member_cuts(&all), vec![(0, 1), (1, 0), (1, 2), (2, 1)]);
        let client = |node: &Node| matches!(node, Node::Client(_));
        assert!(!all.cuts.iter().any(|(a, b)| client(a) || client(b)));
        let majority = plan(Net::Isolate { clients: Clients::Majority }, 1, 3, 4);
        for c in 0..4 {
            assert!(majority.cuts.contains(&(Node::Client(c), Node::Member(1))));
            assert!(majority.cuts.contains(&(Node::Member(1), Node::Client(c))));
            assert!(!majority.cuts.contains(&(Node::Client(c), Node::Member(0))));
        }
    }

    #[test]
    fn split_clients_reach_one_side_each_and_half_of_them_the_stranded_target() {
        let p = plan(Net::Isolate { clients: Clients::Split { picks: 9 } }, 2, 3, 4);
        let reaches = |c: usize, m: usize| !p.cuts.contains(&(Node::Client(c), Node::Member(m)));
        let with_target: Vec<usize> = (0..4).filter(|&c| reaches(c, 2)).collect();
        assert_eq!(with_target.len(), 2, "{p:?}");
        for c in 0..4 {
            let on_target_side = with_target.contains(&c);
            assert_eq!(reaches(c, 0), !on_target_side);
            assert_eq!(reaches(c, 1), !on_target_side);
            assert_eq!(p.cuts.contains(&(Node::Member(2), Node::Client(c))), !on_target_side);
        }
    }

    #[test]
    fn halves_leave_a_minority_with_the_target_and_never_cut_a_side_within() {
        for picks in 0..20 {
            let p = plan(Net::Halves { clients: Clients::All, picks }, 0, 5, 4);
            let cut = member_cuts(&p);
            let minority: BTreeSet<usize> =
                (0..5).filter(|&m| m == 0 || !cut.contains(&(0, m))).collect();
            assert_eq!(minority.len(), 2, "{cut:?}");
            for a in 0..5 {
                for b in 0..5 {
                    let across = minority.contains(&a) != minority.contains(&b);
                    assert_eq!(cut.contains(&(a, b)), across, "{a}->{b} in {cut:?}");
                }
            }
        }
    }

    #[test]
    fn a_bridge_member_reaches_everyone_and_the_sides_only_it() {
        let p = plan(Net::Bridge { picks: 7 }, 2, 5, 4);
        let cut = member_cuts(&p);
        assert!(cut.iter().all(|&(a, b)| a != 2 && b != 2), "{cut:?}");
        assert_eq!(cut.len(), 8, "two against two, both ways: {cut:?}");
        // Three members: the two non-bridge members lose each other.
        assert_eq!(member_cuts(&plan(Net::Bridge { picks: 1 }, 0, 3, 4)), vec![(1, 2), (2, 1)]);
    }

    #[test]
    fn one_way_cuts_a_single_direction() {
        let inbound = member_cuts(&plan(Net::OneWay { inbound: true }, 0, 3, 4));
        assert_eq!(inbound, vec![(1, 0), (2, 0)]);
        let outbound = member_cuts(&plan(Net::OneWay { inbound: false }, 0, 3, 4));
        assert_eq!(outbound, vec![(0, 1), (0, 2)]);
    }

    #[test]
    fn degrading_cuts_nothing_and_one_member_plans_cut_no_member_link() {
        let p = plan(Net::Degrade { loss_pct: 10, delay_ms: 50 }, 4, 3, 4);
        assert!(p.cuts.is_empty());
        assert_eq!(p.degrade, Some((2, 10, 50)), "the target is clamped to the last member");
        let alone = plan(Net::Isolate { clients: Clients::All }, 0, 1, 4);
        assert!(member_cuts(&alone).is_empty());
    }
}
