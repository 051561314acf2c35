//! etcd's `--auth-token` value: `simple`, or `jwt,sign-method=...,pub-key=FILE,priv-key=FILE,ttl=...`
//! (etcd 3.4's `auth/options.go`), turned into the core's token kind.
//!
//! As etcd: `sign-method` is required (RS256/384/512, PS256/384/512, ES256/384, HS256/384/512;
//! ES512 has no implementation here and is refused by name); `ttl` is a Go duration (default
//! 5m); an RSA or ECDSA method needs the private key to sign and verifies with its public half,
//! or with `pub-key` when given; a public key alone verifies only; an HMAC method uses
//! `priv-key`'s bytes as its secret. Unknown options are ignored, as etcd warns and goes on.
//!
//! Every mistake is one start-up error naming the flag (and the file, when a key file is
//! missing, unreadable or not a key of the method's kind).

use crate::go_duration::go_duration;
use detcd_core::auth::jwt::{JwtTokens, UnixTime};
use detcd_core::auth::token::TokenKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The system clock as the core's source of Unix time.
struct SystemUnixTime;

impl UnixTime for SystemUnixTime {
    fn since_epoch(&self) -> Duration {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
    }
}

/// The token kind `--auth-token` names, or the start-up error.
pub fn parse(value: &str) -> Result<TokenKind, String> {
    let mut parts = value.split(',');
    match parts.next().unwrap_or("") {
        "simple" => Ok(TokenKind::Simple),
        "jwt" => {
            let mut options = BTreeMap::new();
            for part in parts.filter(|p| !p.is_empty()) {
                let (key, value) = part.split_once('=').ok_or_else(|| {
                    format!("--auth-token: option {part:?} is not of the form key=value")
                })?;
                options.insert(key.to_string(), value.to_string());
            }
            jwt(&options).map(|tokens| TokenKind::Jwt(Arc::new(tokens)))
        }
        other => Err(format!("--auth-token: unknown token type {other:?}")),
    }
}

fn jwt(options: &BTreeMap<String, String>) -> Result<JwtTokens, String> {
    let ttl = match options.get("ttl").map(String::as_str) {
        None | Some("") => Duration::from_secs(300),
        Some(ttl) => go_duration(ttl).ok_or_else(|| {
            format!("--auth-token: ttl={ttl:?} is not a duration (e.g. 5m, 300s)")
        })?,
    };
    let method = options.get("sign-method").map(String::as_str).unwrap_or("");
    let algorithm = match method {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "ES512" => return Err("--auth-token: sign-method=ES512 is not supported".into()),
        "" => return Err("--auth-token: jwt needs sign-method (e.g. sign-method=RS256)".into()),
        other => return Err(format!("--auth-token: unknown sign-method {other:?}")),
    };
    let read = |option: &str| -> Result<Option<(String, Vec<u8>)>, String> {
        match options.get(option).filter(|file| !file.is_empty()) {
            None => Ok(None),
            Some(file) => std::fs::read(file)
                .map(|bytes| Some((file.clone(), bytes)))
                .map_err(|e| format!("--auth-token: cannot read {option} file {file}: {e}")),
        }
    };
    let (private, public) = (read("priv-key")?, read("pub-key")?);
    let (signing, verifying) = match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            let (_, secret) = private
                .ok_or("--auth-token: an HMAC sign-method needs priv-key (the secret's file)")?;
            (Some(EncodingKey::from_secret(&secret)), DecodingKey::from_secret(&secret))
        }
        _ => asymmetric(algorithm, private, public)?,
    };
    Ok(JwtTokens::new(algorithm, signing, verifying, ttl, Arc::new(SystemUnixTime)))
}

fn is_ec(algorithm: Algorithm) -> bool {
    matches!(algorithm, Algorithm::ES256 | Algorithm::ES384)
}

/// The keys of an RSA or ECDSA method: the private key signs; the public key (given, or the
/// private key's own half) verifies.
fn asymmetric(
    algorithm: Algorithm,
    private: Option<(String, Vec<u8>)>,
    public: Option<(String, Vec<u8>)>,
) -> Result<(Option<EncodingKey>, DecodingKey), String> {
    let kind = if is_ec(algorithm) { "an ECDSA" } else { "an RSA" };
    let bad = |option: &str, file: &str, why: String| {
        format!("--auth-token: {option} file {file} is not {kind} key: {why}")
    };
    let signing = match &private {
        None => None,
        Some((file, pem)) => Some(
            match is_ec(algorithm) {
                true => EncodingKey::from_ec_pem(pem),
                false => EncodingKey::from_rsa_pem(pem),
            }
            .map_err(|e| bad("priv-key", file, e.to_string()))?,
        ),
    };
    let verifying = match (&public, &private) {
        (Some((file, pem)), _) => match is_ec(algorithm) {
            true => DecodingKey::from_ec_pem(pem),
            false => DecodingKey::from_rsa_pem(pem),
        }
        .map_err(|e| bad("pub-key", file, e.to_string()))?,
        (None, Some((file, pem))) => {
            public_half(algorithm, pem).map_err(|why| bad("priv-key", file, why))?
        }
        (None, None) => {
            return Err("--auth-token: jwt needs priv-key, pub-key or both".into());
        }
    };
    Ok((signing, verifying))
}

/// The verifying key of a PEM private key (PKCS#8, or PKCS#1 for RSA).
fn public_half(algorithm: Algorithm, pem: &[u8]) -> Result<DecodingKey, String> {
    use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
    let block = pem::parse(pem).map_err(|e| e.to_string())?;
    let der = block.contents();
    if is_ec(algorithm) {
        let alg = match algorithm {
            Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            _ => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        };
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(alg, der, &rng).map_err(|e| e.to_string())?;
        return Ok(DecodingKey::from_ec_der(pair.public_key().as_ref()));
    }
    let pair = match block.tag() {
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(der),
        _ => RsaKeyPair::from_pkcs8(der),
    }
    .map_err(|e| e.to_string())?;
    Ok(DecodingKey::from_rsa_der(pair.public().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_the_flag_and_the_file() {
        let error = parse("jwt,priv-key=/nonexistent/key.pem,sign-method=RS256").unwrap_err();
        assert!(
            error.contains("--auth-token") && error.contains("/nonexistent/key.pem"),
            "{error}"
        );
        let error = parse("jwt,priv-key=/x").unwrap_err();
        assert!(error.contains("sign-method"), "{error}");
        let error = parse("jwt,sign-method=RS999").unwrap_err();
        assert!(error.contains("RS999"), "{error}");
        let error = parse("jwt,sign-method=RS256,ttl=forever").unwrap_err();
        assert!(error.contains("ttl"), "{error}");
        assert!(parse("bogus").unwrap_err().contains("bogus"));
        assert_eq!(parse("simple"), Ok(TokenKind::Simple));
    }

    #[test]
    fn a_file_that_is_not_a_key_is_named() {
        let dir = std::env::temp_dir().join(format!("detcd-jwt-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("not-a-key.pem");
        std::fs::write(&file, "hello").expect("written");
        let value = format!("jwt,priv-key={},sign-method=ES256", file.display());
        let error = parse(&value).unwrap_err();
        assert!(error.contains("priv-key") && error.contains("not-a-key.pem"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn keys_from_rcgen_sign_and_verify() {
        let dir = std::env::temp_dir().join(format!("detcd-jwt-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        // rcgen on ring generates no RSA keys: the RSA methods are exercised by etcd's e2e JWT
        // tests (scripts/etcd-e2e), whose fixtures are an RSA key and certificate.
        for (method, alg) in
            [("ES256", &rcgen::PKCS_ECDSA_P256_SHA256), ("ES384", &rcgen::PKCS_ECDSA_P384_SHA384)]
        {
            let key = rcgen::KeyPair::generate_for(alg).expect("a key");
            let (private, public) =
                (dir.join(format!("{method}.key")), dir.join(format!("{method}.pub")));
            std::fs::write(&private, key.serialize_pem()).expect("written");
            std::fs::write(&public, key.public_key_pem()).expect("written");
            for options in [
                format!("jwt,priv-key={},sign-method={method}", private.display()),
                format!(
                    "jwt,priv-key={},pub-key={},sign-method={method},ttl=1h",
                    private.display(),
                    public.display()
                ),
            ] {
                let Ok(TokenKind::Jwt(jwt)) = parse(&options) else { panic!("{options}") };
                let token = jwt.sign("alice", 3).expect("signed");
                let info = jwt.verify(&token).expect("verified");
                assert_eq!((info.user.as_str(), info.revision), ("alice", 3));
            }
            let verify_only = format!("jwt,pub-key={},sign-method={method}", public.display());
            let Ok(TokenKind::Jwt(jwt)) = parse(&verify_only) else { panic!("{verify_only}") };
            assert!(jwt.sign("alice", 3).is_err(), "a public key alone only verifies");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
