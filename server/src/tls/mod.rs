//! TLS on the client and peer ports, with etcd's flags and etcd's behaviour (rustls on ring).
//!
//! - `files`: reading PEM certificates, keys and CA bundles; errors name the flag and the file;
//! - `reload`: a certificate and key re-read when their files change, checked at every handshake;
//! - `policy`: `--cipher-suites`, `--tls-min-version`, `--tls-max-version` as a crypto provider;
//! - `auto`: the self-signed certificates of `--auto-tls` and `--peer-auto-tls`;
//! - `hostname`: whether a certificate is valid for `--peer-cert-allowed-hostname`;
//! - `crl`: the revocation lists of `--client-crl-file` and `--peer-crl-file`, read per handshake;
//! - `anchor_leaf`: whether a client certificate that is itself a trusted CA certificate is
//!   accepted, as Go accepts it;
//! - `verify`: the peer's allowed common name, revoked certificates refused, and accepting any
//!   certificate where etcd does;
//! - `settings`: the flags of one side (client or peer) turned into rustls configurations;
//! - `alert`: failed handshakes described with Go's words for received alerts;
//! - `accept`: a listener's connections, plain or after a TLS handshake, with who the client is;
//! - `identity`: the client certificate's common name, where a later auth layer reads it;
//! - `connect`: the peer transport's TLS connections to `https` peer URLs.
//!
//! Invariants: a listener serves TLS exactly when its URL is `https`; every flag problem is one
//! start-up error naming the flag and the file; a handshake that fails is logged with its reason
//! and never reaches gRPC; nothing here panics on a file's contents or a peer's bytes.

mod accept;
mod alert;
mod anchor_leaf;
mod auto;
mod connect;
mod crl;
mod files;
mod hostname;
mod identity;
mod policy;
mod reload;
mod settings;
mod verify;

pub use accept::{incoming, Conn};
pub use connect::PeerConnector;
#[allow(unused_imports)] // read by the auth layer that uses a client certificate as the user
pub use identity::ClientIdentity;
pub use settings::{Side, TlsConfigs};

#[cfg(test)]
mod tests;
