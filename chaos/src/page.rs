//! A chaos run's HTML page: the simulator's report (`detcd-report`), built from the run's
//! history, verdicts and fired faults, so a real run reads like a simulated one.
//!
//! The report reads faults from trace lines (`   4.102s sim   fault: crash n2`); a real run has
//! no trace, so each fired fault becomes the lines the simulator would have written for it: the
//! fault when it began, and `heal all` when it was healed (faults run one at a time, so a heal
//! closes every open span). Members `infraN` are the report's `nN`. Member roles are not known
//! (the real servers are not traced), so the lanes show faults, not leadership.

use crate::faults::{Fault, Fired};
use crate::run::Report;
use crate::workloads::Verdict;
use detcd_check::history::Operation;
use detcd_report::{html, CheckerInput, Header, RunInput, RunReport};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// `infra3` -> `n3`.
fn node(member: &str) -> String {
    member.strip_prefix("infra").map_or_else(|| member.to_string(), |n| format!("n{n}"))
}

fn line(at: f64, what: &str) -> String {
    format!("{at:>10.3}s sim   {what}")
}

/// The trace lines of the faults that fired, in the report's language.
pub fn trace(fired: &[Fired], members: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for f in fired {
        let n = node(&f.member);
        let what = match (f.step.fault, f.step.net, f.step.clock, f.step.disk) {
            (Fault::Kill, ..) => format!("crash {n}"),
            (Fault::Power, ..) => "crash all".to_string(),
            (Fault::Pause, ..) => format!("pause {n} for {}ms", f.step.hold_ms),
            (Fault::Netem, ..) => format!("packet loss {n}"),
            (Fault::Partition, Some(net), ..) => format!("partition {} {n}", net.name()),
            (Fault::Clock, _, Some(clock), _) => format!("clock {} {n}", clock.name()),
            (Fault::Disk, _, _, Some(disk)) => format!("disk {} {n}", disk.name()),
            (fault, ..) => format!("{} {n}", fault.name()),
        };
        lines.push(line(f.began, &format!("fault: {what}")));
        let restarted = match f.step.fault {
            Fault::Kill => n,
            Fault::Power => (1..=members).map(|i| format!("n{i}")).collect::<Vec<_>>().join(" "),
            _ => String::new(),
        };
        lines.push(line(f.healed, format!("heal all {restarted}").trim_end()));
    }
    lines
}

fn verdict(v: &Verdict) -> CheckerInput {
    CheckerInput {
        checker: v.checker.clone(),
        ok: v.ok,
        seconds: 0.0,
        summary: v.summary.clone(),
        details: serde_json::Value::Null,
    }
}

/// Writes `<stem>.html`; returns its path.
pub fn write(
    stem: &Path,
    report: &Report,
    ops: &[Operation],
    real_secs: f64,
    replay: &str,
) -> io::Result<PathBuf> {
    let input = RunInput {
        header: Header {
            scenario: format!("{} on real {}", report.scenario, report.binary),
            seed: report.seed,
            members: report.members,
            clients: report.clients,
            chaos_secs: report.duration_secs,
            sim_secs: real_secs,
            real_secs,
            buggify: false,
            plant: None,
            faults: report.fired.iter().map(Fired::describe).collect(),
            passed: report.passed,
            replay: replay.to_string(),
            trace_hash: String::new(),
        },
        trace: trace(&report.fired, report.members),
        history: ops.to_vec(),
        verdicts: report.verdicts.iter().map(verdict).collect(),
    };
    let page = stem.with_extension("html");
    fs::write(&page, html::render(&RunReport::build(&input)))?;
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{Step, Target};

    fn fired(fault: Fault, member: &str, began: f64, healed: f64) -> Fired {
        Fired {
            step: Step {
                at_ms: 0,
                fault,
                target: Target::Member(0),
                hold_ms: 1_500,
                net: None,
                clock: None,
                disk: None,
            },
            member: member.into(),
            began,
            healed,
            detail: String::new(),
        }
    }

    #[test]
    fn kills_pauses_and_power_failures_become_the_reports_fault_spans() {
        let fired = [
            fired(Fault::Kill, "infra2", 1.0, 3.0),
            fired(Fault::Pause, "infra1", 4.0, 5.5),
            fired(Fault::Power, "every member", 6.0, 8.0),
        ];
        let trace = trace(&fired, 3);
        assert_eq!(trace[0], "     1.000s sim   fault: crash n2");
        assert_eq!(trace[1], "     3.000s sim   heal all n2");
        assert_eq!(trace[2], "     4.000s sim   fault: pause n1 for 1500ms");
        assert_eq!(trace[3], "     5.500s sim   heal all");
        assert_eq!(trace[5], "     8.000s sim   heal all n1 n2 n3");
        let mut input = RunInput { trace, ..RunInput::default() };
        input.header.members = 3;
        input.header.chaos_secs = 10.0;
        let report = RunReport::build(&input);
        let json = serde_json::to_string(&report).unwrap();
        for span in ["\"crash n2\"", "pause n1 for 1500ms", "\"crash n3\""] {
            assert!(json.contains(span), "{span} missing from {json}");
        }
    }
}
