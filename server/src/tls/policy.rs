//! `--cipher-suites`, `--tls-min-version` and `--tls-max-version`, as etcd 3.6 spells them.
//!
//! Versions are `TLS1.2` and `TLS1.3` (rustls has no TLS 1.0 or 1.1; asking for them is an
//! error, not a silent upgrade). Cipher suites are Go's names, which are the IANA names rustls
//! uses; as in Go, they choose among the TLS 1.2 suites only (TLS 1.3's are not configurable),
//! so giving them with TLS 1.3 as the minimum is refused as etcd refuses it.

use std::sync::Arc;
use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::{SupportedCipherSuite, SupportedProtocolVersion};

/// The crypto provider and protocol versions every TLS configuration of this process uses.
#[derive(Debug, Clone)]
pub struct Policy {
    pub provider: Arc<CryptoProvider>,
    pub versions: Vec<&'static SupportedProtocolVersion>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Version {
    Tls12,
    Tls13,
}

fn version(flag: &str, value: &str) -> Result<Version, String> {
    match value {
        "TLS1.2" => Ok(Version::Tls12),
        "TLS1.3" => Ok(Version::Tls13),
        "TLS1.0" | "TLS1.1" => Err(format!("{flag} {value}: not supported (TLS1.2 or TLS1.3)")),
        other => Err(format!("{flag} {other:?}: not a TLS version (TLS1.2 or TLS1.3)")),
    }
}

/// The suite's name as Go and IANA spell it.
fn name(suite: &SupportedCipherSuite) -> String {
    let id = suite.suite();
    id.as_str().map(String::from).unwrap_or_else(|| format!("{id:?}"))
}

/// Go also accepts the ChaCha20 suites without their `_SHA256` suffix.
fn canonical(name: &str) -> String {
    if name.ends_with("_CHACHA20_POLY1305") {
        format!("{name}_SHA256")
    } else {
        name.to_string()
    }
}

pub fn policy(
    cipher_suites: Option<&str>,
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Policy, String> {
    let min = min.filter(|v| !v.is_empty()).map(|v| version("--tls-min-version", v));
    let max = max.filter(|v| !v.is_empty()).map(|v| version("--tls-max-version", v));
    let min = min.transpose()?.unwrap_or(Version::Tls12);
    let max = max.transpose()?.unwrap_or(Version::Tls13);
    if min > max {
        return Err("--tls-min-version is above --tls-max-version".into());
    }
    // ring rather than aws-lc-rs: no C toolchain beyond what ring needs, on a two-core builder.
    // rustls marks it deprecated for lacking post-quantum key exchange, which etcd lacks too.
    #[allow(deprecated)]
    let mut provider = ring::default_provider();
    let wanted: Vec<&str> =
        cipher_suites.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if !wanted.is_empty() {
        if min == Version::Tls13 {
            return Err("--cipher-suites cannot be used with --tls-min-version TLS1.3 \
                        (TLS 1.3's cipher suites are not configurable)"
                .into());
        }
        let is_tls13 = |s: &SupportedCipherSuite| matches!(s, SupportedCipherSuite::Tls13(_));
        let available: Vec<SupportedCipherSuite> =
            provider.cipher_suites.iter().filter(|s| !is_tls13(s)).copied().collect();
        let mut chosen: Vec<SupportedCipherSuite> =
            provider.cipher_suites.iter().filter(|s| is_tls13(s)).copied().collect();
        for want in wanted {
            let found = available.iter().find(|s| name(s) == canonical(want));
            let Some(suite) = found else {
                let known: Vec<String> = available.iter().map(name).collect();
                return Err(format!(
                    "--cipher-suites: {want} is not supported (supported: {})",
                    known.join(",")
                ));
            };
            chosen.push(*suite);
        }
        provider.cipher_suites = chosen;
    }
    let versions = match (min, max) {
        (Version::Tls12, Version::Tls12) => vec![&tokio_rustls::rustls::version::TLS12],
        (Version::Tls13, _) => vec![&tokio_rustls::rustls::version::TLS13],
        (Version::Tls12, Version::Tls13) => {
            vec![&tokio_rustls::rustls::version::TLS13, &tokio_rustls::rustls::version::TLS12]
        }
    };
    Ok(Policy { provider: Arc::new(provider), versions })
}
