//! An echo server on websock-tokio: one current-thread runtime, a task per
//! connection, permessage-deflate accepted.
//!
//!   cargo run --release -p websock-tokio --example echo_server -- 127.0.0.1:9001 [--no-deflate]

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use websock_tokio::Config;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9001".into());
    let mut config = Config::default().with_deflate();
    for a in args {
        match a.as_str() {
            "--no-deflate" => config.deflate = None,
            _ => {
                eprintln!("usage: echo_server [HOST:PORT] [--no-deflate]");
                std::process::exit(2);
            }
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await.expect("bind");
        eprintln!("listening on ws://{addr}");
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(echo(stream, config));
                }
                Err(e) => eprintln!("accept: {e}"),
            }
        }
    });
}

async fn echo(stream: TcpStream, config: Config) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = websock_tokio::accept_with(stream, config).await else {
        return;
    };
    // Errors end the echo, but the stream is read to its end so that the
    // closing handshake finishes.
    while let Some(msg) = ws.next().await {
        let Ok(m) = msg else { continue };
        if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
            break;
        }
    }
}
