//! detcd-sim: the deterministic cluster harness on madsim.
