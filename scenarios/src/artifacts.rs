//! Files a run leaves behind: the trace, the history (JSON Lines, what `check` reads) and the
//! result (JSON), under `target/detcd-reports/`.

use crate::runner::ScenarioRun;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const REPORT_DIR: &str = "target/detcd-reports";

/// Where this run's files go, without extension.
pub fn stem(run: &ScenarioRun) -> PathBuf {
    Path::new(REPORT_DIR).join(format!("{}-{}", run.requested, run.seed))
}

/// Writes `<stem>.trace`, `<stem>.history.jsonl` and `<stem>.json`; returns the stem.
pub fn write(run: &ScenarioRun) -> io::Result<PathBuf> {
    fs::create_dir_all(REPORT_DIR)?;
    let stem = stem(run);
    if let Some(result) = &run.result {
        fs::write(stem.with_extension("trace"), result.trace.join("\n") + "\n")?;
        let mut history =
            io::BufWriter::new(fs::File::create(stem.with_extension("history.jsonl"))?);
        for op in &result.history {
            serde_json::to_writer(&mut history, op)?;
            history.write_all(b"\n")?;
        }
        history.flush()?;
    }
    let json = serde_json::to_string_pretty(run).map_err(io::Error::other)?;
    fs::write(stem.with_extension("json"), json)?;
    Ok(stem)
}
