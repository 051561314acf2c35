//! detcd-tests: end-to-end tests across crates (real processes, real clients).
