//! What a member's replica reports as it applies, for a harness that checks invariants (the
//! simulator compares every member's applied entries). Defined beside the state machine that
//! reports it, so raft depends on nothing above it; `member` re-exports both types.

use super::types::NodeId;
use std::sync::Arc;

/// Something a member reports as it happens, for a harness that checks invariants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberEvent {
    /// The member applied the entry at `index` (from `term`); `digest` identifies the command,
    /// `revision` is the store revision after it.
    Applied { member: NodeId, index: u64, term: u64, digest: u64, revision: i64 },
}

/// Receives a member's events. Called inline while applying: it must be quick and must not block.
#[derive(Clone)]
pub struct MemberObserver(pub Arc<dyn Fn(MemberEvent) + Send + Sync>);

impl std::fmt::Debug for MemberObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemberObserver")
    }
}
