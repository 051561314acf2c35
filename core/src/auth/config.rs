//! A member's auth settings: etcd's `--auth-token`, `--auth-token-ttl` and `--bcrypt-cost`.

use super::password::DEFAULT_COST;
use super::token::TokenKind;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// How long a simple token may go unused on a member before it expires there (etcd: 300 s).
    pub token_ttl: Duration,
    /// bcrypt's cost for new password hashes (etcd: 10).
    pub bcrypt_cost: u32,
    /// Simple tokens or JWTs.
    pub tokens: TokenKind,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            token_ttl: Duration::from_secs(300),
            bcrypt_cost: DEFAULT_COST,
            tokens: TokenKind::Simple,
        }
    }
}
