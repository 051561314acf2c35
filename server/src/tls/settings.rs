//! The TLS flags of the client side and the peer side, turned into rustls configurations.
//!
//! Each side has a certificate and key (given, or made by auto TLS), an optional CA bundle, and
//! whether connecting clients must show a certificate that the CA signed. The client side yields
//! the server configuration of the client (and metrics) listeners; the peer side yields the peer
//! listeners' server configuration and the peer transport's client configuration, which present
//! the same certificate. Everything is read here, at start-up, so every problem with a flag or a
//! file ends start-up with one line naming it; later renewals are `reload`'s.

use super::auto::self_signed;
use super::crl::RevocationFile;
use super::files::{read_roots, FlagFile, TrustedCas};
use super::policy::{policy, Policy};
use super::reload::ReloadingKey;
use super::verify::{ClientCheck, PeerServerCheck};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::server::danger::ClientCertVerifier;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{ClientConfig, ServerConfig};
use tracing::warn;

/// The TLS flags of one side, with the names they were given under.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// `client` or `peer`: the `fixtures/` directory of its auto TLS certificate.
    pub name: &'static str,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub trusted_ca_file: Option<String>,
    pub client_cert_auth: bool,
    pub auto_tls: bool,
    /// `--peer-cert-allowed-cn` (peer side only).
    pub allowed_cn: Option<String>,
    /// `--peer-cert-allowed-hostname` (peer side only).
    pub allowed_hostname: Option<String>,
    /// The revocation list of client certificates.
    pub crl_file: Option<String>,
    /// The flags' names: cert, key, CA, client cert auth, auto TLS, revocation list.
    pub flags: [&'static str; 6],
}

impl Side {
    fn wants_tls(&self) -> bool {
        self.cert_file.is_some() || self.key_file.is_some() || self.auto_tls
    }
}

/// The configurations of every TLS endpoint of this member; `None` where a side has no TLS.
#[derive(Debug, Clone, Default)]
pub struct TlsConfigs {
    pub client: Option<Arc<ServerConfig>>,
    pub peer_server: Option<Arc<ServerConfig>>,
    pub peer_client: Option<Arc<ClientConfig>>,
}

impl TlsConfigs {
    /// Reads every file the flags name. `hosts` go into auto TLS certificates.
    pub fn build(
        client: &Side,
        peer: &Side,
        tls_policy: (Option<&str>, Option<&str>, Option<&str>),
        data_dir: &Path,
        hosts: &[String],
    ) -> Result<TlsConfigs, String> {
        // Flags are checked even when they end up unused, rather than silently ignored.
        if peer.allowed_cn.is_some() && peer.allowed_hostname.is_some() {
            return Err(
                "--peer-cert-allowed-cn and --peer-cert-allowed-hostname cannot both be set"
                    .to_string(),
            );
        }
        let policy = policy(tls_policy.0, tls_policy.1, tls_policy.2)?;
        let client_roots = side_roots(client)?;
        let peer_roots = side_roots(peer)?;
        let mut configs = TlsConfigs::default();
        if !client.wants_tls() && !peer.wants_tls() {
            return Ok(configs);
        }
        let fixtures = data_dir.join("fixtures");
        if let Some(key) = side_key(client, &fixtures, hosts, &policy)? {
            configs.client =
                Some(server_config(client, key, client_roots.as_ref(), &policy, true)?);
        }
        if let Some(key) = side_key(peer, &fixtures, hosts, &policy)? {
            configs.peer_server =
                Some(server_config(peer, key.clone(), peer_roots.as_ref(), &policy, false)?);
            configs.peer_client = Some(peer_client_config(peer, key, peer_roots, &policy)?);
        }
        Ok(configs)
    }
}

/// The side's certificate and key: its files, or auto TLS's, or none.
fn side_key(
    side: &Side,
    fixtures: &Path,
    hosts: &[String],
    policy: &Policy,
) -> Result<Option<Arc<ReloadingKey>>, String> {
    let [cert_flag, key_flag, _, _, auto_flag, _] = side.flags;
    let (cert, key) = match (&side.cert_file, &side.key_file) {
        (Some(cert), Some(key)) => (FlagFile::new(cert_flag, cert), FlagFile::new(key_flag, key)),
        (Some(_), None) => return Err(format!("{cert_flag} needs {key_flag}")),
        (None, Some(_)) => return Err(format!("{key_flag} needs {cert_flag}")),
        (None, None) if side.auto_tls => self_signed(auto_flag, &fixtures.join(side.name), hosts)?,
        (None, None) => return Ok(None),
    };
    Ok(Some(Arc::new(ReloadingKey::load(cert, key, policy.provider.clone())?)))
}

fn side_roots(side: &Side) -> Result<Option<TrustedCas>, String> {
    let [_, _, ca_flag, auth_flag, _, _] = side.flags;
    let roots = side.trusted_ca_file.as_deref().map(|ca| read_roots(&FlagFile::new(ca_flag, ca)));
    let roots = roots.transpose()?;
    if side.client_cert_auth && roots.is_none() {
        return Err(format!("{auth_flag} needs {ca_flag}"));
    }
    Ok(roots)
}

fn server_config(
    side: &Side,
    key: Arc<ReloadingKey>,
    roots: Option<&TrustedCas>,
    policy: &Policy,
    http1: bool,
) -> Result<Arc<ServerConfig>, String> {
    let [_, _, ca_flag, auth_flag, _, crl_flag] = side.flags;
    let revoked =
        side.crl_file.as_deref().map(|crl| RevocationFile::open(FlagFile::new(crl_flag, crl)));
    let revoked = revoked.transpose()?;
    let builder = ServerConfig::builder_with_provider(policy.provider.clone())
        .with_protocol_versions(&policy.versions)
        .map_err(|e| format!("TLS versions: {e}"))?;
    let builder = match roots.filter(|_| side.client_cert_auth) {
        Some(trusted) => {
            let webpki = WebPkiClientVerifier::builder_with_provider(
                trusted.roots.clone(),
                policy.provider.clone(),
            )
            .build()
            .map_err(|e| format!("{auth_flag} with {ca_flag}: {e}"))?;
            let verifier: Arc<dyn ClientCertVerifier> = Arc::new(ClientCheck {
                inner: webpki,
                trusted: trusted.certs.clone(),
                allowed: side.allowed_cn.clone(),
                allowed_hostname: side.allowed_hostname.clone(),
                revoked,
            });
            builder.with_client_cert_verifier(verifier)
        }
        None => {
            if roots.is_some() {
                warn!("{ca_flag} is used only with {auth_flag}; client certificates are not asked for");
            }
            if revoked.is_some() {
                warn!("{crl_flag} is used only with {auth_flag}; client certificates are not asked for");
            }
            builder.with_no_client_auth()
        }
    };
    let mut config = builder.with_cert_resolver(key);
    // The client port serves gRPC (HTTP/2) and the JSON gateway and /health (HTTP/1.1).
    config.alpn_protocols =
        if http1 { vec![b"h2".to_vec(), b"http/1.1".to_vec()] } else { vec![b"h2".to_vec()] };
    Ok(Arc::new(config))
}

fn peer_client_config(
    side: &Side,
    key: Arc<ReloadingKey>,
    roots: Option<TrustedCas>,
    policy: &Policy,
) -> Result<Arc<ClientConfig>, String> {
    let [_, _, ca_flag, _, auto_flag, _] = side.flags;
    let inner: Option<Arc<dyn ServerCertVerifier>> = match roots {
        Some(trusted) => Some(
            WebPkiServerVerifier::builder_with_provider(trusted.roots, policy.provider.clone())
                .build()
                .map_err(|e| format!("{ca_flag}: {e}"))?,
        ),
        None => {
            if !side.auto_tls {
                warn!("no {ca_flag}: the certificates of other members are not verified");
            } else {
                tracing::info!("{auto_flag}: the certificates of other members are not verified");
            }
            None
        }
    };
    let check = PeerServerCheck {
        inner,
        allowed: side.allowed_cn.clone(),
        allowed_hostname: side.allowed_hostname.clone(),
        algorithms: policy.provider.signature_verification_algorithms,
    };
    let mut config = ClientConfig::builder_with_provider(policy.provider.clone())
        .with_protocol_versions(&policy.versions)
        .map_err(|e| format!("TLS versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(check))
        .with_client_cert_resolver(key);
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}
