//! A client in the simulator: its own madsim node, talking to members over the network.
//!
//! It knows the members' addresses, sticks to one until that one cannot help (no leader known,
//! unreachable), then tries the next. A *pinned* client stays even when a write to its member
//! times out or the member answers "no leader", as a client with one endpoint does (an etcd client
//! behind a fixed address): it keeps talking to a leader that was cut off from its peers, which is
//! how stale-leader bugs show (only a member that stopped, or a read that got no answer, sends it
//! elsewhere). What each failure means, and when a request goes on to the next member, is
//! decided by `detcd_core::client::outcome`. Its outcomes are
//! three-valued, as a history needs them: a
//! request that got an answer is `Ok` or a definite failure; a request whose fate the client
//! cannot know (timed out after sending, the leader changed under it) is `Unknown`.

use crate::transport::{client_addr, Carried, ClientCall};
use detcd_core::auth::Caller;
use detcd_core::client::outcome::{self, Class, Failure};
use detcd_core::raft::types::NodeId;
use detcd_core::Error;
use madsim::net::Endpoint;
use std::time::Duration;

/// How a request ended, from the client's point of view.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    /// The request's own answer.
    Ok(T),
    /// The cluster refused; nothing changed.
    Failed(Error),
    /// It may or may not have taken effect (and may still take effect later).
    Unknown(String),
}

impl<T> Outcome<T> {
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }

    /// The answer, if there is one.
    pub fn ok(self) -> Option<T> {
        match self {
            Outcome::Ok(answer) => Some(answer),
            Outcome::Failed(_) | Outcome::Unknown(_) => None,
        }
    }

    /// The same outcome, with the answer (if any) turned into what the caller keeps of it.
    pub fn map<U>(self, keep: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Ok(answer) => Outcome::Ok(keep(answer)),
            Outcome::Failed(error) => Outcome::Failed(error),
            Outcome::Unknown(why) => Outcome::Unknown(why),
        }
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
    /// Who the client is to the members (its token, as a real client sends one); `Internal`
    /// unless a scenario authenticates, so members check nothing for it.
    pub caller: Caller,
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
            caller: Caller::Internal,
        })
    }

    /// Starts at the `index`-th member (modulo their number) instead of the first, so clients
    /// spread over the cluster and a partition has clients on both sides.
    pub fn start_at(&mut self, index: usize) {
        self.current = index;
    }

    /// Sends `request`, moving through the members while the one outcome classification
    /// (`detcd_core::client::outcome`) sends it on.
    pub async fn call<R: Carried>(&mut self, request: R) -> Outcome<R::Answer> {
        let read = outcome::is_read(request.rpc());
        let mut last_refusal = Error::NoLeader;
        for _ in 0..self.members.len() {
            let member = self.members[self.current % self.members.len()];
            let call = ClientCall(self.caller.clone(), request.clone());
            let answer = self.endpoint.call_timeout(client_addr(member), call, self.timeout).await;
            let failure = match answer {
                Ok(Ok(response)) => return Outcome::Ok(response),
                Ok(Err(error)) => Failure::Answered(error),
                Err(error) => Failure::NoAnswer(error.to_string()),
            };
            let resend = outcome::resend(&failure, read);
            let class = outcome::classify(&failure);
            match failure {
                // A client with one endpoint is told "no leader" and asks the same member again
                // next time; only a member that stopped sends it elsewhere.
                Failure::Answered(error) if self.pinned && resend && error != Error::Stopped => {
                    return Outcome::Failed(error);
                }
                Failure::Answered(error) if resend => last_refusal = error,
                Failure::Answered(error) if class == Class::Unknown => {
                    return Outcome::Unknown(error.to_string());
                }
                Failure::Answered(error) => return Outcome::Failed(error),
                // A read that got no answer changed nothing: the next member may answer it.
                Failure::NoAnswer(why) | Failure::NotDelivered(why) if resend => {
                    last_refusal = Error::Other(why);
                }
                Failure::NoAnswer(why) | Failure::NotDelivered(why) => {
                    // Sent, maybe served: unknown. The next request tries another member, unless
                    // the client is pinned to this one.
                    if !self.pinned {
                        self.current += 1;
                    }
                    return Outcome::Unknown(why);
                }
            }
            self.current += 1;
        }
        Outcome::Failed(last_refusal)
    }
}
