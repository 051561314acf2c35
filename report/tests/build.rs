//! Building a report from a hand-made run: lanes, spans, bars, the violation and the page.

mod fixture;

use detcd_report::ops::Outcome;
use detcd_report::{html, RunReport};

#[test]
fn report_derives_lanes_spans_and_the_violation() {
    let report = RunReport::build(&fixture::run_input());
    assert_eq!(report.nodes.len(), 3);
    assert_eq!(report.ops.len(), 6);
    let outcomes: Vec<Outcome> = report.ops.iter().map(|op| op.outcome).collect();
    assert_eq!(outcomes[2], Outcome::Unknown);
    assert_eq!(outcomes[5], Outcome::Failed);
    // The unknown put ends where the trace says the client gave up.
    assert_eq!(report.ops[2].end, 0.9);
    assert_eq!(report.ops[2].note.as_deref(), Some("timeout"));
    let kinds: Vec<&str> = report.spans.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(kinds, ["partition", "pause", "crash", "clock"]);
    assert!(report.spans.iter().all(|s| s.start <= s.end && s.end <= report.end));
    let leaders: Vec<(&str, u64)> =
        report.leaders.iter().map(|l| (l.node.as_str(), l.term)).collect();
    assert_eq!(leaders, [("n1", 1), ("n2", 2), ("n3", 3)]);
    let violation = report.verdicts[0].violation.as_ref().expect("a violation");
    assert_eq!(violation.stuck, Some(4));
    assert_eq!(violation.window, [4, 2]);
    assert!(violation.explanation.starts_with("client 2 range x got"), "{}", violation.explanation);
    assert!(violation.explanation.contains("t=1.600s"));
}

#[test]
fn page_is_self_contained() {
    let page = html::render(&RunReport::build(&fixture::run_input()));
    for needle in [
        "id=\"violation-window\"",
        "id=\"partial-linearization\"",
        "class=\"lane client-lane\"",
        "class=\"lane node-lane\"",
        "id=\"report-data\"",
    ] {
        assert!(page.contains(needle), "page lacks {needle}");
    }
    for external in ["http://", "https://", "src=\""] {
        let outside_svg_namespace = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!outside_svg_namespace.contains(external), "page fetches {external}");
    }
}

#[test]
fn report_json_round_trips() {
    let report = RunReport::build(&fixture::run_input());
    let json = serde_json::to_string(&report).unwrap();
    let back: RunReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn odd_input_does_not_panic() {
    let mut input = fixture::run_input();
    input.trace.push("nonsense".into());
    input.trace.push("   x.y s n1 leader".into());
    input.verdicts[0].details =
        serde_json::json!({"window": [99, "a"], "longest": [{"op": 1000}], "stuck": 77});
    let report = RunReport::build(&input);
    let violation = report.verdicts[0].violation.as_ref().unwrap();
    assert!(violation.window.is_empty() && violation.stuck.is_none());
    let _ = html::render(&report);
}

#[test]
fn sweep_page_links_failures() {
    use detcd_report::sweep_page::{render, FailureRow, ScenarioRow, SweepSummary};
    let summary = SweepSummary {
        scenarios: vec![ScenarioRow {
            scenario: "kv".into(),
            seeds: 20,
            failures: 1,
            ops: 9000,
            sim_secs: 250.0,
            real_secs: 4.0,
            verdicts: vec![("linearizable (etcd model)".into(), 19, 1, 0)],
        }],
        failures: vec![FailureRow {
            scenario: "kv".into(),
            seed: 7,
            why: "NOT LINEARIZABLE: <stale read>".into(),
            replay: "cargo sim run kv --seed 7".into(),
            report: Some("kv-7.html".into()),
        }],
        wall_secs: 2.0,
        coverage: Vec::new(),
    };
    let page = render(&summary);
    assert!(page.contains("<a href=\"kv-7.html\">"));
    assert!(page.contains("&lt;stale read&gt;"));
    assert!(page.contains("300</td>"), "seeds/min per core: 20 seeds in 4 s");
    assert!(!page.contains("id=\"coverage\""), "no coverage table without probe data");
}

#[test]
fn sweep_page_shows_every_probe_and_flags_the_unreached() {
    use detcd_report::sweep_page::{render, CoverageRow, SweepSummary};
    let row = |probe: &str, seeds, hits| CoverageRow { probe: probe.into(), seeds, hits };
    let summary = SweepSummary {
        scenarios: Vec::new(),
        failures: Vec::new(),
        wall_secs: 1.0,
        coverage: vec![row("log-purged", 3, 40), row("snapshot-installed", 0, 0)],
    };
    let page = render(&summary);
    assert!(page.contains("id=\"coverage\""));
    assert!(page.contains("1 of 2 probes reached"), "{page}");
    assert!(page.contains("<tr class=\"bad\"><td>snapshot-installed</td><td>0</td>"), "{page}");
    assert!(page.contains("<tr><td>log-purged</td><td>3</td>"), "{page}");
}
