//! detcd-scenarios: workloads x fault plans x checkers.
