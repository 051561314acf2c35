//! Certificate checks beyond chain validation: `--peer-cert-allowed-cn`, and the peer client's
//! acceptance of any server certificate where etcd skips verification.
//!
//! As in etcd, the allowed common name is required of the certificate at the other end of a peer
//! connection in both directions: of a connecting member's client certificate, and of the server
//! certificate of the member connected to. Signatures are always checked, also when the chain is
//! not: a peer must hold the key of the certificate it shows.

use super::identity::common_name;
use std::sync::Arc;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};

/// `Ok` when `allowed` is unset or is the certificate's common name.
fn check_cn(end_entity: &CertificateDer<'_>, allowed: Option<&str>) -> Result<(), Error> {
    let Some(allowed) = allowed else { return Ok(()) };
    match common_name(end_entity) {
        Some(cn) if cn == allowed => Ok(()),
        Some(cn) => Err(Error::General(format!(
            "certificate common name {cn:?} is not the allowed {allowed:?} (--peer-cert-allowed-cn)"
        ))),
        None => Err(Error::General(format!(
            "certificate has no common name, {allowed:?} is required (--peer-cert-allowed-cn)"
        ))),
    }
}

/// A client certificate verifier that also requires the allowed common name.
#[derive(Debug)]
pub struct AllowedCnClient {
    pub inner: Arc<dyn ClientCertVerifier>,
    pub allowed: String,
}

impl ClientCertVerifier for AllowedCnClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let verified = self.inner.verify_client_cert(end_entity, intermediates, now)?;
        check_cn(end_entity, Some(&self.allowed))?;
        Ok(verified)
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

/// The peer client's check of a member's server certificate: the chain against
/// `--peer-trusted-ca-file` when there is one (`inner`), none otherwise, then the allowed name.
#[derive(Debug)]
pub struct PeerServerCheck {
    pub inner: Option<Arc<dyn ServerCertVerifier>>,
    pub allowed: Option<String>,
    pub algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PeerServerCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if let Some(inner) = &self.inner {
            inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        }
        check_cn(end_entity, self.allowed.as_deref())?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
