//! Certificate checks beyond webpki's chain validation: `--peer-cert-allowed-cn`,
//! `--peer-cert-allowed-hostname`, the revocation lists
//! (`--client-crl-file`, `--peer-crl-file`), a client certificate that is itself a trusted CA
//! certificate (accepted as Go accepts it, `anchor_leaf`), and the peer client's acceptance of
//! any server certificate where etcd skips verification.
//!
//! As in etcd, the allowed common name is required of the certificate at the other end of a peer
//! connection in both directions: of a connecting member's client certificate, and of the server
//! certificate of the member connected to. Signatures are always checked, also when the chain is
//! not: a peer must hold the key of the certificate it shows.

use super::anchor_leaf::accepted_as_itself;
use super::crl::RevocationFile;
use super::hostname::valid_for;
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
use tokio_rustls::rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme,
};
use tracing::{debug, warn};

/// `Ok` when `allowed` is unset or is the certificate's common name; else the reason.
fn check_cn(end_entity: &CertificateDer<'_>, allowed: Option<&str>) -> Result<(), String> {
    let Some(allowed) = allowed else { return Ok(()) };
    match common_name(end_entity) {
        Some(cn) if cn == allowed => Ok(()),
        Some(cn) => Err(format!(
            "CommonName authentication failed: certificate common name {cn:?} is not the allowed \
             {allowed:?} (--peer-cert-allowed-cn)"
        )),
        None => Err(format!(
            "CommonName authentication failed: certificate has no common name, {allowed:?} is \
             required (--peer-cert-allowed-cn)"
        )),
    }
}

/// `Ok` when `allowed` is unset or the certificate is valid for that host name; else the reason
/// (etcd's words first: operators and etcd's tests look for them).
fn check_hostname(end_entity: &CertificateDer<'_>, allowed: Option<&str>) -> Result<(), String> {
    match allowed {
        Some(host) if !valid_for(end_entity, host) => Err(format!(
            "client certificate authentication failed: the certificate is not valid for {host:?} \
             (--peer-cert-allowed-hostname)"
        )),
        _ => Ok(()),
    }
}

/// Both name checks. A refusal is logged here with its reason, and the handshake fails as for
/// a certificate not valid for the name, so the other end receives TLS's "bad certificate" alert
/// (what Go, and so etcd, sends).
fn check_names(
    end_entity: &CertificateDer<'_>,
    cn: Option<&str>,
    hostname: Option<&str>,
) -> Result<(), Error> {
    let checked = check_cn(end_entity, cn).and_then(|()| check_hostname(end_entity, hostname));
    checked.map_err(|reason| {
        warn!(%reason, "peer certificate refused");
        Error::InvalidCertificate(CertificateError::NotValidForName)
    })
}

/// A client certificate verifier: webpki's (`inner`), except that a trusted CA certificate may be
/// presented as itself; then the allowed common name or host name, when there is one, and no
/// revoked certificate, when there is a revocation list.
#[derive(Debug)]
pub struct ClientCheck {
    pub inner: Arc<dyn ClientCertVerifier>,
    /// The trusted CA certificates, as the CA file holds them.
    pub trusted: Arc<[CertificateDer<'static>]>,
    pub allowed: Option<String>,
    pub allowed_hostname: Option<String>,
    pub revoked: Option<RevocationFile>,
}

impl ClientCertVerifier for ClientCheck {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let verified = match self.inner.verify_client_cert(end_entity, intermediates, now) {
            Ok(verified) => verified,
            Err(refused) => match accepted_as_itself(&self.trusted, end_entity, now) {
                Ok(()) => {
                    debug!("client presented a trusted CA certificate itself; accepted as Go does");
                    ClientCertVerified::assertion()
                }
                Err(_) => return Err(refused),
            },
        };
        check_names(end_entity, self.allowed.as_deref(), self.allowed_hostname.as_deref())?;
        if let Some(revoked) = &self.revoked {
            let presented: Vec<&CertificateDer<'_>> =
                std::iter::once(end_entity).chain(intermediates).collect();
            revoked.check(&presented).map_err(|reason| {
                warn!(%reason, "client certificate refused");
                Error::InvalidCertificate(CertificateError::Revoked)
            })?;
        }
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
    pub allowed_hostname: Option<String>,
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
        check_names(end_entity, self.allowed.as_deref(), self.allowed_hostname.as_deref())?;
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
