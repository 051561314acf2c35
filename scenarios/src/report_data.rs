//! A finished scenario run as the report crate's input, and the report files it leaves:
//! `<stem>.html` (the timeline page) and `<stem>.report.json` (the same data for tools); for a
//! sweep, `sweep.html` linking every failing seed's page.

use crate::artifacts::{self, REPORT_DIR};
use crate::runner::{self, ScenarioRun};
use crate::sweep::SweepReport;
use detcd_report::sweep_page::{CoverageRow, FailureRow, ScenarioRow, SweepSummary};
use detcd_report::{html, CheckerInput, Header, RunInput, RunReport};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The report crate's input for `run`; `replay` is the command that replays it.
pub fn input(run: &ScenarioRun, replay: &str) -> RunInput {
    let (trace, history) = match &run.result {
        Some(result) => (result.trace.clone(), result.history.clone()),
        None => (Vec::new(), Vec::new()),
    };
    RunInput {
        header: Header {
            scenario: run.scenario.clone(),
            seed: run.seed,
            members: run.members,
            clients: run.clients,
            chaos_secs: run.chaos_secs,
            sim_secs: run.sim_secs,
            real_secs: run.real_secs,
            buggify: run.buggify,
            plant: run.options.plant.clone(),
            faults: run.faults.clone(),
            passed: run.passed,
            replay: replay.to_string(),
            trace_hash: run.trace_hash.clone(),
        },
        trace,
        history,
        verdicts: run
            .verdicts
            .iter()
            .map(|v| CheckerInput {
                checker: v.checker.clone(),
                ok: v.ok,
                seconds: v.seconds,
                summary: v.summary.clone(),
                details: v.details.clone(),
            })
            .collect(),
    }
}

/// Writes `<stem>.html` and `<stem>.report.json`; returns the report and the page's path.
/// `replay` overrides the replay command (a run from a plan file replays from that file).
pub fn write(run: &ScenarioRun, replay: Option<&str>) -> io::Result<(RunReport, PathBuf)> {
    fs::create_dir_all(REPORT_DIR)?;
    let stem = artifacts::stem(run);
    let replay = replay.map_or_else(|| runner::replay_command(run), str::to_string);
    let report = RunReport::build(&input(run, &replay));
    let page = stem.with_extension("html");
    fs::write(&page, html::render(&report))?;
    let json = serde_json::to_string_pretty(&report).map_err(io::Error::other)?;
    fs::write(stem.with_extension("report.json"), json)?;
    Ok((report, page))
}

/// The summary page's data; failing seeds link to `<scenario>-<seed>.html` next to it.
pub fn sweep_summary(report: &SweepReport) -> SweepSummary {
    SweepSummary {
        scenarios: report
            .scenarios
            .iter()
            .map(|(name, t)| ScenarioRow {
                scenario: name.clone(),
                seeds: t.seeds,
                failures: t.failures,
                ops: t.ops,
                sim_secs: t.sim_secs,
                real_secs: t.real_secs,
                verdicts: t.verdicts.iter().map(|(c, (a, b, u))| (c.clone(), *a, *b, *u)).collect(),
            })
            .collect(),
        failures: report
            .failures
            .iter()
            .map(|f| {
                let page = format!("{}-{}.html", f.scenario, f.seed);
                let exists = Path::new(REPORT_DIR).join(&page).exists();
                FailureRow {
                    scenario: f.scenario.clone(),
                    seed: f.seed,
                    why: f.why.clone(),
                    replay: f.replay.clone(),
                    report: exists.then_some(page),
                }
            })
            .collect(),
        wall_secs: report.wall_secs,
        coverage: report
            .probes
            .iter()
            .map(|(probe, totals)| CoverageRow {
                probe: probe.clone(),
                seeds: totals.seeds,
                hits: totals.hits,
            })
            .collect(),
    }
}

/// Writes `target/detcd-reports/sweep.html` and `sweep.report.json`; returns the page's path.
pub fn write_sweep(report: &SweepReport) -> io::Result<PathBuf> {
    fs::create_dir_all(REPORT_DIR)?;
    let summary = sweep_summary(report);
    let page = Path::new(REPORT_DIR).join("sweep.html");
    fs::write(&page, detcd_report::sweep_page::render(&summary))?;
    let json = serde_json::to_string_pretty(&summary).map_err(io::Error::other)?;
    fs::write(Path::new(REPORT_DIR).join("sweep.report.json"), json)?;
    Ok(page)
}
