//! The peer transport's connections to `https` peer URLs: TCP, then a TLS handshake presenting
//! this member's peer certificate and checking the other member's.
//!
//! tonic is given this connector and an `http://` form of the URL, so that tonic itself never
//! tries TLS of its own on it (it would, for an `https` URI, in a build with its TLS features).
//! A failed handshake is logged once per peer and reason, not at every retry, and reaches raft
//! as the peer being unreachable.

use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;
use tonic::codegen::http::Uri;
use tonic::codegen::Service;
use tracing::{info, warn};

/// Connects to one peer URL over TLS.
#[derive(Clone)]
pub struct PeerConnector {
    config: Arc<ClientConfig>,
    /// The peer URL, for logs.
    url: String,
    host: String,
    port: u16,
    /// The last handshake failure logged for this peer (`None` after a success).
    last_failure: Arc<Mutex<Option<String>>>,
}

impl PeerConnector {
    /// A connector for `url` (`https://host:port`), and the `http://` URI to give tonic.
    pub fn new(config: Arc<ClientConfig>, url: &str) -> io::Result<(PeerConnector, String)> {
        let invalid =
            |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {why}"));
        let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        let host = uri.host().ok_or_else(|| invalid("no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = uri.port_u16().unwrap_or(443);
        let plain = format!("http://{}", uri.authority().map(|a| a.as_str()).unwrap_or(""));
        let connector = PeerConnector {
            config,
            url: url.to_string(),
            host,
            port,
            last_failure: Arc::new(Mutex::new(None)),
        };
        Ok((connector, plain))
    }

    fn note(&self, outcome: &Result<(), String>) {
        let mut last = self.last_failure.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match outcome {
            Ok(()) => {
                if last.take().is_some() {
                    info!(peer = %self.url, "TLS connection to peer established");
                }
            }
            Err(reason) => {
                if last.as_deref() != Some(reason) {
                    warn!(peer = %self.url, %reason, "TLS handshake with peer failed");
                    *last = Some(reason.clone());
                }
            }
        }
    }
}

type PeerIo = TokioIo<TlsStream<TcpStream>>;

impl Service<Uri> for PeerConnector {
    type Response = PeerIo;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<PeerIo>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let tcp = TcpStream::connect((this.host.as_str(), this.port)).await?;
            // Raft's small messages must not wait for Nagle (see `peer::nodelay`).
            let _ = tcp.set_nodelay(true);
            let name = ServerName::try_from(this.host.clone())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let handshake = TlsConnector::from(this.config.clone()).connect(name, tcp).await;
            this.note(&handshake.as_ref().map(|_| ()).map_err(super::alert::describe));
            Ok(TokioIo::new(handshake?))
        })
    }
}
