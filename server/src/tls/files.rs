//! Reading PEM files named by flags: certificate chains, private keys, CA bundles.
//!
//! Every error is one line naming the flag and the file and saying what is wrong with it (cannot
//! be read, holds no certificate, holds no key, key does not match the certificate), because
//! that is what an operator needs to fix a deployment; nothing panics on a file's contents.

use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::RootCertStore;

/// A file given to a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagFile {
    pub flag: &'static str,
    pub path: String,
}

impl FlagFile {
    pub fn new(flag: &'static str, path: &str) -> FlagFile {
        FlagFile { flag, path: path.to_string() }
    }

    /// `--flag path: why`.
    pub fn error(&self, why: impl std::fmt::Display) -> String {
        format!("{} {}: {why}", self.flag, self.path)
    }

    fn read(&self) -> Result<Vec<u8>, String> {
        std::fs::read(Path::new(&self.path)).map_err(|e| self.error(format!("cannot read: {e}")))
    }
}

/// Every certificate in a PEM file, in order; at least one.
pub fn read_certs(file: &FlagFile) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = file.read()?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file.error(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(file.error("no PEM certificate in the file"));
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn read_key(file: &FlagFile) -> Result<PrivateKeyDer<'static>, String> {
    let bytes = file.read()?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        tokio_rustls::rustls::pki_types::pem::Error::NoItemsFound => {
            file.error("no PEM private key in the file")
        }
        other => file.error(format!("not a PEM private key file: {other}")),
    })
}

/// A CA bundle: the trust anchors, and the certificates they came from.
#[derive(Debug, Clone)]
pub struct TrustedCas {
    pub roots: Arc<RootCertStore>,
    pub certs: Arc<[CertificateDer<'static>]>,
}

/// A CA bundle as trust anchors.
pub fn read_roots(file: &FlagFile) -> Result<TrustedCas, String> {
    let certs = read_certs(file)?;
    let mut roots = RootCertStore::empty();
    for cert in &certs {
        roots
            .add(cert.clone())
            .map_err(|e| file.error(format!("not a usable CA certificate: {e}")))?;
    }
    Ok(TrustedCas { roots: Arc::new(roots), certs: certs.into() })
}

/// A certificate chain and its key, checked to belong together.
pub fn read_certified_key(
    cert: &FlagFile,
    key: &FlagFile,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let chain = read_certs(cert)?;
    let private = read_key(key)?;
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| key.error(format!("unusable private key: {e}")))?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        Ok(()) => Ok(certified),
        Err(tokio_rustls::rustls::Error::InconsistentKeys(
            tokio_rustls::rustls::InconsistentKeys::Unknown,
        )) => Ok(certified),
        Err(e) => Err(format!(
            "{} {} does not match {} {}: {e}",
            key.flag, key.path, cert.flag, cert.path
        )),
    }
}
