//! A request that goes through the log: it becomes one `Command`, and applying that command
//! answers with the `Response` variant of the same name.
//!
//! openraft gives a log one entry type and one answer type, so the log needs the `Command` and
//! `Response` enums (they are also the WAL's format). A proposer never handles them: it proposes
//! a typed request and gets its typed answer back ([`Proposal::applied`]). The pairs are declared
//! once, here, next to each other, and `StateMachine::apply` answers every command with its own
//! variant; that is the invariant `applied` relies on.

use super::alarm::{AlarmRequest, AlarmResponse};
use super::downgrade::{DowngradeInfoSet, DowngradeInfoSetResponse};
use super::{Command, Response};
use crate::api::{
    CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
    LeaseGrantRequest, LeaseGrantResponse, LeaseRevokeRequest, LeaseRevokeResponse, PutRequest,
    PutResponse, RangeRequest, RangeResponse, TxnRequest, TxnResponse,
};

/// A request proposed through raft, and what applying it answers.
pub trait Proposal: Sized {
    type Applied;

    /// The log entry this request becomes.
    fn into_command(self) -> Command;

    /// The answer in `response`, or `response` itself when it answers another kind of command.
    /// A response from this member's own state machine always matches (see the module docs);
    /// one that came over the wire may not.
    fn applied(response: Response) -> Result<Self::Applied, Response>;
}

macro_rules! proposals {
    ($($request:ty => $variant:ident($answer:ty),)*) => {$(
        impl Proposal for $request {
            type Applied = $answer;

            fn into_command(self) -> Command {
                Command::$variant(self)
            }

            fn applied(response: Response) -> Result<$answer, Response> {
                match response {
                    Response::$variant(answer) => Ok(answer),
                    other => Err(other),
                }
            }
        }
    )*};
}

proposals! {
    // A range through the log (an authorized range a follower sends to the leader, `Command::As`).
    RangeRequest => Range(RangeResponse),
    PutRequest => Put(PutResponse),
    DeleteRangeRequest => DeleteRange(DeleteRangeResponse),
    TxnRequest => Txn(TxnResponse),
    CompactionRequest => Compact(CompactionResponse),
    LeaseGrantRequest => LeaseGrant(LeaseGrantResponse),
    LeaseRevokeRequest => LeaseRevoke(LeaseRevokeResponse),
    AlarmRequest => Alarm(AlarmResponse),
    DowngradeInfoSet => DowngradeInfoSet(DowngradeInfoSetResponse),
}
