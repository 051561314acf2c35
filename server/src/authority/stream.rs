//! The IO adapter: an accepted client connection whose incoming bytes go through `Rewriter`
//! before hyper reads them; the outgoing direction is the socket itself.
//!
//! Incoming octets are read into one buffer and handed on from it as `Bytes` slices of it (or
//! of a repaired header block), so each octet is copied once more than without the adapter.
//! Once the rewriter passes everything through (HTTP/1.1, or a connection it gave up on) and
//! nothing is buffered, reads go straight to the socket.

use super::rewriter::Rewriter;
use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::io::poll_read_buf;
use tonic::transport::server::Connected;

/// How much room each socket read gets.
const READ_CHUNK: usize = 16 * 1024;

/// A client connection with `:authority` repair on what it sends (see the module `authority`).
pub struct AuthorityRepairing<T> {
    inner: T,
    rewriter: Rewriter,
    /// Read from the socket, not yet decided on (an incomplete frame).
    inbound: BytesMut,
    /// Decided, not yet read by hyper.
    ready: VecDeque<Bytes>,
    client_closed: bool,
}

impl<T> AuthorityRepairing<T> {
    pub fn new(inner: T) -> Self {
        AuthorityRepairing {
            inner,
            rewriter: Rewriter::default(),
            inbound: BytesMut::new(),
            ready: VecDeque::new(),
            client_closed: false,
        }
    }

    /// Copies decided octets into `buf`; whether any were copied.
    fn hand_over(&mut self, buf: &mut ReadBuf<'_>) -> bool {
        let mut copied = false;
        while buf.remaining() > 0 {
            let Some(front) = self.ready.front_mut() else { break };
            let n = front.len().min(buf.remaining());
            buf.put_slice(&front[..n]);
            front.advance(n);
            copied |= n > 0;
            if front.is_empty() {
                self.ready.pop_front();
            }
        }
        copied
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for AuthorityRepairing<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if buf.remaining() == 0 || this.hand_over(buf) {
                return Poll::Ready(Ok(()));
            }
            if this.client_closed {
                return Poll::Ready(Ok(()));
            }
            if this.rewriter.is_transparent() && this.inbound.is_empty() {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            this.inbound.reserve(READ_CHUNK);
            let read = ready!(poll_read_buf(Pin::new(&mut this.inner), cx, &mut this.inbound))?;
            if read == 0 {
                this.client_closed = true;
                this.rewriter.finish(&mut this.inbound, &mut this.ready);
            } else {
                this.rewriter.rewrite(&mut this.inbound, &mut this.ready);
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for AuthorityRepairing<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The peer address tonic puts in each request's extensions is the socket's.
impl<T: Connected> Connected for AuthorityRepairing<T> {
    type ConnectInfo = T::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}
