//! What `detcd-sim check <file>... --model <m>` does, as a library function so it is testable
//! without a process. A file given as `MODEL=PATH` is checked against that model instead, so one
//! process can check files of several models.
//!
//! One line per file: `<file>: linearizable|not linearizable|unknown (<ops> ops, <time>)`, then,
//! for a violation, the explanation indented below it. The exit status is 0 only when every file
//! is linearizable; a file that cannot be read or decoded prints `<file>: error: ...` and counts as
//! a failure (status 2 if there was no violation, so scripts can tell them apart).

use std::time::{Duration, Instant};

use crate::edn::Workload;
use crate::history::History;
use crate::linearizability::{self, Budget, Model, Options, Verdict};
use crate::models::{etcd::Etcd, kv::Kv, register::Register};

/// The models the command line knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelName {
    Register,
    Kv,
    Etcd,
}

impl std::str::FromStr for ModelName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "register" => Ok(ModelName::Register),
            "kv" => Ok(ModelName::Kv),
            "etcd" => Ok(ModelName::Etcd),
            other => Err(format!("unknown model {other:?} (register, kv, etcd)")),
        }
    }
}

/// The printed lines and the process exit status.
#[derive(Debug)]
pub struct CliOutput {
    pub lines: Vec<String>,
    pub status: i32,
}

/// Checks each file; `budget` bounds each file's check (None = no limit).
pub fn check_files(paths: &[String], model: ModelName, budget: Option<Duration>) -> CliOutput {
    let files: Vec<(String, ModelName)> = paths.iter().map(|path| (path.clone(), model)).collect();
    check_each(&files, budget)
}

/// A file argument that names its own model, `MODEL=PATH` (`kv=c50.jsonl`): the model and the
/// path; `None` for a plain path (a file whose name starts like that can be given as `./kv=...`).
pub fn model_prefix(argument: &str) -> Option<(ModelName, &str)> {
    let (name, path) = argument.split_once('=')?;
    Some((name.parse().ok()?, path))
}

/// Checks each file against its own model, in one process: what checking files of several
/// models costs then is the checks alone.
pub fn check_each(files: &[(String, ModelName)], budget: Option<Duration>) -> CliOutput {
    let mut lines = Vec::new();
    let mut status = 0;
    for (path, model) in files {
        let (path, model) = (path.as_str(), *model);
        let started = Instant::now();
        let workload = if model == ModelName::Kv { Workload::KeyValue } else { Workload::Register };
        let history = match crate::jsonl::load_file(path, workload) {
            Ok(history) => history,
            Err(error) => {
                lines.push(format!("{path}: error: {error}"));
                status = status.max(2);
                continue;
            }
        };
        let options = Options {
            budget: Budget { max_steps: None, deadline: budget.map(|b| started + b) },
            parallel: true,
        };
        let verdict = match model {
            ModelName::Register => run(&Register, &history, options),
            ModelName::Kv => run(&Kv::default(), &history, options),
            ModelName::Etcd => run(&Etcd, &history, options),
        };
        let elapsed = format_duration(started.elapsed());
        let summary = |word: &str| format!("{path}: {word} ({} ops, {elapsed})", history.len());
        match verdict {
            Err(error) => {
                lines.push(format!("{path}: error: {error}"));
                status = status.max(2);
            }
            Ok(Verdict::Linearizable) => lines.push(summary("linearizable")),
            Ok(Verdict::Unknown) => {
                lines.push(summary("unknown"));
                status = status.max(2);
            }
            Ok(Verdict::NotLinearizable(violation)) => {
                lines.push(summary("not linearizable"));
                lines.extend(explain(&history, &violation));
                status = 1;
            }
        }
    }
    CliOutput { lines, status }
}

fn run<M: Model>(
    model: &M,
    history: &History,
    options: Options,
) -> Result<Verdict, linearizability::DecodeError> {
    linearizability::check(model, history, options)
}

/// The indented explanation of a violation.
pub fn explain(history: &History, violation: &linearizability::Violation) -> Vec<String> {
    let mut lines = vec![format!("  {}", violation.message)];
    let shown = violation.longest.len().saturating_sub(10);
    lines.push(format!(
        "  longest partial linearization ({} ops{}):",
        violation.longest.len(),
        if shown > 0 { ", last 10 shown".to_string() } else { String::new() }
    ));
    for step in &violation.longest[shown..] {
        lines.push(format!(
            "    #{} {}  => {}",
            step.op,
            history.ops[step.op].describe(),
            step.state
        ));
    }
    lines.push("  window that cannot be linearized:".to_string());
    for &op in &violation.window {
        let marker = if op == violation.stuck { "*" } else { " " };
        let o = &history.ops[op];
        let ret = o.ret.map_or("?".to_string(), |r| r.to_string());
        lines.push(format!("   {marker}#{op} [{} .. {ret}] {}", o.call, o.describe()));
    }
    lines
}

/// `0.21s`, `35ms`, `812µs`.
pub fn format_duration(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2}s", d.as_secs_f64())
    } else if d >= Duration::from_millis(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}µs", d.as_micros())
    }
}
