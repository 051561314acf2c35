//! A client certificate that is itself one of the trusted CA certificates.
//!
//! Go's TLS (so etcd, and etcd's own tests) accepts a client that presents a certificate found in
//! the trusted CA file: the chain is that one root, trusted as configured. webpki refuses it,
//! because the certificate is marked as a CA and a CA may not be an end entity. etcd 3.4's e2e
//! test `TestCtlV3AuthCertCNWithWithConcurrentOperation` runs exactly this way: one self-signed
//! certificate with common name `root` is the server's certificate, the CA file and the client's
//! certificate.
//!
//! Invariants: webpki's verdict stands whenever it accepts, and whenever the presented
//! certificate is not byte for byte one of the trusted certificates (`verify::ClientCheck` asks
//! here only after webpki refused). Such a certificate is then held to the checks Go makes of a
//! one-certificate chain: it is within its validity period, and its extended key usage, if it
//! has one, allows client authentication. Possession of the key is checked by the handshake's
//! signature as for any client.

use tokio_rustls::rustls::pki_types::{CertificateDer, UnixTime};

/// `Ok` when `end_entity` is one of `trusted` and usable by a client at `now`; else why not.
pub fn accepted_as_itself(
    trusted: &[CertificateDer<'static>],
    end_entity: &CertificateDer<'_>,
    now: UnixTime,
) -> Result<(), String> {
    if !trusted.iter().any(|cert| cert.as_ref() == end_entity.as_ref()) {
        return Err("not one of the trusted CA certificates".into());
    }
    let (_, cert) = x509_parser::parse_x509_certificate(end_entity.as_ref())
        .map_err(|e| format!("unparsable certificate: {e}"))?;
    let validity = cert.validity();
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if now < validity.not_before.timestamp() || now > validity.not_after.timestamp() {
        return Err(format!(
            "outside its validity period ({} to {})",
            validity.not_before, validity.not_after
        ));
    }
    match cert.extended_key_usage() {
        Ok(None) => Ok(()),
        Ok(Some(usage)) if usage.value.any || usage.value.client_auth => Ok(()),
        Ok(Some(_)) => Err("its extended key usage does not allow client authentication".into()),
        Err(e) => Err(format!("unreadable extended key usage: {e}")),
    }
}
