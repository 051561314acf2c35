//! A certificate and key that follow their files: a renewed certificate is used from the next
//! handshake on, without a restart (etcd re-reads its files at every handshake).
//!
//! Each handshake looks at the two files' modification time and length; only when either changed
//! are they read again. A renewal is two writes (certificate, then key), so a handshake may see
//! the new certificate beside the old key: a pair that does not load or does not match is not
//! taken, the previous pair keeps serving, and the files are tried again at the next handshake
//! (the failure is logged once per change of the files).

use super::files::{read_certified_key, FlagFile};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio_rustls::rustls::client::ResolvesClientCert;
use tokio_rustls::rustls::crypto::CryptoProvider;
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::SignatureScheme;
use tracing::{info, warn};

/// What identifies one version of a file without reading it.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &str) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[derive(Debug)]
struct Loaded {
    /// The files' stamps when `key` was read from them.
    stamps: (Stamp, Stamp),
    /// Stamps whose files failed to load (logged already).
    failed: Option<(Stamp, Stamp)>,
    key: Arc<CertifiedKey>,
}

/// A certificate and key read from `cert` and `key`, re-read when the files change.
#[derive(Debug)]
pub struct ReloadingKey {
    cert: FlagFile,
    key: FlagFile,
    provider: Arc<CryptoProvider>,
    loaded: Mutex<Loaded>,
}

impl ReloadingKey {
    /// Reads the pair once; an error here is a start-up error.
    pub fn load(
        cert: FlagFile,
        key: FlagFile,
        provider: Arc<CryptoProvider>,
    ) -> Result<ReloadingKey, String> {
        let stamps = (stamp(&cert.path), stamp(&key.path));
        let certified = read_certified_key(&cert, &key, &provider)?;
        let loaded = Loaded { stamps, failed: None, key: Arc::new(certified) };
        Ok(ReloadingKey { cert, key, provider, loaded: Mutex::new(loaded) })
    }

    /// The pair to use for a handshake starting now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        // The lock guards plain data that is always consistent, so a poisoned one is still usable.
        let mut loaded = self.loaded.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stamps = (stamp(&self.cert.path), stamp(&self.key.path));
        if stamps == loaded.stamps || loaded.failed == Some(stamps) {
            return loaded.key.clone();
        }
        match read_certified_key(&self.cert, &self.key, &self.provider) {
            Ok(certified) => {
                info!(cert = %self.cert.path, key = %self.key.path, "reloaded TLS certificate");
                loaded.key = Arc::new(certified);
                loaded.stamps = stamps;
                loaded.failed = None;
            }
            Err(reason) => {
                warn!(%reason, "changed TLS certificate not loaded; still serving the previous one");
                loaded.failed = Some(stamps);
            }
        }
        loaded.key.clone()
    }
}

impl ResolvesServerCert for ReloadingKey {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl ResolvesClientCert for ReloadingKey {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
