//! detcd-tests: end-to-end tests across crates (real processes, real clients).
//!
//! `cluster` starts real `detcd` processes on free loopback ports and `etcdctl` drives them with
//! the real etcd 3.4 command-line client, so these tests check wire compatibility, not just logic.
//! `real_etcd` starts real etcd 3.4 the same way, `servers` puts both behind one face, and
//! `suite` runs every client recipe over gRPC against either, so both are held to the same
//! behaviour. `certs` makes the TLS tests' certificates. Nothing is skipped silently: a missing `etcdctl` or `etcd` fails the test and says
//! how to install it.

pub mod background;
pub mod binaries;
pub mod certs;
pub mod cluster;
pub mod etcdctl;
pub mod normalize;
pub mod real_etcd;
pub mod scratch;
pub mod servers;
pub mod suite;
