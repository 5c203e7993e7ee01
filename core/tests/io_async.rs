//! The async adapter over real sockets on 127.0.0.1 (tokio streams through
//! embedded-io-adapters): handshakes, messages, streaming reads, the split
//! halves from two tasks at once, and cancellation.

use std::time::Duration;

use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use embedded_io_adapters::tokio_1::FromTokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{sleep, timeout};
use websock_core::io::{IoError, Message};
use websock_core::io_async::{Chunk, Split, WebSocket};
use websock_core::{CloseCode, Config, Connection, DataKind, Event, State};

type Socket = FromTokio<TcpStream>;
type Halves = Split<'static, NoopRawMutex, FromTokio<OwnedReadHalf>, FromTokio<OwnedWriteHalf>>;

/// Each test gets this long, so a hang fails instead of stalling the run.
const LIMIT: Duration = Duration::from_secs(20);

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
    (client.unwrap(), server.unwrap().0)
}

/// An opened pair of adapters, server and client, each with `size` bytes of
/// buffer.
async fn opened(size: usize) -> (WebSocket<'static, Socket>, WebSocket<'static, Socket>) {
    let (c, s) = pair().await;
    let sbuf = Box::leak(vec![0u8; size].into_boxed_slice());
    let cbuf = Box::leak(vec![0u8; size].into_boxed_slice());
    let (server, client) = tokio::join!(
        WebSocket::accept(FromTokio::new(s), sbuf, Config::new()),
        WebSocket::connect(
            FromTokio::new(c),
            cbuf,
            "127.0.0.1",
            "/",
            [7; 32],
            Config::new()
        ),
    );
    (server.unwrap(), client.unwrap())
}

fn split(ws: WebSocket<'static, Socket>) -> Halves {
    ws.split(|s| {
        let (r, w) = s.into_inner().into_split();
        (FromTokio::new(r), FromTokio::new(w))
    })
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn echo_with_fragments_streaming_and_too_big() {
    timeout(LIMIT, async {
        let (mut server, mut client) = opened(2048).await;
        let echo = async move {
            let mut msg = vec![0u8; 10_000];
            loop {
                match server.read_message(&mut msg).await.unwrap() {
                    Message::Text(t) => {
                        let t = t.to_owned();
                        server.send_text(&t).await.unwrap()
                    }
                    Message::Binary(b) => {
                        let b = b.to_vec();
                        server.send_binary(&b).await.unwrap()
                    }
                    Message::Close { code, .. } => return code,
                }
            }
        };
        let drive = async move {
            let mut msg = vec![0u8; 10_000];
            client.send_text("héllo").await.unwrap();
            assert_eq!(
                client.read_message(&mut msg).await.unwrap(),
                Message::Text("héllo")
            );
            client.ping(b"are you there").await.unwrap();
            // Larger than the 1 KiB output half: goes out in fragments.
            let big = pattern(5000, 1);
            client.send_binary(&big).await.unwrap();
            assert_eq!(
                client.read_message(&mut msg).await.unwrap(),
                Message::Binary(&big[..])
            );
            // The same message streamed through the input half in chunks.
            client.send_binary(&big).await.unwrap();
            let mut got = Vec::new();
            loop {
                match client.read().await.unwrap() {
                    Chunk::Data { kind, bytes, last } => {
                        assert_eq!(kind, DataKind::Binary);
                        assert!(bytes.len() <= 1024);
                        got.extend_from_slice(bytes);
                        if last {
                            break;
                        }
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(got, big);
            // Too big for a small message buffer: closed with 1009.
            client.send_binary(&big).await.unwrap();
            let mut small = [0u8; 100];
            assert!(matches!(
                client.read_message(&mut small).await,
                Err(IoError::MessageTooBig)
            ));
            // Kept open until the server has read the close.
            client
        };
        let (code, _client) = tokio::join!(echo, drive);
        assert_eq!(code, CloseCode::TOO_BIG);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn bad_request_gets_http_error() {
    timeout(LIMIT, async {
        let (mut c, s) = pair().await;
        let client = async move {
            c.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut answer = String::new();
            c.read_to_string(&mut answer).await.unwrap();
            answer
        };
        let server = async move {
            let mut buf = [0u8; 2048];
            let r = WebSocket::accept(FromTokio::new(s), &mut buf, Config::new()).await;
            // Dropping the socket ends the client's read.
            r.err()
        };
        let (answer, err) = tokio::join!(client, server);
        assert!(
            answer.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{answer}"
        );
        assert!(matches!(
            err,
            Some(IoError::Ws(websock_core::Error::Handshake(
                websock_core::HandshakeError::NotGet
            )))
        ));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn split_one_task_echoes_while_another_sends() {
    timeout(LIMIT, async {
        let (server, mut client) = opened(4096).await;
        let mut halves = split(server);
        let (mut rx, tx) = halves.halves();
        let mut echo_tx = tx.clone();
        let mut tick_tx = tx;
        let echo = async move {
            let mut msg = vec![0u8; 20_000];
            let mut echoed = 0;
            loop {
                match rx.read_message(&mut msg).await.unwrap() {
                    Message::Binary(b) => {
                        let b = b.to_vec();
                        echo_tx.send_binary(&b).await.unwrap();
                        echoed += 1;
                    }
                    Message::Text(_) => panic!("the client sends binary"),
                    Message::Close { .. } => return echoed,
                }
            }
        };
        let ticks = async move {
            for i in 0..50 {
                tick_tx.send_text(&format!("tick {i}")).await.unwrap();
                tokio::task::yield_now().await;
            }
        };
        let drive = async move {
            let mut msg = vec![0u8; 20_000];
            let (mut echoes, mut ticks) = (0, 0);
            for i in 0..50u8 {
                // Each larger than the output half: fragments, which ticks
                // must never split.
                client.send_binary(&pattern(9000, i)).await.unwrap();
            }
            while echoes < 50 || ticks < 50 {
                match client.read_message(&mut msg).await.unwrap() {
                    Message::Binary(b) => {
                        assert_eq!(b, &pattern(9000, echoes as u8)[..]);
                        echoes += 1;
                    }
                    Message::Text(t) => {
                        assert_eq!(t, format!("tick {ticks}"));
                        ticks += 1;
                    }
                    Message::Close { .. } => panic!("early close"),
                }
            }
            client.close(CloseCode::NORMAL, "done").await.unwrap();
        };
        let (echoed, (), ()) = tokio::join!(echo, ticks, drive);
        assert_eq!(echoed, 50);
        assert_eq!(halves.state(), State::Closed);
    })
    .await
    .unwrap();
}

/// A client engine on a raw socket, to see frames the adapter would hide.
struct RawClient {
    io: TcpStream,
    conn: Connection,
    buf: Vec<u8>,
    end: usize,
}

impl RawClient {
    async fn connect(mut io: TcpStream) -> RawClient {
        let mut conn = Connection::client(Config::new(), 0, [3; 32]);
        let mut out = [0u8; 512];
        let n = conn.write_request("127.0.0.1", "/", &[], &mut out).unwrap();
        io.write_all(&out[..n]).await.unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut end = 0;
        loop {
            end += io.read(&mut buf[end..]).await.unwrap();
            let len = conn.read_response(&buf[..end], &[]).unwrap().map(|r| r.len);
            if let Some(len) = len {
                buf.copy_within(len..end, 0);
                end -= len;
                return RawClient { io, conn, buf, end };
            }
        }
    }

    async fn write(&mut self, f: impl FnOnce(&mut Connection, &mut [u8]) -> usize) {
        let mut out = vec![0u8; 1 << 16];
        let n = f(&mut self.conn, &mut out);
        self.io.write_all(&out[..n]).await.unwrap();
    }

    /// The next event, as owned data: (is pong, data length, last).
    async fn next(&mut self) -> Option<(bool, usize, bool)> {
        loop {
            let mut pong = [0u8; 256];
            let r = self
                .conn
                .receive(&mut self.buf[..self.end], &mut pong)
                .unwrap();
            let (used, ev) = (r.consumed, r.event);
            let got = match ev {
                Some(Event::Pong(_)) => Some(Some((true, 0, true))),
                Some(Event::Data { chunk, last, .. }) => Some(Some((false, chunk.len(), last))),
                Some(Event::Close { .. }) => Some(None),
                _ => None,
            };
            self.buf.copy_within(used..self.end, 0);
            self.end -= used;
            if let Some(got) = got {
                return got;
            }
            if used == 0 {
                let n = self.io.read(&mut self.buf[self.end..]).await.unwrap();
                assert!(n > 0, "server hung up");
                self.end += n;
            }
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn split_answers_pings_while_the_writer_is_busy() {
    timeout(LIMIT, async {
        let (c, s) = pair().await;
        let sbuf = Box::leak(vec![0u8; 4096].into_boxed_slice());
        let (server, mut client) = tokio::join!(
            WebSocket::accept(FromTokio::new(s), sbuf, Config::new()),
            RawClient::connect(c)
        );
        let mut halves = split(server.unwrap());
        let (mut rx, mut tx) = halves.halves();
        const BIG: usize = 8 << 20;
        let big = pattern(BIG, 9);
        let writer = async {
            tx.send_binary(&big).await.unwrap();
        };
        let reader = async {
            let mut msg = [0u8; 256];
            // Returns at the client's close, which comes after the pongs.
            match rx.read_message(&mut msg).await.unwrap() {
                Message::Close { code, .. } => assert_eq!(code, CloseCode::NORMAL),
                other => panic!("unexpected {other:?}"),
            }
        };
        let drive = async {
            // Let the writer fill the socket buffers and block mid-message.
            sleep(Duration::from_millis(100)).await;
            for i in 0..3u8 {
                client.write(|c, out| c.ping(&[i], out).unwrap()).await;
            }
            let (mut data, mut pongs) = (0, 0);
            let pongs_before_end;
            loop {
                match client.next().await.unwrap() {
                    (true, _, _) => pongs += 1,
                    (false, n, last) => {
                        data += n;
                        if last {
                            pongs_before_end = pongs;
                            break;
                        }
                    }
                }
            }
            assert_eq!(data, BIG);
            client
                .write(|c, out| c.close(CloseCode::NORMAL, "", out).unwrap())
                .await;
            while pongs < 3 {
                assert!(client.next().await.unwrap().0, "a pong");
                pongs += 1;
            }
            assert!(client.next().await.is_none(), "the close reply");
            pongs_before_end
        };
        let ((), (), before_end) = tokio::join!(writer, reader, drive);
        // All three were answered between fragments of the 8 MiB message.
        assert_eq!(before_end, 3);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn split_close_from_the_write_half() {
    timeout(LIMIT, async {
        let (server, mut client) = opened(2048).await;
        let mut halves = split(server);
        let (mut rx, mut tx) = halves.halves();
        let server = async move {
            tx.close(CloseCode::GOING_AWAY, "bye").await.unwrap();
            let mut msg = [0u8; 64];
            // The peer's reply to our close comes out of the read half.
            match rx.read_message(&mut msg).await.unwrap() {
                Message::Close { code, .. } => assert_eq!(code, CloseCode::GOING_AWAY),
                other => panic!("unexpected {other:?}"),
            }
            // Closing again is refused, not sent twice.
            assert!(matches!(
                tx.close(CloseCode::NORMAL, "").await,
                Err(IoError::Ws(websock_core::Error::InvalidState))
            ));
        };
        let peer = async move {
            let mut msg = [0u8; 64];
            match client.read_message(&mut msg).await.unwrap() {
                Message::Close { code, reason } => {
                    assert_eq!(code, CloseCode::GOING_AWAY);
                    assert_eq!(reason, b"bye");
                }
                other => panic!("unexpected {other:?}"),
            }
            client
        };
        let ((), client) = tokio::join!(server, peer);
        assert_eq!(halves.state(), State::Closed);
        assert_eq!(client.connection().state(), State::Closed);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn split_close_from_the_read_half_and_from_the_peer() {
    timeout(LIMIT, async {
        // Our read half closes.
        let (server, mut client) = opened(2048).await;
        let mut halves = split(server);
        let (mut rx, _tx) = halves.halves();
        let peer = async move {
            let mut msg = [0u8; 64];
            client.send_text("late").await.unwrap();
            matches!(
                client.read_message(&mut msg).await,
                Ok(Message::Close { .. })
            )
        };
        let (closed, peer_saw_close) = tokio::join!(rx.close(CloseCode::NORMAL, "done"), peer);
        closed.unwrap();
        assert!(peer_saw_close);
        assert_eq!(halves.state(), State::Closed);

        // The peer closes: the read half replies; the write half may no
        // longer send.
        let (server, mut client) = opened(2048).await;
        let mut halves = split(server);
        let (mut rx, mut tx) = halves.halves();
        let ours = async move {
            let mut msg = [0u8; 64];
            let m = rx.read_message(&mut msg).await.unwrap();
            assert!(matches!(
                m,
                Message::Close {
                    code: CloseCode::NORMAL,
                    ..
                }
            ));
            tx.send_text("too late").await
        };
        let (sent, closed) = tokio::join!(ours, client.close(CloseCode::NORMAL, ""));
        closed.unwrap();
        assert!(matches!(
            sent,
            Err(IoError::Ws(websock_core::Error::InvalidState))
        ));
        assert_eq!(halves.state(), State::Closed);
    })
    .await
    .unwrap();
}

/// Writes messages as fragments, a few bytes at a time with pauses, so
/// that reads with a short timeout are dropped mid-message.
async fn trickle(mut client: RawClient, messages: &[Vec<u8>]) -> RawClient {
    for m in messages {
        let mut wire = Vec::new();
        let mut out = vec![0u8; 4096];
        let parts: Vec<&[u8]> = m.chunks(300).collect();
        for (i, p) in parts.iter().enumerate() {
            let n = client
                .conn
                .send(DataKind::Binary, p, i + 1 == parts.len(), &mut out)
                .unwrap();
            wire.extend_from_slice(&out[..n]);
        }
        for piece in wire.chunks(97) {
            client.io.write_all(piece).await.unwrap();
            sleep(Duration::from_millis(2)).await;
        }
    }
    client
}

#[tokio::test(flavor = "current_thread")]
async fn dropped_reads_lose_no_bytes() {
    timeout(LIMIT, async {
        let messages: Vec<Vec<u8>> = (0..6).map(|i| pattern(1000 + 700 * i, i as u8)).collect();

        // The whole WebSocket.
        let (c, s) = pair().await;
        let sbuf = Box::leak(vec![0u8; 2048].into_boxed_slice());
        let (server, client) = tokio::join!(
            WebSocket::accept(FromTokio::new(s), sbuf, Config::new()),
            RawClient::connect(c)
        );
        let mut server = server.unwrap();
        let reader = async {
            let mut msg = vec![0u8; 8192];
            let (mut got, mut dropped) = (Vec::new(), 0);
            while got.len() < messages.len() {
                match timeout(Duration::from_millis(1), server.read_message(&mut msg)).await {
                    Ok(Ok(Message::Binary(b))) => got.push(b.to_vec()),
                    Ok(other) => panic!("unexpected {other:?}"),
                    Err(_) => dropped += 1,
                }
            }
            (got, dropped)
        };
        let (_, (got, dropped)) = tokio::join!(trickle(client, &messages), reader);
        assert_eq!(got, messages);
        assert!(
            dropped > 10,
            "the reads were dropped mid-message ({dropped})"
        );

        // The read half of a split one.
        let (c, s) = pair().await;
        let sbuf = Box::leak(vec![0u8; 2048].into_boxed_slice());
        let (server, client) = tokio::join!(
            WebSocket::accept(FromTokio::new(s), sbuf, Config::new()),
            RawClient::connect(c)
        );
        let mut halves = split(server.unwrap());
        let (mut rx, _tx) = halves.halves();
        let reader = async {
            let mut msg = vec![0u8; 8192];
            let (mut got, mut dropped) = (Vec::new(), 0);
            while got.len() < messages.len() {
                match timeout(Duration::from_millis(1), rx.read_message(&mut msg)).await {
                    Ok(Ok(Message::Binary(b))) => got.push(b.to_vec()),
                    Ok(other) => panic!("unexpected {other:?}"),
                    Err(_) => dropped += 1,
                }
            }
            (got, dropped)
        };
        let (_, (got, dropped)) = tokio::join!(trickle(client, &messages), reader);
        assert_eq!(got, messages);
        assert!(
            dropped > 10,
            "the reads were dropped mid-message ({dropped})"
        );
    })
    .await
    .unwrap();
}
