//! A client in the simulator: its own madsim node, talking to members over the network.
//!
//! It knows the members' addresses, sticks to one until that one cannot help (no leader known,
//! unreachable), then tries the next. A *pinned* client stays even when a write to its member
//! times out or the member answers "no leader", as a client with one endpoint does (an etcd client
//! behind a fixed address): it keeps talking to a leader that was cut off from its peers, which is
//! how stale-leader bugs show (only a member that stopped, or a read that got no answer, sends it
//! elsewhere). Its outcomes are three-valued, as a history needs them: a
//! request that got an answer is `Ok` or a definite failure; a request whose fate the client
//! cannot know (timed out after sending, the leader changed under it) is `Unknown`.

use crate::transport::{client_addr, ClientCall};
use detcd_core::member::{ClientRequest, ClientResponse};
use detcd_core::raft::types::NodeId;
use detcd_core::Error;
use madsim::net::Endpoint;
use std::time::Duration;

/// How a request ended, from the client's point of view.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Ok(ClientResponse),
    /// The cluster refused; nothing changed.
    Failed(Error),
    /// It may or may not have taken effect (and may still take effect later).
    Unknown(String),
}

impl Outcome {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }
}

pub struct SimClient {
    endpoint: Endpoint,
    members: Vec<NodeId>,
    current: usize,
    /// Per attempt.
    pub timeout: Duration,
    /// Stay on the current member after a write times out (see the module docs).
    pub pinned: bool,
}

/// Errors after which the request certainly did not take effect and another member may help.
fn retryable(error: &Error) -> bool {
    matches!(error, Error::NoLeader | Error::NotPrimary | Error::Stopped)
}

/// Errors that leave the outcome open.
fn indeterminate(error: &Error) -> bool {
    matches!(error, Error::Timeout | Error::LeaderChanged)
}

impl SimClient {
    /// A client of these members. Must be called on the client's own node.
    pub async fn connect(members: Vec<NodeId>) -> std::io::Result<SimClient> {
        let endpoint = Endpoint::bind("0.0.0.0:0").await?;
        Ok(SimClient {
            endpoint,
            members,
            current: 0,
            timeout: Duration::from_secs(3),
            pinned: false,
        })
    }

    /// Starts at the `index`-th member (modulo their number) instead of the first, so clients
    /// spread over the cluster and a partition has clients on both sides.
    pub fn start_at(&mut self, index: usize) {
        self.current = index;
    }

    /// Sends `request`, moving through the members on refusals that are safe to retry.
    pub async fn call(&mut self, request: ClientRequest) -> Outcome {
        let mut last_refusal = Error::NoLeader;
        for _ in 0..self.members.len() {
            let member = self.members[self.current % self.members.len()];
            let call = ClientCall(request.clone());
            match self.endpoint.call_timeout(client_addr(member), call, self.timeout).await {
                Ok(Ok(response)) => return Outcome::Ok(response),
                // A client with one endpoint is told "no leader" and asks the same member again
                // next time; only a member that stopped sends it elsewhere.
                Ok(Err(error)) if self.pinned && retryable(&error) && error != Error::Stopped => {
                    return Outcome::Failed(error);
                }
                Ok(Err(error)) if retryable(&error) => last_refusal = error,
                Ok(Err(error)) if indeterminate(&error) => {
                    return Outcome::Unknown(error.to_string());
                }
                Ok(Err(error)) => return Outcome::Failed(error),
                Err(error) if is_read(&request) => last_refusal = Error::Other(error.to_string()),
                Err(error) => {
                    // Sent, maybe served: unknown. The next request tries another member, unless
                    // the client is pinned to this one.
                    if !self.pinned {
                        self.current += 1;
                    }
                    return Outcome::Unknown(error.to_string());
                }
            }
            self.current += 1;
        }
        Outcome::Failed(last_refusal)
    }
}

/// Requests that change nothing may be retried elsewhere even when their fate is unknown.
fn is_read(request: &ClientRequest) -> bool {
    matches!(
        request,
        ClientRequest::Range(_)
            | ClientRequest::LeaseTimeToLive(_)
            | ClientRequest::LeaseLeases
            | ClientRequest::Status
            | ClientRequest::MemberList
            | ClientRequest::HashKv { .. }
    )
}
