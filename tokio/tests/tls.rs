//! wss:// over real sockets on 127.0.0.1: a websock-tokio server behind
//! tokio-rustls with a certificate from a test CA, and `connect_with`
//! trusting that CA: messages both ways (several TLS records long), a
//! fragmented message with a ping between its fragments from a raw TLS
//! client, the closing handshake ending with close_notify, and a
//! certificate the client must refuse with a typed error.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{
    CertificateError, ClientConfig, Error as TlsError, RootCertStore, ServerConfig,
};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use websock_tokio::{CloseCode, CloseFrame, Config, MaybeTlsStream, Message, Utf8Bytes};

const LIMIT: Duration = Duration::from_secs(20);

/// A private certificate authority.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    cert: CertificateDer<'static>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap().der().clone();
        Ca {
            issuer: Issuer::new(params, key),
            cert,
        }
    }

    /// A server configuration with a leaf for `names` signed by this CA.
    fn server(&self, names: &[&str]) -> Arc<ServerConfig> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let params = CertificateParams::new(names).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = params.signed_by(&key, &self.issuer).unwrap();
        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], key)
            .unwrap();
        Arc::new(config)
    }

    /// A client configuration trusting this CA only.
    fn client(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert.clone()).unwrap();
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

fn provider() -> Arc<tokio_rustls::rustls::crypto::CryptoProvider> {
    Arc::new(tokio_rustls::rustls::crypto::ring::default_provider())
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// What the server saw of one connection.
#[derive(Debug, Default)]
struct Seen {
    messages: Vec<Message>,
    close: Option<Option<CloseFrame>>,
}

/// A wss:// server for one connection: TLS with `config`, the WebSocket
/// handshake, then `greeting` sent first and every data message echoed
/// until the stream ends (cleanly, or the task fails).
async fn serve_one(
    config: Arc<ServerConfig>,
    greeting: Vec<Message>,
) -> (u16, JoinHandle<Result<Seen, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let tls = TlsAcceptor::from(config)
            .accept(tcp)
            .await
            .map_err(|e| format!("TLS: {e}"))?;
        let mut ws = websock_tokio::accept(tls)
            .await
            .map_err(|e| format!("accept: {e}"))?;
        for m in greeting {
            ws.send(m).await.map_err(|e| format!("send: {e}"))?;
        }
        let mut seen = Seen::default();
        while let Some(m) = ws.next().await {
            let m = m.map_err(|e| format!("next: {e}"))?;
            match &m {
                Message::Text(_) | Message::Binary(_) => {
                    ws.send(m.clone()).await.map_err(|e| format!("echo: {e}"))?;
                    seen.messages.push(m);
                }
                Message::Close(frame) => seen.close = Some(frame.clone()),
                Message::Ping(_) | Message::Pong(_) => seen.messages.push(m),
            }
        }
        Ok(seen)
    });
    (port, task)
}

#[tokio::test]
async fn wss_messages_both_ways_and_the_closing_handshake() {
    timeout(LIMIT, async {
        let ca = Ca::new("websock-tokio test CA");
        let greeting = vec![
            Message::text("welcome"),
            Message::binary(pattern(100_000, 1)),
        ];
        let (port, server) = serve_one(ca.server(&["127.0.0.1"]), greeting.clone()).await;
        let url = format!("wss://127.0.0.1:{port}/chat");
        let mut client = websock_tokio::connect_with(&url, Config::default(), Some(ca.client()))
            .await
            .unwrap();
        assert!(matches!(client.get_ref(), Some(MaybeTlsStream::Tls(_))));
        for expected in &greeting {
            assert_eq!(&client.next().await.unwrap().unwrap(), expected);
        }
        client.send(Message::text("h\u{e9}llo")).await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            Message::text("h\u{e9}llo")
        );
        // Around one TLS record (16 KiB of plaintext), and many of them.
        let sizes = [0, 125, 126, 16_380, 16_384, 16_390, 65_536, 1 << 20];
        for len in sizes {
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
        // The server ends TLS and TCP; the client's stream ends cleanly.
        assert!(client.next().await.is_none());
        let seen = server.await.unwrap().unwrap();
        let echoed = seen.messages.iter().filter(|m| m.is_binary()).count();
        assert_eq!(echoed, sizes.len());
        assert_eq!(seen.messages.len(), sizes.len() + 2, "{:?}", seen.close);
        let close = seen.close.flatten().expect("the client's close");
        assert_eq!(
            (close.code, close.reason.as_str()),
            (CloseCode::NORMAL, "done")
        );
    })
    .await
    .unwrap();
}

/// A client frame, masked.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x5a, 0x01, 0xc3, 0x7e];
    let mut f = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        n @ 0..=125 => f.push(0x80 | n as u8),
        n @ 126..=65535 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(&MASK);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    f
}

/// Reads one unmasked server frame: (first byte, payload).
async fn read_frame<R: tokio::io::AsyncRead + Unpin>(r: &mut R) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    r.read_exact(&mut head).await.unwrap();
    assert_eq!(head[1] & 0x80, 0, "a server frame is not masked");
    let len = match head[1] & 0x7f {
        126 => {
            let mut n = [0u8; 2];
            r.read_exact(&mut n).await.unwrap();
            u16::from_be_bytes(n) as usize
        }
        127 => {
            let mut n = [0u8; 8];
            r.read_exact(&mut n).await.unwrap();
            u64::from_be_bytes(n) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0; len];
    r.read_exact(&mut payload).await.unwrap();
    (head[0], payload)
}

#[tokio::test]
async fn wss_fragmented_message_with_a_ping_between_fragments() {
    timeout(LIMIT, async {
        let ca = Ca::new("websock-tokio test CA");
        let (port, server) = serve_one(ca.server(&["127.0.0.1"]), Vec::new()).await;
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let name = "127.0.0.1".try_into().unwrap();
        let mut tls = TlsConnector::from(ca.client())
            .connect(name, tcp)
            .await
            .unwrap();
        tls.write_all(
            b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
              Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
              Sec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
        let mut response = Vec::new();
        while !response.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            tls.read_exact(&mut b).await.unwrap();
            response.push(b[0]);
        }
        assert!(response.starts_with(b"HTTP/1.1 101 "), "{response:?}");
        // Three fragments, the last one over two TLS records, with a ping
        // between the first two; all written in one go.
        let tail: String = "w\u{f6}rld ".repeat(6_000);
        let mut bytes = frame(false, 1, "h\u{e9}l".as_bytes());
        bytes.extend(frame(true, 9, b"between"));
        bytes.extend(frame(false, 0, b"lo, "));
        bytes.extend(frame(true, 0, tail.as_bytes()));
        tls.write_all(&bytes).await.unwrap();
        assert_eq!(read_frame(&mut tls).await, (0x8a, b"between".to_vec()));
        let whole = format!("h\u{e9}llo, {tail}");
        assert_eq!(
            read_frame(&mut tls).await,
            (0x81, whole.clone().into_bytes())
        );
        let mut close = 1000u16.to_be_bytes().to_vec();
        close.extend_from_slice(b"bye");
        tls.write_all(&frame(true, 8, &close)).await.unwrap();
        let (first, payload) = read_frame(&mut tls).await;
        assert_eq!((first, &payload[..2]), (0x88, &[0x03, 0xe8][..]));
        // The server shuts down: close_notify, then TCP's end of stream
        // (tokio-rustls reports an end without close_notify as an error).
        let mut rest = Vec::new();
        assert_eq!(tls.read_to_end(&mut rest).await.unwrap(), 0);
        tls.shutdown().await.unwrap();
        let seen = server.await.unwrap().unwrap();
        assert_eq!(
            seen.messages,
            [Message::Ping("between".into()), Message::text(whole)]
        );
        let close = seen.close.flatten().expect("the client's close");
        assert_eq!(
            (close.code, close.reason.as_str()),
            (CloseCode::NORMAL, "bye")
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_certificate_the_client_does_not_trust_is_refused() {
    timeout(LIMIT, async {
        let ca = Ca::new("websock-tokio test CA");
        let stranger = Ca::new("someone else");
        // Signed by a CA the client does not know.
        let (port, server) = serve_one(stranger.server(&["127.0.0.1"]), Vec::new()).await;
        let url = format!("wss://127.0.0.1:{port}/");
        let r = websock_tokio::connect_with(&url, Config::default(), Some(ca.client())).await;
        match r {
            Err(websock_tokio::Error::TlsHandshake(TlsError::InvalidCertificate(
                CertificateError::UnknownIssuer,
            ))) => {}
            Err(e) => panic!("another error: {e:?}"),
            Ok(_) => panic!("an untrusted certificate was accepted"),
        }
        // The server learns it too (the client's alert), and ends.
        let e = server.await.unwrap().unwrap_err();
        assert!(e.starts_with("TLS: "), "{e}");

        // Signed by the trusted CA, but for another name.
        let (port, server) = serve_one(ca.server(&["example.com"]), Vec::new()).await;
        let url = format!("wss://127.0.0.1:{port}/");
        let r = websock_tokio::connect_with(&url, Config::default(), Some(ca.client())).await;
        match r {
            Err(websock_tokio::Error::TlsHandshake(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            ))) => {}
            Err(e) => panic!("another error: {e:?}"),
            Ok(_) => panic!("a certificate for another name was accepted"),
        }
        assert!(server.await.unwrap().is_err());
    })
    .await
    .unwrap();
}
