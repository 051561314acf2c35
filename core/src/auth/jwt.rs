//! JWT tokens (etcd's `--auth-token jwt,...`): a signed claim of who the caller is and the auth
//! revision it was issued at, which any member holding the key verifies on its own.
//!
//! The claims are etcd's (`auth/jwt.go`): `username`, `revision` and `exp` (Unix seconds, issue
//! time plus the TTL). A token resolves to the `AuthInfo` it names, with the revision it was
//! issued at, not the store's current one: once a permission changes, the token's requests get
//! `AuthOldRevision` and the client authenticates again, as etcd's clients do. Unlike simple
//! tokens, JWTs are not kept in the replicated table.
//!
//! Invariants: the core reads no file and no clock here: the server hands over the keys (read
//! from the flag's files) and the source of Unix time ([`UnixTime`]); expiry is checked against
//! that source, never by the JWT library's own clock. A key without its private half only
//! verifies: signing with it is refused, as etcd's verify-only mode is.

use super::info::AuthInfo;
use crate::error::{Error, Result};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The time since the Unix epoch, for `exp` (the server's system clock).
pub trait UnixTime: Send + Sync {
    fn since_epoch(&self) -> Duration;
}

/// etcd's claims, in the order Go's JSON encoder writes a map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Claims {
    exp: u64,
    revision: u64,
    username: String,
}

/// Issues and verifies JWT tokens with one key and signing method.
pub struct JwtTokens {
    algorithm: Algorithm,
    /// `None`: verify only (only a public key was given).
    signing: Option<EncodingKey>,
    verifying: DecodingKey,
    ttl: Duration,
    clock: Arc<dyn UnixTime>,
}

impl std::fmt::Debug for JwtTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtTokens")
            .field("algorithm", &self.algorithm)
            .field("verify_only", &self.signing.is_none())
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl JwtTokens {
    pub fn new(
        algorithm: Algorithm,
        signing: Option<EncodingKey>,
        verifying: DecodingKey,
        ttl: Duration,
        clock: Arc<dyn UnixTime>,
    ) -> JwtTokens {
        JwtTokens { algorithm, signing, verifying, ttl, clock }
    }

    /// A token for `user` at auth revision `revision`, valid for the TTL from now.
    pub fn sign(&self, user: &str, revision: u64) -> Result<String> {
        let key = self.signing.as_ref().ok_or_else(|| {
            Error::Other("auth: token signing attempted with verify-only key".into())
        })?;
        let exp = (self.clock.since_epoch() + self.ttl).as_secs();
        let claims = Claims { exp, revision, username: user.to_string() };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, key)
            .map_err(|e| Error::Other(format!("failed to sign a JWT token: {e}")))
    }

    /// Who `token` names, if it is signed by this key with this method and has not expired.
    pub fn verify(&self, token: &str) -> Option<AuthInfo> {
        let mut validation = Validation::new(self.algorithm);
        // Expiry is checked below, against the server's clock as the core is handed it.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<Claims>(token, &self.verifying, &validation).ok()?;
        let now = self.clock.since_epoch().as_secs();
        if data.claims.exp < now || data.claims.username.is_empty() {
            return None;
        }
        Some(AuthInfo { user: data.claims.username, revision: data.claims.revision })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Fixed(AtomicU64);

    impl UnixTime for Fixed {
        fn since_epoch(&self) -> Duration {
            Duration::from_secs(self.0.load(Ordering::SeqCst))
        }
    }

    fn tokens(secret: &[u8], clock: Arc<Fixed>) -> JwtTokens {
        JwtTokens::new(
            Algorithm::HS256,
            Some(EncodingKey::from_secret(secret)),
            DecodingKey::from_secret(secret),
            Duration::from_secs(300),
            clock,
        )
    }

    #[test]
    fn a_token_names_its_user_and_revision_until_it_expires() {
        let clock = Arc::new(Fixed(AtomicU64::new(1_000_000)));
        let jwt = tokens(b"secret", clock.clone());
        let token = jwt.sign("alice", 7).expect("signed");
        assert_eq!(jwt.verify(&token), Some(AuthInfo { user: "alice".into(), revision: 7 }));
        clock.0.store(1_000_300, Ordering::SeqCst);
        assert!(jwt.verify(&token).is_some(), "valid through its exp second");
        clock.0.store(1_000_301, Ordering::SeqCst);
        assert_eq!(jwt.verify(&token), None, "expired");
    }

    #[test]
    fn another_key_or_a_mangled_token_is_refused() {
        let clock = Arc::new(Fixed(AtomicU64::new(1_000_000)));
        let token = tokens(b"secret", clock.clone()).sign("alice", 7).expect("signed");
        assert_eq!(tokens(b"other", clock.clone()).verify(&token), None);
        let jwt = tokens(b"secret", clock);
        assert_eq!(jwt.verify(&format!("{token}x")), None);
        assert_eq!(jwt.verify("not-a-jwt"), None);
    }

    #[test]
    fn a_verify_only_key_refuses_to_sign() {
        let clock = Arc::new(Fixed(AtomicU64::new(0)));
        let jwt = JwtTokens::new(
            Algorithm::HS256,
            None,
            DecodingKey::from_secret(b"secret"),
            Duration::from_secs(1),
            clock,
        );
        assert!(jwt.sign("alice", 1).is_err());
    }
}
