//! `DETCD_PLANTED_BUG`: one of core's planted bugs (`detcd_core::plant`) switched on in this
//! process, for proving that the real-process chaos harness catches it (`detcd-chaos run
//! --plant`).
//!
//! Only a binary built with the cargo feature `planted-bugs` (a test build; a release build with
//! it does not compile) honours it. Every other binary refuses to start when it is set, so a
//! chaos run that believes it planted a bug can never pass against a binary that has none.

use detcd_core::plant::{Bug, PROCESS_VARIABLE as VARIABLE};

/// Plants the bug `DETCD_PLANTED_BUG` names, if any; the reason this binary cannot otherwise.
pub fn from_environment() -> Result<Option<Bug>, String> {
    let Some(value) = std::env::var_os(VARIABLE) else { return Ok(None) };
    let name = value.to_str().ok_or_else(|| format!("{VARIABLE} is not UTF-8: {value:?}"))?;
    let bug = Bug::parse(name).map_err(|why| format!("{VARIABLE}: {why}"))?;
    plant(bug)?;
    Ok(Some(bug))
}

#[cfg(feature = "planted-bugs")]
fn plant(bug: Bug) -> Result<(), String> {
    detcd_core::plant::set_for_process(bug)
        .map_err(|other| format!("{VARIABLE}: {} is planted already", other.name()))
}

#[cfg(not(feature = "planted-bugs"))]
fn plant(bug: Bug) -> Result<(), String> {
    Err(format!(
        "{VARIABLE}={} needs a detcd built with the planted-bugs feature \
         (`cargo build -p detcd-server --features planted-bugs`); this one has no planted bugs",
        bug.name()
    ))
}
