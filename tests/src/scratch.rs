//! Free loopback ports and fresh scratch directories: shared with `detcd-chaos`, which starts
//! real clusters the same way (see `detcd_chaos::scratch`).

pub use detcd_chaos::scratch::{free_port, scratch_dir};
