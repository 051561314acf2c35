//! `--peer-cert-allowed-hostname`: the name a peer's certificate must be valid for, in both
//! directions (a connecting member's client certificate and the server certificate of the member
//! connected to), as etcd checks it with Go's `VerifyHostname`.
//!
//! A certificate is valid for a host name when one of its DNS subject alternative names matches
//! it (ASCII case-insensitively; a `*` as the whole leftmost label matches exactly one label), and
//! for an IP address when one of its IP subject alternative names is that address. The subject's
//! common name is not consulted (Go stopped doing so in 1.15). A certificate that does not parse
//! is valid for nothing.

use std::net::IpAddr;
use tokio_rustls::rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;

/// Whether `der` is valid for `host` (a DNS name or an IP address).
pub fn valid_for(der: &CertificateDer<'_>, host: &str) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else { return false };
    let Ok(Some(names)) = cert.subject_alternative_name() else { return false };
    let ip: Option<IpAddr> = host.trim_start_matches('[').trim_end_matches(']').parse().ok();
    names.value.general_names.iter().any(|name| match (name, ip) {
        (GeneralName::IPAddress(bytes), Some(ip)) => ip_of(bytes) == Some(ip),
        (GeneralName::DNSName(pattern), None) => dns_matches(pattern, host),
        _ => false,
    })
}

fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// A DNS name pattern against a host name; a trailing dot on either is ignored.
fn dns_matches(pattern: &str, host: &str) -> bool {
    let (pattern, host) = (pattern.trim_end_matches('.'), host.trim_end_matches('.'));
    if pattern.eq_ignore_ascii_case(host) {
        return true;
    }
    let Some(suffix) = pattern.strip_prefix("*.") else { return false };
    match host.split_once('.') {
        Some((label, rest)) => !label.is_empty() && rest.eq_ignore_ascii_case(suffix),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair};

    fn cert(names: &[&str]) -> CertificateDer<'static> {
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.self_signed(&KeyPair::generate().unwrap()).unwrap().der().clone()
    }

    #[test]
    fn dns_names_match_case_insensitively_and_wildcards_match_one_label() {
        let der = cert(&["Example.com", "*.peers.example.com"]);
        assert!(valid_for(&der, "example.com"));
        assert!(valid_for(&der, "example.com."));
        assert!(valid_for(&der, "m1.peers.example.com"));
        assert!(!valid_for(&der, "a.m1.peers.example.com"));
        assert!(!valid_for(&der, "peers.example.com"));
        assert!(!valid_for(&der, "example2.com"));
    }

    #[test]
    fn addresses_match_ip_names_only() {
        let der = cert(&["127.0.0.1", "::1", "localhost"]);
        assert!(valid_for(&der, "127.0.0.1"));
        assert!(valid_for(&der, "[::1]"));
        assert!(valid_for(&der, "localhost"));
        assert!(!valid_for(&der, "127.0.0.2"));
        assert!(!valid_for(&cert(&["127.0.0.1.example"]), "127.0.0.1"));
    }

    #[test]
    fn bytes_that_are_not_a_certificate_are_valid_for_nothing() {
        assert!(!valid_for(&CertificateDer::from(vec![1, 2, 3]), "localhost"));
    }
}
