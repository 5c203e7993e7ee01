//! websock-tokio over real sockets on 127.0.0.1: messages both ways with
//! and without deflate, the split halves, backpressure, and the closing
//! handshake on close and on drop.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;
use websock_tokio::{CloseCode, CloseFrame, Config, Message, Utf8Bytes, WebSocket};

const LIMIT: Duration = Duration::from_secs(20);

async fn pair(server: Config, client: Config) -> (WebSocket<TcpStream>, WebSocket<TcpStream>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("ws://{addr}/chat");
    let accept = async {
        let (s, _) = listener.accept().await.unwrap();
        websock_tokio::accept_with(s, server).await.unwrap()
    };
    let connect = async {
        let s = TcpStream::connect(addr).await.unwrap();
        websock_tokio::client(s, &url, client).await.unwrap()
    };
    tokio::join!(accept, connect)
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

/// Echoes data messages until the stream ends.
async fn echo(mut ws: WebSocket<TcpStream>) {
    while let Some(m) = ws.next().await {
        match m {
            Ok(m) if m.is_text() || m.is_binary() => ws.send(m).await.unwrap(),
            _ => {}
        }
    }
}

async fn messages_both_ways(config: Config) {
    let (server, mut client) = pair(config, config).await;
    assert_eq!(client.compression(), config.deflate.is_some());
    let echoing = tokio::spawn(echo(server));
    client.send(Message::text("héllo")).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::text("héllo")
    );
    for len in [0, 125, 126, 65535, 65536, 1 << 20] {
        let data = pattern(len, len as u8);
        client.send(Message::binary(data.clone())).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), Message::binary(data));
    }
    client.send(Message::Ping("p".into())).await.unwrap();
    assert_eq!(
        client.next().await.unwrap().unwrap(),
        Message::Pong("p".into())
    );
    client
        .close(Some(CloseFrame {
            code: CloseCode::NORMAL,
            reason: Utf8Bytes::from_static("done"),
        }))
        .await
        .unwrap();
    match client.next().await.unwrap().unwrap() {
        Message::Close(Some(f)) => assert_eq!(f.code, CloseCode::NORMAL),
        other => panic!("unexpected {other:?}"),
    }
    // The server closes TCP; the client's stream then ends cleanly.
    assert!(client.next().await.is_none());
    echoing.await.unwrap();
}

#[tokio::test]
async fn messages_both_ways_plain() {
    timeout(LIMIT, messages_both_ways(Config::default()))
        .await
        .unwrap();
}

#[tokio::test]
async fn messages_both_ways_deflate() {
    timeout(LIMIT, messages_both_ways(Config::default().with_deflate()))
        .await
        .unwrap();
}

#[tokio::test]
async fn split_halves_in_two_tasks() {
    timeout(LIMIT, async {
        let (server, client) = pair(Config::default(), Config::default()).await;
        let echoing = tokio::spawn(echo(server));
        let (mut sink, mut stream) = client.split();
        let sender = tokio::spawn(async move {
            for i in 0..200u32 {
                sink.send(Message::binary(pattern(10_000, i as u8)))
                    .await
                    .unwrap();
            }
            sink.close().await.unwrap();
        });
        let mut got = 0u32;
        while let Some(m) = stream.next().await {
            match m.unwrap() {
                Message::Binary(b) => {
                    assert_eq!(&b[..], &pattern(10_000, got as u8)[..]);
                    got += 1;
                }
                Message::Close(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got, 200);
        sender.await.unwrap();
        echoing.await.unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn backpressure_bounds_output_and_loses_nothing() {
    timeout(LIMIT, async {
        let config = Config {
            write_buffer_limit: 64 << 10,
            ..Config::default()
        };
        let (mut server, mut client) = pair(config, Config::default()).await;
        // The client reads nothing yet: the server's sink must stop being
        // ready once the socket buffers and its own limit are full.
        let mut fed = 0usize;
        loop {
            let msg = Message::binary(pattern(64 << 10, fed as u8));
            match timeout(Duration::from_millis(300), server.feed(msg)).await {
                Ok(r) => r.unwrap(),
                Err(_) => break,
            }
            fed += 1;
            assert!(fed < 2000, "output grew without bound");
        }
        // Now the client reads: every message arrives, in order.
        let reader = tokio::spawn(async move {
            for i in 0..fed {
                let m = client.next().await.unwrap().unwrap();
                assert_eq!(
                    m,
                    Message::binary(pattern(64 << 10, i as u8)),
                    "message {i}"
                );
            }
            client
        });
        server.flush().await.unwrap();
        let _client = reader.await.unwrap();
        assert!(fed > 1);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn dropping_finishes_the_closing_handshake() {
    timeout(LIMIT, async {
        let (server, mut client) = pair(Config::default(), Config::default()).await;
        drop(server);
        match client.next().await.unwrap().unwrap() {
            Message::Close(Some(f)) => assert_eq!(f.code, CloseCode::GOING_AWAY),
            other => panic!("unexpected {other:?}"),
        }
        // Our reply went out, the server closed TCP: a clean end.
        assert!(client.next().await.is_none());
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn peer_vanishing_is_an_error_not_a_hang() {
    timeout(LIMIT, async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = tokio::spawn(async move {
            // Answers the handshake by hand, then hangs up.
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let key = req
                .lines()
                .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                .unwrap()
                .to_owned();
            let accept = websock_core::handshake::accept_key(key.as_bytes());
            let accept = std::str::from_utf8(&accept).unwrap().to_owned();
            s.write_all(
                format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                     Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .unwrap();
        });
        let mut ws = websock_tokio::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        peer.await.unwrap();
        assert!(matches!(
            ws.next().await,
            Some(Err(websock_tokio::Error::ConnectionReset))
        ));
        assert!(ws.next().await.is_none());
        assert!(matches!(
            ws.send(Message::text("x")).await,
            Err(websock_tokio::Error::AlreadyClosed) | Err(websock_tokio::Error::Io(_))
        ));
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn bad_urls_are_errors() {
    for url in ["http://x/", "ws://", "ws://h:99999/"] {
        assert!(matches!(
            websock_tokio::connect(url).await,
            Err(websock_tokio::Error::Url(_))
        ));
    }
}

/// The close timeout counts from our close, not from the last time the
/// engine was given the time (the data path reads no clock while open): a
/// connection idle for longer than the timeout, then closed towards a peer
/// that never answers, waits the timeout before giving up with `Timeout`.
#[tokio::test]
async fn the_close_timeout_counts_from_our_close_after_an_idle_spell() {
    timeout(LIMIT, async {
        let wait = Duration::from_millis(300);
        let config = Config {
            close_timeout: wait,
            ..Config::default()
        };
        let (mut server, mut client) = pair(config, Config::default()).await;
        client
            .send(Message::Binary(vec![1u8; 20].into()))
            .await
            .unwrap();
        assert!(matches!(server.next().await, Some(Ok(Message::Binary(_)))));
        // Idle for longer than the close timeout.
        tokio::time::sleep(wait * 2).await;
        server.send(Message::Close(None)).await.unwrap();
        let closed = std::time::Instant::now();
        // The client is never polled again: no close reply comes.
        let end = server.next().await;
        assert!(
            matches!(end, Some(Err(websock_tokio::Error::Timeout))),
            "{end:?}"
        );
        // The close timeout, then as long again for the peer's last bytes
        // (the transport is drained up to the close timeout before it is
        // dropped): a deadline counted from before the idle spell would
        // fire at once and end after one wait only.
        assert!(closed.elapsed() >= wait * 2 - Duration::from_millis(20));
        drop(client);
    })
    .await
    .unwrap();
}
