//! Simple tokens' idle expiry on this member (etcd's `simpleTokenTTLKeeper`): a token unused for
//! `--auth-token-ttl` on this member's clock is refused here with `InvalidAuthToken` from then
//! on, and each use before that starts its TTL again, as etcd resets it.
//!
//! The replicated table (`auth::token`) says who a token stands for; when it was last used is
//! this member's own business and its own clock's, so it lives here, outside the state machine.
//! A member starts counting a token when it issues it or first sees it. The map stays bounded by
//! forgetting, when it grows past the replicated table's bound, the tokens that table no longer
//! holds (which no member accepts anyway); an expired token it still holds stays expired.

use crate::auth::token::MAX_TOKENS;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct TokenClock {
    /// Token -> when it was last used here, or `None` once it expired here.
    last_used: BTreeMap<String, Option<Duration>>,
}

impl TokenClock {
    /// Whether `token`, used now, is still alive here; if so its TTL starts again. `issued`
    /// says whether the replicated table still holds a token (for forgetting the rest).
    pub fn touch(
        &mut self,
        token: &str,
        now: Duration,
        ttl: Duration,
        issued: impl Fn(&str) -> bool,
    ) -> bool {
        match self.last_used.get(token) {
            Some(None) => return false,
            Some(Some(last)) if now.saturating_sub(*last) > ttl => {
                self.last_used.insert(token.to_string(), None);
                return false;
            }
            _ => {}
        }
        self.last_used.insert(token.to_string(), Some(now));
        if self.last_used.len() > 2 * MAX_TOKENS {
            self.last_used.retain(|token, _| issued(token));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_expires_after_its_ttl_unused_and_each_use_renews_it() {
        let ttl = Duration::from_secs(300);
        let mut clock = TokenClock::default();
        let at = |s| Duration::from_secs(s);
        assert!(clock.touch("t", at(10), ttl, |_| true));
        assert!(clock.touch("t", at(300), ttl, |_| true), "used within the TTL");
        assert!(clock.touch("t", at(600), ttl, |_| true), "renewed at 300 s");
        assert!(!clock.touch("t", at(901), ttl, |_| true), "idle past the TTL");
        assert!(!clock.touch("t", at(902), ttl, |_| true), "and expired for good");
        assert!(clock.touch("u", at(902), ttl, |_| true), "another token is its own");
    }
}
