//! A listener's connections as the servers take them: plain, or after a TLS handshake.
//!
//! With TLS, every accepted socket is handshaken in a task of its own (bounded by
//! `HANDSHAKE_TIMEOUT`), so a slow or silent client never holds up the next one; a handshake
//! that fails — no certificate, one that does not verify, a disallowed common name, a protocol
//! or cipher mismatch — is logged with the client's address and the reason, and the connection
//! is dropped before gRPC sees it. Each connection carries `ConnInfo`, which tonic puts into the
//! extensions of every request made on it.

use super::identity::{common_name, ClientIdentity};
use crate::peer::nodelay_incoming;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::Connected;
use tracing::{debug, warn};

/// How long a client may take to complete its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for the server to take them.
const ACCEPTED_BACKLOG: usize = 64;

/// One accepted connection.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// What is known about a connection's other end; in every request's extensions.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    #[allow(dead_code)] // for logs and the auth layer, like `client`
    pub remote_addr: Option<SocketAddr>,
    /// The verified client certificate's identity (TLS with client certificates only).
    pub client: Option<ClientIdentity>,
}

impl Connected for Conn {
    type ConnectInfo = ConnInfo;

    fn connect_info(&self) -> ConnInfo {
        match self {
            Conn::Plain(tcp) => ConnInfo { remote_addr: tcp.peer_addr().ok(), client: None },
            Conn::Tls(tls) => {
                let (tcp, session) = tls.get_ref();
                let leaf = session.peer_certificates().and_then(|certs| certs.first());
                let client =
                    leaf.and_then(common_name).map(|common_name| ClientIdentity { common_name });
                ConnInfo { remote_addr: tcp.peer_addr().ok(), client }
            }
        }
    }
}

/// `listener`'s connections, plain when `tls` is `None`; `what` names the listener in logs.
pub fn incoming(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    what: &'static str,
) -> Pin<Box<dyn Stream<Item = io::Result<Conn>> + Send>> {
    let plain = nodelay_incoming(listener);
    let Some(config) = tls else {
        return Box::pin(plain.map(|accepted| accepted.map(Conn::Plain)));
    };
    let (handshaken, taken) = tokio::sync::mpsc::channel(ACCEPTED_BACKLOG);
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        let mut plain = Box::pin(plain);
        while let Some(accepted) = plain.next().await {
            let tcp = match accepted {
                Ok(tcp) => tcp,
                Err(error) => {
                    // Out of descriptors and the like: wait instead of spinning.
                    warn!(%error, listener = what, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let acceptor = acceptor.clone();
            let handshaken = handshaken.clone();
            tokio::spawn(async move {
                let remote = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let leaf = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
                        let cn = leaf.and_then(common_name).unwrap_or_default();
                        debug!(%remote, listener = what, client_cn = %cn, "TLS handshake done");
                        let _ = handshaken.send(Ok(Conn::Tls(Box::new(tls)))).await;
                    }
                    Ok(Err(error)) => {
                        let error = super::alert::describe(&error);
                        warn!(%remote, listener = what, %error, "rejected TLS connection")
                    }
                    Err(_) => {
                        warn!(%remote, listener = what, "rejected TLS connection: handshake timed out")
                    }
                }
            });
        }
    });
    Box::pin(ReceiverStream::new(taken))
}

impl AsyncRead for Conn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Conn::Plain(tcp) => tcp.is_write_vectored(),
            Conn::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Conn::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Conn::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}
