//! JSON Lines histories: one [`Operation`] per line.
//!
//! ```text
//! {"client":0,"call":1,"return":2,"f":"write","input":3,"output":null}
//! {"client":1,"call":1.5,"return":null,"f":"cas","input":[3,4],"output":null}
//! {"client":2,"call":3,"return":4,"f":"read","input":null,"output":4}
//! ```
//!
//! Blank lines and lines starting with `#` are skipped. A missing `return` means the same as
//! `null`: unknown outcome. Errors name the line (1-based). Lines of the usual shape are read by
//! [`crate::jsonl_fast`], the rest by serde, with the same result.

use crate::history::{History, Operation};

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: cannot read: {error}")]
    Io { file: String, error: std::io::Error },
    #[error("{file}:{line}: {message}")]
    Parse { file: String, line: usize, message: String },
}

/// Parses JSON Lines text; `file` only names the source in errors.
pub fn parse(file: &str, text: &str) -> Result<History, LoadError> {
    let mut ops = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let parse_error =
            |message: String| LoadError::Parse { file: file.to_string(), line: index + 1, message };
        let op: Operation = match crate::jsonl_fast::operation(trimmed) {
            Some(op) => op,
            None => serde_json::from_str(trimmed).map_err(|e| parse_error(e.to_string()))?,
        };
        validate(&op).map_err(parse_error)?;
        ops.push(op);
    }
    Ok(History::new(ops))
}

/// Writes a history as JSON Lines.
pub fn to_string(history: &History) -> String {
    let mut out = String::new();
    for op in &history.ops {
        // Serialising plain data with string keys cannot fail.
        out.push_str(&serde_json::to_string(op).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Checks what serde cannot: finite times, return not before call.
pub fn validate(op: &Operation) -> Result<(), String> {
    if !op.call.is_finite() {
        return Err("`call` must be a finite number".into());
    }
    match op.ret {
        Some(ret) if !ret.is_finite() => Err("`return` must be a finite number or null".into()),
        Some(ret) if ret < op.call => {
            Err(format!("`return` ({ret}) is before `call` ({})", op.call))
        }
        _ => Ok(()),
    }
}

/// Reads a history file: Jepsen EDN when the name ends in `.edn` (split as `workload` says), else
/// JSON Lines.
pub fn load_file(path: &str, workload: crate::edn::Workload) -> Result<History, LoadError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| LoadError::Io { file: path.to_string(), error })?;
    if path.ends_with(".edn") {
        crate::edn::parse_workload(path, &text, workload)
    } else {
        parse(path, &text)
    }
}
