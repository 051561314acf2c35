//! detcd-report: run outcomes as terminal summaries, JSON and self-contained HTML timelines.
//!
//! The crate has its own input model ([`input::RunInput`]: a run's header, trace lines, history and
//! the checkers' raw verdicts) so it builds in both the normal and the simulator build and depends
//! on nothing that runs clusters. [`model::RunReport::build`] derives everything a reader needs
//! from it: one bar per operation, role spans per member, fault spans, leader changes and, for a
//! violation, the checker's window, partial linearisation and a plain-language explanation. The
//! same report is written as JSON for tools and as one HTML page (inline CSS, JS and SVG, the data
//! embedded as JSON) that opens from disk with no network.
//!
//! Invariant: building never panics on odd input — unparseable trace lines are skipped, verdict
//! details of an unknown shape become plain summaries, out-of-range operation numbers are dropped.

pub mod html;
pub mod input;
pub mod lanes;
pub mod model;
pub mod ops;
pub mod summary;
pub mod svg;
pub mod sweep_page;
pub mod trace_line;
pub mod violation;

pub use input::{CheckerInput, Header, RunInput};
pub use model::RunReport;
