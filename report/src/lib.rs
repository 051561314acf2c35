//! detcd-report: run outcomes as terminal summaries, JSON and self-contained HTML timelines.
