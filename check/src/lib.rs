//! detcd-check: history model and checkers.
//!
//! Depends on no other detcd crate: it judges histories recorded anywhere, including against real
//! etcd servers.
