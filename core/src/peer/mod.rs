//! The wire between members: the messages (raft's RPCs and forwarded client requests), their
//! replies, the transport seam they cross, and openraft's network over it.
//!
//! It sits between `raft` (whose types it carries) and `member` (which serves what arrives and
//! sends what it forwards): it depends on raft's types and the API's, and on nothing in `member`,
//! so neither `raft` nor `peer` imports the module above it.

pub mod message;
pub mod raft_network;
pub mod request;

pub use message::{AppendEntries, Forward, InstallSnapshot, PreVote, RequestVote, TransferLeader};
pub use message::{BoxFuture, Noticed, OnLeftOut, PeerCall, PeerMessage, PeerTransport};
pub use message::{RaftReply, Reply};
pub use raft_network::Network;
pub use request::{ForwardReply, Forwarded, ForwardedRange, MembershipChange, ReadIndex};
