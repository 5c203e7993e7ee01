//! The socket over in-memory streams: the read buffer's size, frames
//! read straight into the message, large messages written without a
//! copy, and partial writes.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::FIRST_READ_BUFFER;
use crate::{Config, Message};

fn rx_len<S>(ws: &super::WebSocket<S>) -> usize {
    ws.inner.as_ref().map_or(0, |i| i.rx.capacity())
}

async fn idle<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut super::WebSocket<S>) {
    let next = tokio::time::timeout(std::time::Duration::from_millis(20), ws.next());
    assert!(next.await.is_err(), "nothing to read");
}

#[tokio::test]
async fn the_read_buffer_is_small_until_a_read_fills_it_and_again_when_idle() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let (server, client) = tokio::join!(
        crate::accept(a),
        crate::client(b, "ws://127.0.0.1/", Config::default())
    );
    let (mut server, mut client) = (server.unwrap(), client.unwrap());
    assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
    client.send(Message::text("small")).await.unwrap();
    assert_eq!(
        server.next().await.unwrap().unwrap(),
        Message::text("small")
    );
    assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
    // A large frame: past its first read it goes straight into the
    // message, so the read buffer does not grow.
    let big = Message::binary(vec![7; 100_000]);
    client.send(big.clone()).await.unwrap();
    assert_eq!(server.next().await.unwrap().unwrap(), big);
    assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
    // Nor for the next one: the first read of a large frame filled the
    // small buffer, which says nothing of a backlog.
    client.feed(big.clone()).await.unwrap();
    client.feed(big.clone()).await.unwrap();
    client.flush().await.unwrap();
    for _ in 0..2 {
        assert_eq!(server.next().await.unwrap().unwrap(), big);
        assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
    }
    // Several medium messages at once fill it: it grows...
    let medium = Message::binary(vec![8; 3000]);
    for _ in 0..4 {
        client.feed(medium.clone()).await.unwrap();
    }
    client.flush().await.unwrap();
    for _ in 0..4 {
        assert_eq!(server.next().await.unwrap().unwrap(), medium);
    }
    assert_eq!(rx_len(&server), Config::default().read_buffer_size);
    // ... and goes back once a read finds nothing.
    idle(&mut server).await;
    assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
    // Between messages too small to be worth it, it is kept: each
    // 2,000 byte message fills the small buffer, and giving the large
    // one back after each would only grow it again for the next.
    let medium = Message::binary(vec![9; 2000]);
    for _ in 0..2 {
        client.send(medium.clone()).await.unwrap();
        assert_eq!(server.next().await.unwrap().unwrap(), medium);
        idle(&mut server).await;
        assert_eq!(rx_len(&server), Config::default().read_buffer_size);
    }
}

#[tokio::test]
async fn large_frames_read_into_the_message_in_small_pieces_arrive_whole() {
    let (a, b) = tokio::io::duplex(1 << 20);
    let a = Trickle {
        inner: a,
        limit: usize::MAX,
        read_limit: 997,
        vectored: true,
    };
    let (server, client) = tokio::join!(
        crate::accept(a),
        crate::client(b, "ws://127.0.0.1/", Config::default())
    );
    let (mut server, mut client) = (server.unwrap(), client.unwrap());
    // Multi-byte characters split across reads, binary, a ping between
    // two large frames and a small message after them, all at once.
    let text = Message::text("aé€😀".repeat(5_000));
    let binary = Message::binary((0..70_000u32).map(|i| (i % 253) as u8).collect::<Vec<_>>());
    let sent = [
        text.clone(),
        Message::Ping("p".into()),
        binary.clone(),
        Message::text("end"),
    ];
    for m in &sent {
        client.feed(m.clone()).await.unwrap();
    }
    client.flush().await.unwrap();
    for m in &sent {
        assert_eq!(&server.next().await.unwrap().unwrap(), m);
    }
    assert_eq!(rx_len(&server), FIRST_READ_BUFFER);
}

#[tokio::test]
async fn invalid_utf8_in_a_frame_read_into_the_message_fails_with_1007() {
    let (a, mut b) = tokio::io::duplex(1 << 20);
    let a = Trickle {
        inner: a,
        limit: usize::MAX,
        read_limit: 997,
        vectored: true,
    };
    b.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut server = crate::accept(a).await.unwrap();
    // A masked text frame (key 0: the payload as it is) of 20,000
    // bytes, not UTF-8 far past its first read.
    let mut payload = vec![b'x'; 20_000];
    payload[15_000] = 0xff;
    let mut frame = vec![
        0x81,
        0xfe,
        (20_000u16 >> 8) as u8,
        20_000u16 as u8,
        0,
        0,
        0,
        0,
    ];
    frame.extend_from_slice(&payload);
    b.write_all(&frame).await.unwrap();
    assert!(
        server.next().await.unwrap().is_err(),
        "invalid UTF-8 refused"
    );
    // The close frame goes out as the stream is read on.
    let drive = async { while server.next().await.is_some() {} };
    let expect = async {
        let mut seen = Vec::new();
        // Close, any length (the reason says why), code 1007.
        let close = |w: &[u8]| w[0] == 0x88 && w[2..] == [0x03, 0xef];
        while !seen.windows(4).any(close) {
            let mut chunk = [0u8; 256];
            let n = b.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed without 1007: {seen:?}");
            seen.extend_from_slice(&chunk[..n]);
        }
        drop(b);
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        tokio::join!(drive, expect)
    })
    .await
    .expect("the close frame in time");
}

#[tokio::test]
async fn a_large_frame_announced_is_not_reserved_before_it_arrives() {
    let (a, mut b) = tokio::io::duplex(1 << 20);
    b.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut server = crate::accept(a).await.unwrap();
    // A binary frame announcing 50 MiB (masked, key 0), 100,000 bytes
    // of it sent.
    let mut frame = vec![0x82, 0xff];
    frame.extend_from_slice(&(50u64 << 20).to_be_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&[1; 100_000]);
    b.write_all(&frame).await.unwrap();
    idle(&mut server).await;
    let held = server.inner.as_ref().unwrap().msg.capacity();
    assert!(held >= 100_000, "what arrived is kept: {held}");
    assert!(
        held <= 2 * super::RESERVE_AHEAD as usize,
        "not what was announced: {held}"
    );
}

fn tx_len<S>(ws: &super::WebSocket<S>) -> usize {
    ws.inner.as_ref().map_or(0, |i| i.tx.len())
}

#[tokio::test]
async fn a_large_message_is_written_without_a_copy() {
    let (a, b) = tokio::io::duplex(1 << 16);
    let (server, client) = tokio::join!(
        crate::accept(a),
        crate::client(b, "ws://127.0.0.1/", Config::default())
    );
    let (mut server, mut client) = (server.unwrap(), client.unwrap());
    let before = tx_len(&server);
    assert!(before <= 4096, "after the handshake: {before}");
    // Server: the payload goes out from the message; the write buffer
    // holds only headers.
    for size in [100_000, super::RETAIN_OUTPUT + 1] {
        let m = Message::binary(vec![2; size]);
        let (sent, got) = tokio::join!(server.send(m.clone()), client.next());
        sent.unwrap();
        assert_eq!(got.unwrap().unwrap(), m);
        assert_eq!(tx_len(&server), before, "no copy of {size} bytes");
    }
    // Client, bytes nobody else holds: masked in place, not copied.
    let before = tx_len(&client);
    let text = "é".repeat(50_000);
    let (sent, got) = tokio::join!(client.send(Message::text(text.clone())), server.next());
    sent.unwrap();
    assert_eq!(got.unwrap().unwrap(), Message::text(text));
    assert_eq!(tx_len(&client), before, "masked in place");
    // Client, shared bytes: masking them in place would change the
    // caller's copy, so they are copied while masked.
    let shared = bytes::Bytes::from(vec![3u8; 100_000]);
    let kept = shared.clone();
    let (sent, got) = tokio::join!(client.send(Message::Binary(shared)), server.next());
    sent.unwrap();
    assert_eq!(got.unwrap().unwrap(), Message::Binary(kept.clone()));
    assert!(
        kept.iter().all(|&b| b == 3),
        "the caller's bytes are untouched"
    );
    let copied = tx_len(&client);
    assert!(copied > 100_000, "copied into the write buffer: {copied}");
    // A copy past RETAIN_OUTPUT is freed once written.
    let shared = bytes::Bytes::from(vec![4u8; super::RETAIN_OUTPUT + 1]);
    let (sent, got) = tokio::join!(client.send(Message::Binary(shared.clone())), server.next());
    sent.unwrap();
    assert_eq!(got.unwrap().unwrap(), Message::Binary(shared));
    assert_eq!(tx_len(&client), 0, "freed once written");
}

/// A stream that takes at most `limit` bytes per write, gathered across
/// the slices of a vectored write when `vectored` says it does those.
struct Trickle<S> {
    inner: S,
    limit: usize,
    /// The most one read returns.
    read_limit: usize,
    vectored: bool,
}

impl<S: AsyncRead + Unpin> AsyncRead for Trickle<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut tmp = vec![0; buf.remaining().min(self.read_limit)];
        let mut part = ReadBuf::new(&mut tmp);
        ready!(Pin::new(&mut self.inner).poll_read(cx, &mut part))?;
        buf.put_slice(part.filled());
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Trickle<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let n = buf.len().min(self.limit);
        Pin::new(&mut self.inner).poll_write(cx, &buf[..n])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        assert!(
            self.vectored,
            "vectored write on a stream that said it has none"
        );
        let mut gathered = Vec::new();
        for b in bufs {
            let room = self.limit - gathered.len();
            gathered.extend_from_slice(&b[..b.len().min(room)]);
        }
        Pin::new(&mut self.inner).poll_write(cx, &gathered)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test]
async fn partial_writes_of_headers_and_payloads_resume_where_they_stopped() {
    for vectored in [true, false] {
        let (a, b) = tokio::io::duplex(1 << 20);
        let a = Trickle {
            inner: a,
            limit: 5,
            read_limit: usize::MAX,
            vectored,
        };
        let (server, client) = tokio::join!(
            crate::accept(a),
            crate::client(b, "ws://127.0.0.1/", Config::default())
        );
        let (mut server, mut client) = (server.unwrap(), client.unwrap());
        // Written from the messages and copied ones, interleaved, more
        // than one vectored write gathers, with a pong the engine owes
        // queued between them.
        let mut sent = Vec::new();
        for i in 0..12 {
            let size = if i % 3 == 2 {
                7
            } else {
                super::NO_COPY_FROM + i
            };
            let payload: Vec<u8> = (0..size).map(|j| (i * 31 + j) as u8).collect();
            sent.push(Message::binary(payload));
        }
        client.send(Message::Ping("p".into())).await.unwrap();
        assert_eq!(
            server.next().await.unwrap().unwrap(),
            Message::Ping("p".into())
        );
        for m in &sent {
            server.feed(m.clone()).await.unwrap();
        }
        let (flushed, got) = tokio::join!(server.flush(), async {
            let mut got = Vec::new();
            while got.len() < sent.len() + 1 {
                got.push(client.next().await.unwrap().unwrap());
            }
            got
        });
        flushed.unwrap();
        assert_eq!(got[0], Message::Pong("p".into()), "vectored: {vectored}");
        assert_eq!(got[1..], sent[..], "vectored: {vectored}");
        let inner = server.inner.as_ref().unwrap();
        assert_eq!(inner.pending_out(), 0);
        assert!(inner.payloads.is_empty());
    }
}

#[tokio::test]
async fn a_handshake_larger_than_the_first_buffer_is_read_whole() {
    let (a, mut b) = tokio::io::duplex(1 << 20);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Cookie: {}\r\n\r\n",
        "c".repeat(3 * FIRST_READ_BUFFER)
    );
    b.write_all(request.as_bytes()).await.unwrap();
    let server = crate::accept(a).await.unwrap();
    let mut response = [0u8; 12];
    b.read_exact(&mut response).await.unwrap();
    assert_eq!(&response, b"HTTP/1.1 101");
    drop(server);
}
