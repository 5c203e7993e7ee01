//! The async adapter (`io_async`) over tokio sockets, through
//! embedded-io-adapters: an echo server, and an Autobahn client driver that
//! echoes every case. tests/suite-async.sh runs both against kosoku.
//!
//!   cargo run -p websock-core --features async --example async_echo -- serve 127.0.0.1:9001
//!   cargo run -p websock-core --features async --example async_echo -- autobahn ws://127.0.0.1:9001

use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use tokio::net::{TcpListener, TcpStream};
use websock_core::io::{IoError, Message};
use websock_core::io_async::WebSocket;
use websock_core::{CloseCode, Config, Role};

/// Input and output halves of 64 KiB each.
const BUF: usize = 128 << 10;
/// Autobahn's largest message is 16 MiB.
const MAX_MESSAGE: usize = 16 << 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["serve", addr] => rt.block_on(serve(addr)),
        ["autobahn", url] => rt.block_on(autobahn(url)),
        _ => {
            eprintln!("usage: async_echo serve HOST:PORT | autobahn ws://HOST:PORT");
            std::process::exit(2);
        }
    }
}

async fn serve(addr: &str) {
    let listener = TcpListener::bind(addr).await.expect("bind");
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::task::spawn_local(async move {
                    let mut buf = vec![0u8; BUF];
                    let accepted =
                        WebSocket::accept(FromTokio::new(stream), &mut buf, Config::new()).await;
                    if let Ok(mut ws) = accepted {
                        let _ = echo(&mut ws).await;
                    }
                    // The server closes TCP first (RFC 6455 section 7.1.1).
                });
            }
        })
        .await
}

/// Echoes until the peer closes or the connection fails.
async fn echo(ws: &mut WebSocket<'_, FromTokio<TcpStream>>) -> Result<(), IoError<std::io::Error>> {
    let mut msg = vec![0u8; MAX_MESSAGE];
    loop {
        match ws.read_message(&mut msg).await? {
            Message::Text(t) => {
                let t = t.to_owned();
                ws.send_text(&t).await?
            }
            Message::Binary(b) => {
                let b = b.to_vec();
                ws.send_binary(&b).await?
            }
            Message::Close { .. } => return Ok(()),
        }
    }
}

/// `ws://host:port` into ("host:port", "host").
fn authority(url: &str) -> (String, String) {
    let rest = url.strip_prefix("ws://").expect("a ws:// URL");
    let hostport = rest.split('/').next().unwrap_or(rest).to_owned();
    (hostport.clone(), hostport)
}

async fn open<'b>(
    url: &str,
    path: &str,
    buf: &'b mut [u8],
) -> Option<WebSocket<'b, FromTokio<TcpStream>>> {
    let (addr, host) = authority(url);
    let stream = TcpStream::connect(&addr).await.ok()?;
    let _ = stream.set_nodelay(true);
    let mut entropy = [0u8; 32];
    getrandom::fill(&mut entropy).ok()?;
    WebSocket::connect(
        FromTokio::new(stream),
        buf,
        &host,
        path,
        entropy,
        Config::new(),
    )
    .await
    .ok()
}

async fn autobahn(url: &str) {
    let mut buf = vec![0u8; BUF];
    let count = {
        let mut ws = open(url, "/getCaseCount", &mut buf)
            .await
            .expect("getCaseCount");
        let mut msg = [0u8; 64];
        match ws.read_message(&mut msg).await {
            Ok(Message::Text(t)) => t.parse::<u32>().expect("a case count"),
            other => panic!("getCaseCount: {other:?}"),
        }
    };
    eprintln!("{count} cases");
    for case in 1..=count {
        let path = format!("/runCase?case={case}&agent=websock-core-async");
        if let Some(mut ws) = open(url, &path, &mut buf).await {
            let _ = echo(&mut ws).await;
            finish(&mut ws).await;
        }
    }
    let mut ws = open(url, "/updateReports?agent=websock-core-async", &mut buf)
        .await
        .expect("updateReports");
    let _ = ws.close(CloseCode::NORMAL, "").await;
}

/// A client waits for the server to close TCP (section 7.1.1), briefly.
async fn finish(ws: &mut WebSocket<'_, FromTokio<TcpStream>>) {
    debug_assert_eq!(ws.connection().role(), Role::Client);
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while ws.read().await.is_ok() {}
    })
    .await;
}
