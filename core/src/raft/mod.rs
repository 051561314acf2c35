//! Raft for detcd: openraft's type configuration, its log storage on the WAL, its state machine
//! (the member's replica); the peer network openraft talks through is `crate::peer`.
//!
//! openraft decides what is committed; this module makes that durable (log entries and votes are
//! fsynced before openraft hears they are stored) and applies committed commands to the replica
//! in log order. Nothing here knows whether it runs in the simulator or in the server.

mod group_commit;
pub mod log_store;
pub mod observer;
pub mod state_machine;
pub mod types;
