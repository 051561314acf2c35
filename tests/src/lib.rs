//! detcd-tests: end-to-end tests across crates (real processes, real clients).
//!
//! `cluster` starts real `detcd` processes on free loopback ports and `etcdctl` drives them with
//! the real etcd 3.4 command-line client, so these tests check wire compatibility, not just logic.
//! Nothing is skipped silently: a missing `etcdctl` fails the test and says how to install it.

pub mod cluster;
pub mod etcdctl;
