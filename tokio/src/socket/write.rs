//! The send side: owed replies and sent messages staged in the write
//! buffer, large payloads queued to go out from the message itself, and
//! the output gathered and written.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite};
use websock_core::frame::{apply_mask, MAX_HEADER_LEN};
use websock_core::{CloseCode, Connection, DataKind, State, MAX_CONTROL_FRAME};

use super::{Inner, Payload, MAX_SLICES, NO_COPY_FROM, RETAIN_OUTPUT};
use crate::error::Error;
use crate::message::Message;

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    pub(super) fn pending_out(&self) -> usize {
        self.tx_end - self.tx_start + self.payload_bytes
    }

    /// Makes room for `n` more bytes of output at `tx_end`.
    pub(super) fn reserve(&mut self, n: usize) {
        if self.tx_start == self.tx_end && self.payloads.is_empty() {
            self.tx_start = 0;
            self.tx_end = 0;
        }
        let need = self.tx_end + n;
        if self.tx.len() < need {
            self.tx.resize(need, 0);
        }
    }

    /// Moves the engine's owed replies into the write buffer. Checked
    /// inline on every poll; the moving is out of line (rarely owed).
    #[inline(always)]
    pub(super) fn queue_owed(&mut self) {
        if self.conn.has_output() {
            self.queue_owed_now();
        }
    }

    #[inline(never)]
    fn queue_owed_now(&mut self) {
        while self.conn.has_output() {
            self.reserve(MAX_CONTROL_FRAME * 2);
            let end = self.tx_end;
            let n = self.conn.poll_output(&mut self.tx[end..]);
            self.tx_end += n;
            if n == 0 {
                break;
            }
        }
    }

    /// Writes buffered output until done or the transport pushes back.
    /// Nothing to write is answered inline, without a call: the reading
    /// loop asks on every step.
    #[inline(always)]
    pub(crate) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.tx_start == self.tx_end
            && self.payloads.is_empty()
            && self.tx.len() <= RETAIN_OUTPUT
        {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_some(cx)
    }

    #[inline(never)]
    fn poll_write_some(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.payloads.is_empty() {
                // Only copied frames: one plain write.
                if self.tx_start == self.tx_end {
                    break;
                }
                let n = ready!(
                    Pin::new(&mut self.io).poll_write(cx, &self.tx[self.tx_start..self.tx_end])
                )?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                self.tx_start += n;
                continue;
            }
            let n = if self.io.is_write_vectored() {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let k = gather(
                    &self.tx[..self.tx_end],
                    self.tx_start,
                    &self.payloads,
                    &mut slices,
                );
                ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..k]))?
            } else {
                // Two writes: what precedes the payload, then the payload.
                let upto = self.payloads.front().map_or(self.tx_end, |p| p.at);
                let first = match self.payloads.front() {
                    Some(p) if self.tx_start == upto => &p.bytes[..],
                    _ => &self.tx[self.tx_start..upto],
                };
                ready!(Pin::new(&mut self.io).poll_write(cx, first))?
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.consume(n);
        }
        self.tx_start = 0;
        self.tx_end = 0;
        if self.tx.len() > RETAIN_OUTPUT {
            // One large message does not hold its size for ever.
            self.tx = Vec::new();
        }
        Poll::Ready(Ok(()))
    }

    /// Drops the first `n` bytes of output, which have been written.
    fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let upto = self.payloads.front().map_or(self.tx_end, |p| p.at);
            let from_tx = (upto - self.tx_start).min(n);
            self.tx_start += from_tx;
            n -= from_tx;
            let Some(p) = self.payloads.front_mut() else {
                break;
            };
            if n == 0 {
                break;
            }
            let from_payload = p.bytes.len().min(n);
            p.bytes.advance(from_payload);
            self.payload_bytes -= from_payload;
            n -= from_payload;
            if p.bytes.is_empty() {
                self.payloads.pop_front();
            }
        }
    }

    /// Output written and flushed.
    pub(crate) fn poll_flush_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.queue_owed();
        ready!(self.poll_write_out(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Encodes a message into the write buffer.
    pub(crate) fn start_send(&mut self, item: Message) -> Result<(), Error> {
        if matches!(item, Message::Close(_)) {
            // Our close arms the closing handshake's deadline from now.
            self.tick();
        } else {
            self.tick_if_timed();
        }
        self.queue_owed();
        let r = match item {
            Message::Text(t) => self.send_data(DataKind::Text, t.into_bytes()),
            Message::Binary(b) => self.send_data(DataKind::Binary, b),
            Message::Ping(p) => self.encode(|c, out| c.ping(&p, out), p.len()),
            Message::Pong(p) => self.encode(|c, out| c.pong(&p, out), p.len()),
            Message::Close(frame) => {
                if self.conn.state() != State::Open {
                    // Closing already began; the engine replies by itself.
                    return Ok(());
                }
                let (code, reason) = match &frame {
                    Some(f) => (f.code, f.reason.as_str()),
                    None => (CloseCode::NORMAL, ""),
                };
                self.encode(|c, out| c.close(code, reason, out), reason.len())
            }
        };
        match r {
            Err(Error::Ws(websock_core::Error::InvalidState)) => Err(Error::AlreadyClosed),
            r => r,
        }
    }

    /// A data message: a large one is queued as it is after its header,
    /// others are encoded into the write buffer.
    fn send_data(&mut self, kind: DataKind, bytes: Bytes) -> Result<(), Error> {
        if bytes.len() < NO_COPY_FROM || self.conn.compression_active() {
            return self.encode(|c, out| c.send(kind, &bytes, true, out), bytes.len());
        }
        // A client masks every frame (section 5.3): in place when nothing
        // else shares the bytes, else while copying them.
        let mut unique = None;
        let bytes = if self.conn.role() == websock_core::Role::Client {
            match bytes.try_into_mut() {
                Ok(b) => {
                    unique = Some(b);
                    Bytes::new()
                }
                Err(b) => return self.encode(|c, out| c.send(kind, &b, true, out), b.len()),
            }
        } else {
            bytes
        };
        let len = unique.as_ref().map_or(bytes.len(), |b| b.len());
        self.reserve(MAX_HEADER_LEN);
        let end = self.tx_end;
        let (n, mask) =
            self.conn
                .send_header(kind, len, true, &mut self.tx[end..end + MAX_HEADER_LEN])?;
        self.tx_end += n;
        let bytes = match (unique, mask) {
            (Some(mut b), Some(key)) => {
                apply_mask(&mut b, key, 0);
                b.freeze()
            }
            (Some(b), None) => b.freeze(),
            (None, _) => bytes,
        };
        self.payload_bytes += bytes.len();
        self.payloads.push_back(Payload {
            at: self.tx_end,
            bytes,
        });
        Ok(())
    }

    fn encode(
        &mut self,
        f: impl FnOnce(&mut Connection, &mut [u8]) -> Result<usize, websock_core::Error>,
        len: usize,
    ) -> Result<(), Error> {
        let need = self.conn.max_frame_len(len).max(MAX_CONTROL_FRAME);
        self.reserve(need);
        let end = self.tx_end;
        let n = f(&mut self.conn, &mut self.tx[end..end + need])?;
        self.tx_end += n;
        Ok(())
    }

    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.pending_out() > self.config.write_buffer_limit {
            ready!(self.poll_write_out(cx))?;
        }
        Poll::Ready(Ok(()))
    }
}

/// The output in order, `tx[start..]` with the payloads spliced in, as
/// slices for a vectored write; returns how many of `slices` it filled.
fn gather<'a>(
    tx: &'a [u8],
    start: usize,
    payloads: &'a VecDeque<Payload>,
    slices: &mut [IoSlice<'a>; MAX_SLICES],
) -> usize {
    let mut k = 0;
    let mut pos = start;
    for p in payloads {
        if k + 2 > MAX_SLICES {
            return k;
        }
        if pos < p.at {
            slices[k] = IoSlice::new(&tx[pos..p.at]);
            k += 1;
        }
        slices[k] = IoSlice::new(&p.bytes);
        k += 1;
        pos = p.at;
    }
    if pos < tx.len() && k < MAX_SLICES {
        slices[k] = IoSlice::new(&tx[pos..]);
        k += 1;
    }
    k
}
