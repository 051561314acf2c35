//! `--client-crl-file` and `--peer-crl-file`: certificates a listener refuses although their chain
//! verifies, because their serial number is in a certificate revocation list.
//!
//! As etcd: the list is read again at every handshake, so a renewed list takes effect without a
//! restart; it may be DER (what `openssl ca -gencrl -outform DER` and etcd's fixtures write) or
//! PEM; only the serial numbers of the presented certificates are compared (the chain was already
//! verified against the trusted CA). At start-up the file must be readable and parse, so a bad
//! flag ends start-up with one line naming it; a list that later becomes unreadable refuses every
//! client certificate (failing closed), with the reason in the handshake error.

use super::files::FlagFile;
use std::collections::BTreeSet;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, CertificateRevocationListDer};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

/// A revocation list file named by a flag.
#[derive(Debug, Clone)]
pub struct RevocationFile {
    file: FlagFile,
}

impl RevocationFile {
    /// Checks the file once, for start-up.
    pub fn open(file: FlagFile) -> Result<RevocationFile, String> {
        let list = RevocationFile { file };
        list.revoked()?;
        Ok(list)
    }

    /// The revoked serial numbers (big-endian, no leading zeros), read from the file now.
    fn revoked(&self) -> Result<BTreeSet<Vec<u8>>, String> {
        let bytes = std::fs::read(&self.file.path)
            .map_err(|e| self.file.error(format!("cannot read: {e}")))?;
        let der = match CertificateRevocationListDer::from_pem_slice(&bytes) {
            Ok(pem) => pem.as_ref().to_vec(),
            Err(_) => bytes,
        };
        let (_, list) = CertificateRevocationList::from_der(&der)
            .map_err(|e| self.file.error(format!("not a certificate revocation list: {e}")))?;
        Ok(list
            .iter_revoked_certificates()
            .map(|revoked| revoked.user_certificate.to_bytes_be())
            .collect())
    }

    /// `Err` with the reason when one of `presented` (the end entity and its intermediates) is
    /// revoked, or when the list cannot be read.
    pub fn check(&self, presented: &[&CertificateDer<'_>]) -> Result<(), String> {
        let revoked = self.revoked()?;
        for cert in presented {
            let Ok((_, parsed)) = X509Certificate::from_der(cert.as_ref()) else { continue };
            let serial = parsed.tbs_certificate.serial.to_bytes_be();
            if revoked.contains(&serial) {
                return Err(format!(
                    "certificate serial {} is revoked ({} {})",
                    hex(&serial),
                    self.file.flag,
                    self.file.path
                ));
            }
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
