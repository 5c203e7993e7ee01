//! The end of a connection (RFC 6455 section 7): shutting the write side
//! down, draining the peer's last bytes, and finishing the closing
//! handshake of a socket closed or dropped.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};
use websock_core::{CloseCode, State, Transport};

use super::Inner;
use crate::error::Error;
use crate::message::{CloseFrame, Message, Utf8Bytes};

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    /// The engine wants the transport closed: write what is left, shut the
    /// write side down. `Ready` once done.
    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush_out(cx))?;
        if !self.shut {
            // A reset peer makes shutdown fail; the connection ends anyway.
            let _ = ready!(Pin::new(&mut self.io).poll_shutdown(cx));
            self.shut = true;
        }
        Poll::Ready(Ok(()))
    }

    /// The engine is done with the transport, or the peer ended it: write
    /// what is owed, shut the write side down, let the peer's last bytes
    /// arrive (closing with unread input would reset TCP), end the stream.
    pub(super) fn poll_end(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        let _ = ready!(self.poll_shutdown(cx));
        while !self.eof {
            self.rx_start = 0;
            self.rx.clear();
            match self.poll_fill(cx) {
                Poll::Ready(Ok(true)) => {}
                Poll::Ready(Ok(false)) | Poll::Ready(Err(_)) => self.eof = true,
                Poll::Pending => {
                    let limit = self.config.close_timeout;
                    let timer = self
                        .drain
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                    ready!(timer.as_mut().poll(cx));
                    self.eof = true;
                }
            }
        }
        let closure = self.conn.transport_closed();
        self.finish();
        if closure.clean || self.reported {
            Poll::Ready(None)
        } else if self.timed_out {
            Poll::Ready(Some(Err(Error::Timeout)))
        } else {
            Poll::Ready(Some(Err(Error::ConnectionReset)))
        }
    }

    pub(super) fn finish(&mut self) {
        self.unfed = 0;
        self.done = true;
        self.eof = true;
        self.timer = None;
        self.drain = None;
        self.msg = Vec::new();
    }

    /// Sends our close (if the handshake has not begun), writes everything
    /// and, when the engine says so (a server once both closes crossed),
    /// shuts the write side down.
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.conn.state() == State::Open {
            self.start_send(Message::Close(None))?;
        }
        ready!(self.poll_flush_out(cx))?;
        if self.conn.transport() == Transport::Close {
            ready!(self.poll_shutdown(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Whether the closing handshake still has work to do.
    fn unfinished(&self) -> bool {
        !self.done && (self.conn.state() != State::Closed || self.pending_out() > 0 || !self.shut)
    }
}

/// Drives a dropped socket's closing handshake to its end, bounded by the
/// close timeout.
pub(crate) async fn finish_dropped<S: AsyncRead + AsyncWrite + Unpin>(mut inner: Inner<S>) {
    let limit = inner.config.close_timeout;
    let _ = tokio::time::timeout(limit, async {
        if inner.conn.state() == State::Open {
            let _ = inner.start_send(Message::Close(Some(CloseFrame {
                code: CloseCode::GOING_AWAY,
                reason: Utf8Bytes::from_static(""),
            })));
        }
        std::future::poll_fn(|cx| loop {
            match ready!(inner.poll_next(cx)) {
                None | Some(Err(_)) => return Poll::Ready(()),
                Some(Ok(_)) => {}
            }
        })
        .await;
    })
    .await;
}

/// The closer for `Send + 'static` streams: a task finishes the handshake
/// when a runtime is there to run it.
pub(crate) fn spawn_closer<S>(inner: Inner<S>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if !inner.unfinished() {
        return;
    }
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(finish_dropped(inner));
    }
}
