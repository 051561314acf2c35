//! Who a client is, by its certificate: the hook a later auth layer reads.
//!
//! etcd uses the common name of a verified client certificate as the user when auth is on and
//! the request carries no token. The common name is taken once per connection, at the handshake
//! (`accept`), and travels with every request of that connection in its extensions as part of
//! `ConnInfo`; `ClientIdentity::of_request` finds it there. Only a certificate that was
//! verified (`--client-cert-auth` with `--trusted-ca-file`) gives an identity.

use super::accept::ConnInfo;
use tokio_rustls::rustls::pki_types::CertificateDer;

/// The verified client certificate of the connection a request came on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The certificate subject's common name (the first, when there are several).
    pub common_name: String,
}

impl ClientIdentity {
    /// The identity of the client that sent the request with these extensions, if it showed a
    /// verified certificate with a common name.
    pub fn of_request(extensions: &http::Extensions) -> Option<&ClientIdentity> {
        extensions.get::<ConnInfo>()?.client.as_ref()
    }
}

/// The subject's common name of a DER certificate; `None` when it has none or does not parse.
pub fn common_name(der: &CertificateDer<'_>) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(String::from)
}
