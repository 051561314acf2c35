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
//! certificate is not byte for byte one of the trusted certificates. Only then is a refusal
//! revisited, with the checks Go makes of such a chain: the certificate is within its validity
//! period, and its extended key usage, if it has one, allows client authentication. Possession
//! of the key is checked by the handshake's signature as for any client.

use std::sync::Arc;
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::pki_types::{CertificateDer, UnixTime};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use tracing::debug;

/// webpki's client verifier, and the trusted certificates a client may present as themselves.
#[derive(Debug)]
pub struct AnchorAsLeaf {
    pub inner: Arc<dyn ClientCertVerifier>,
    pub trusted: Arc<[CertificateDer<'static>]>,
}

impl ClientCertVerifier for AnchorAsLeaf {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let refused = match self.inner.verify_client_cert(end_entity, intermediates, now) {
            Ok(verified) => return Ok(verified),
            Err(refused) => refused,
        };
        if !self.trusted.iter().any(|trusted| trusted.as_ref() == end_entity.as_ref()) {
            return Err(refused);
        }
        match usable_as_client(end_entity, now) {
            Ok(()) => {
                debug!("client presented a trusted CA certificate itself; accepted as Go does");
                Ok(ClientCertVerified::assertion())
            }
            Err(why) => {
                debug!(%why, "client presented a trusted CA certificate itself; refused");
                Err(refused)
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Go's checks of a one-certificate chain: valid at `now`, and client authentication allowed
/// by its extended key usage when it names any.
fn usable_as_client(der: &CertificateDer<'_>, now: UnixTime) -> Result<(), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
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
