//! Tokens: which kind a member issues ([`TokenKind`], etcd's `--auth-token`), and the table of
//! the simple tokens `Authenticate` issued: which user each stands for.
//!
//! A JWT ([`super::jwt`]) carries its user and revision itself and is verified by the key; it
//! never enters the table. The rest of this module is about simple tokens.
//!
//! etcd hands every member the token through the log (its `Authenticate` is a raft request), so
//! a client may present it to any member; so does detcd, and the table is part of the replicated
//! state. A token dies with its user (delete, password change) and with auth (disable). Idle
//! expiry (`--auth-token-ttl`) is a matter of time, which apply does not read: each member keeps
//! its own clock of when it last saw each token (`member::auth`). So that the table stays
//! bounded without a clock, it keeps the newest [`MAX_TOKENS`] and drops the oldest beyond
//! them; a client whose token was dropped gets `InvalidAuthToken` and authenticates again, as
//! etcd's clients do after a TTL.

use super::jwt::JwtTokens;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How a member issues and resolves tokens (etcd's `--auth-token simple` or `jwt,...`).
#[derive(Debug, Clone, Default)]
pub enum TokenKind {
    /// Random strings, issued through the log into the replicated table.
    #[default]
    Simple,
    /// Signed JWTs, verified by the key on any member.
    Jwt(Arc<JwtTokens>),
}

impl PartialEq for TokenKind {
    fn eq(&self, other: &TokenKind) -> bool {
        match (self, other) {
            (TokenKind::Simple, TokenKind::Simple) => true,
            (TokenKind::Jwt(a), TokenKind::Jwt(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for TokenKind {}

/// How many tokens the table holds at most.
pub const MAX_TOKENS: usize = 4096;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Token -> (user, issue number).
    by_token: BTreeMap<String, (String, u64)>,
    /// Issue number -> token, oldest first.
    by_age: BTreeMap<u64, String>,
    issued: u64,
}

impl Tokens {
    pub fn issue(&mut self, token: &str, user: &str) {
        self.issued += 1;
        if let Some((_, old)) = self.by_token.insert(token.into(), (user.into(), self.issued)) {
            self.by_age.remove(&old);
        }
        self.by_age.insert(self.issued, token.into());
        while self.by_token.len() > MAX_TOKENS {
            let Some((_, oldest)) = self.by_age.pop_first() else { break };
            self.by_token.remove(&oldest);
        }
    }

    pub fn user(&self, token: &str) -> Option<&str> {
        self.by_token.get(token).map(|(user, _)| user.as_str())
    }

    pub fn drop_user(&mut self, user: &str) {
        let gone: Vec<u64> =
            self.by_token.values().filter(|(u, _)| u == user).map(|(_, n)| *n).collect();
        for n in gone {
            if let Some(token) = self.by_age.remove(&n) {
                self.by_token.remove(&token);
            }
        }
    }

    pub fn clear(&mut self) {
        self.by_token.clear();
        self.by_age.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_keeps_the_newest_tokens_and_forgets_dropped_users() {
        let mut tokens = Tokens::default();
        for i in 0..MAX_TOKENS + 2 {
            tokens.issue(&format!("t{i}"), if i % 2 == 0 { "a" } else { "b" });
        }
        assert_eq!(tokens.user("t0"), None, "the oldest went first");
        assert_eq!(tokens.user("t1"), None);
        assert_eq!(tokens.user("t2"), Some("a"));
        tokens.drop_user("a");
        assert_eq!(tokens.user("t2"), None);
        assert_eq!(tokens.user("t3"), Some("b"));
        assert_eq!(tokens.by_token.len(), tokens.by_age.len());
    }
}
