//! Sequential specifications for the linearizability checker.

pub mod etcd;
pub mod kv;
pub mod register;
