//! Password hashes: bcrypt at etcd's cost (`--bcrypt-cost`, 10 by default), salted from the
//! member's seeded randomness so a simulated run replays. Hashing is slow by design, so it runs
//! on the member that receives the request, before it proposes; apply only stores the hash.

use crate::error::{Error, Result};

/// etcd's default `--bcrypt-cost`.
pub const DEFAULT_COST: u32 = 10;
/// bcrypt's smallest cost (what tests use, to stay fast).
pub const MIN_COST: u32 = 4;
/// bcrypt's largest cost.
pub const MAX_COST: u32 = 31;

/// The bcrypt hash of `password` at `cost`, with a salt from the member's random source.
pub fn hash(password: &str, cost: u32) -> Result<String> {
    let mut salt = [0u8; 16];
    for byte in salt.iter_mut() {
        *byte = madsim::rand::random::<u8>();
    }
    hash_salted(password, cost, salt)
}

/// The bcrypt hash of `password` at `cost` with `salt`.
fn hash_salted(password: &str, cost: u32, salt: [u8; 16]) -> Result<String> {
    bcrypt::hash_with_salt(password, cost, salt)
        .map(|hashed| hashed.to_string())
        .map_err(|e| Error::Other(format!("failed to hash password: {e}")))
}

/// Whether `password` matches `hash`; a hash that does not parse matches nothing.
pub fn verify(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        // A fixed salt: the member's random source needs a runtime the simulator build's unit
        // tests do not have.
        let hashed = hash_salted("secret", MIN_COST, [7; 16]).expect("hashes");
        assert!(hashed.starts_with("$2b$04$"));
        assert!(verify("secret", &hashed));
        assert!(!verify("Secret", &hashed));
        assert!(!verify("secret", "not a hash"));
    }
}
