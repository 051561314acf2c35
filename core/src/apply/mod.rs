//! The replicated state machine: commands from the raft log in, responses and events out.
//!
//! - [`alarm`]: the raised alarms (NOSPACE caps what `apply` accepts);
//! - [`downgrade`]: the cluster's downgrade state (etcd's `Downgrade` enable / cancel);
//! - [`command`]: the [`Command`] enum (everything that goes through the log), the [`Response`]
//!   enum, and the size check every command passes before it changes anything;
//! - [`state_machine`]: [`StateMachine`] = MVCC store + lessor + last applied index, with one
//!   write entry point, [`StateMachine::apply`], and the read paths;
//! - [`counters`]: how many puts, deletes, ranges and txns this member applied (etcd's mvcc
//!   metrics; process-local, never replicated);
//! - [`import`]: a state machine from an imported store and leases (etcd snapshots);
//! - [`snapshot`]: the whole state as bytes and back, exactly.
//!
//! Determinism: `apply` is a pure function of (state, command). It reads no clock (lease expiry
//! arrives as a `LeaseRevoke` command the leader proposed), iterates only ordered maps, and a
//! refused command leaves the store, its revision and every lease untouched.

pub mod alarm;
pub mod command;
pub mod counters;
pub mod downgrade;
pub mod import;
pub mod proposal;
pub mod snapshot;
pub mod state_machine;

pub use alarm::{AlarmAction, AlarmMember, AlarmRequest, AlarmResponse, AlarmType, Alarms};
pub use command::{Command, Response, MAX_REQUEST_BYTES};
pub use counters::ApplyCounters;
pub use downgrade::{DowngradeAction, DowngradeInfo, DowngradeInfoSet, DowngradeRequest};
pub use downgrade::{DowngradeInfoSetResponse, DowngradeResponse};
pub use proposal::Proposal;
pub use state_machine::StateMachine;
