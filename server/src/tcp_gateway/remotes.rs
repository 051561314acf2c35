//! The gateway's endpoints and which of them it sends new connections to.
//!
//! As etcd's `tcpproxy`: a new connection goes to the next active endpoint in turn (round
//! robin); an endpoint that refuses a connection is made inactive and skipped until a probe
//! every `--retry-delay` reaches it again. With every endpoint inactive, a new connection is
//! closed at once. Invariant: `next` only ever moves forward, so turns stay fair whichever
//! endpoints come and go.

/// One endpoint: `host:port`, and whether connections go to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub addr: String,
    pub active: bool,
}

#[derive(Debug)]
pub struct Remotes {
    list: Vec<Remote>,
    next: usize,
}

impl Remotes {
    /// Every endpoint starts active.
    pub fn new(addrs: Vec<String>) -> Remotes {
        Remotes {
            list: addrs.into_iter().map(|addr| Remote { addr, active: true }).collect(),
            next: 0,
        }
    }

    /// The address the next connection goes to, or `None` when no endpoint is active.
    pub fn pick(&mut self) -> Option<String> {
        for _ in 0..self.list.len() {
            let remote = &self.list[self.next % self.list.len()];
            self.next = self.next.wrapping_add(1);
            if remote.active {
                return Some(remote.addr.clone());
            }
        }
        None
    }

    /// `addr` refused a connection: skip it until a probe reaches it.
    pub fn deactivate(&mut self, addr: &str) {
        self.set_active(addr, false);
    }

    /// A probe reached `addr`: connections go to it again.
    pub fn activate(&mut self, addr: &str) {
        self.set_active(addr, true);
    }

    /// The endpoints a probe should try.
    pub fn inactive(&self) -> Vec<String> {
        self.list.iter().filter(|r| !r.active).map(|r| r.addr.clone()).collect()
    }

    fn set_active(&mut self, addr: &str, active: bool) {
        for remote in self.list.iter_mut().filter(|r| r.addr == addr) {
            remote.active = active;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remotes() -> Remotes {
        Remotes::new(vec!["a:1".into(), "b:1".into(), "c:1".into()])
    }

    #[test]
    fn connections_go_to_the_endpoints_in_turn() {
        let mut remotes = remotes();
        let picks: Vec<_> = (0..4).map(|_| remotes.pick().unwrap()).collect();
        assert_eq!(picks, ["a:1", "b:1", "c:1", "a:1"]);
    }

    #[test]
    fn an_inactive_endpoint_is_skipped_until_it_is_activated_again() {
        let mut remotes = remotes();
        remotes.deactivate("b:1");
        let picks: Vec<_> = (0..4).map(|_| remotes.pick().unwrap()).collect();
        assert_eq!(picks, ["a:1", "c:1", "a:1", "c:1"]);
        assert_eq!(remotes.inactive(), ["b:1"]);
        remotes.activate("b:1");
        assert!(remotes.inactive().is_empty());
        let picks: Vec<_> = (0..3).map(|_| remotes.pick().unwrap()).collect();
        assert_eq!(picks, ["a:1", "b:1", "c:1"]);
    }

    #[test]
    fn with_every_endpoint_inactive_there_is_none_to_pick() {
        let mut remotes = remotes();
        for addr in ["a:1", "b:1", "c:1"] {
            remotes.deactivate(addr);
        }
        assert_eq!(remotes.pick(), None);
        remotes.activate("c:1");
        assert_eq!(remotes.pick().as_deref(), Some("c:1"));
    }
}
