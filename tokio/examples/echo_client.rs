//! A client on websock-tokio.
//!
//!   echo_client URL MESSAGE...      sends each message, prints the echo, closes
//!   echo_client autobahn URL        the Autobahn client driver: runs every case
//!                                   of a fuzzingserver at URL, echoing, then
//!                                   asks it to write its reports
//!
//!   cargo run -p websock-tokio --example echo_client -- ws://127.0.0.1:9001 hello

use futures_util::{SinkExt, StreamExt};
use websock_tokio::{Config, Message};

const AGENT: &str = "websock-tokio";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let code = rt.block_on(async move {
        match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["autobahn", url] => autobahn(url).await,
            [url, ref messages @ ..] if !messages.is_empty() => send(url, messages).await,
            _ => {
                eprintln!("usage: echo_client URL MESSAGE... | echo_client autobahn URL");
                Err(2)
            }
        }
    });
    std::process::exit(code.err().unwrap_or(0));
}

async fn send(url: &str, messages: &[&str]) -> Result<(), i32> {
    let mut ws = websock_tokio::connect(url).await.map_err(|e| {
        eprintln!("{url}: {e}");
        1
    })?;
    for m in messages {
        ws.send(Message::text(*m)).await.map_err(|e| {
            eprintln!("send: {e}");
            1
        })?;
        match ws.next().await {
            Some(Ok(Message::Text(t))) => println!("{t}"),
            other => {
                eprintln!("unexpected: {other:?}");
                return Err(1);
            }
        }
    }
    ws.close(None).await.map_err(|_| 1)?;
    // The peer's close, then the end of the stream.
    while let Some(m) = ws.next().await {
        if let Err(e) = m {
            eprintln!("{e}");
            return Err(1);
        }
    }
    Ok(())
}

async fn autobahn(base: &str) -> Result<(), i32> {
    let mut config = Config::default().with_deflate();
    // Autobahn's server reads client_no_context_takeover in an offer as
    // "would accept it" and runs its 13.2, 13.5 and 13.6 cases only for
    // clients that say so. RFC 7692 (7.1.1.2) reads it as a promise, which
    // the engine keeps: its compressor resets after every message.
    if let Some(d) = config.deflate.as_mut() {
        d.client_no_context_takeover = true;
    }
    let count = {
        let mut ws = websock_tokio::connect(&format!("{base}/getCaseCount"))
            .await
            .map_err(|e| {
                eprintln!("getCaseCount: {e}");
                1
            })?;
        let mut count = None;
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m {
                count = t.parse::<u32>().ok();
            }
        }
        count.ok_or_else(|| {
            eprintln!("getCaseCount: no count");
            1
        })?
    };
    eprintln!("{count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={AGENT}");
        let Ok(mut ws) = websock_tokio::connect_with(&url, config, None).await else {
            continue;
        };
        // Echo until the stream ends; errors (the case's protocol
        // violations) are answered by the engine, and reading goes on so
        // that the closing handshake finishes.
        while let Some(m) = ws.next().await {
            match m {
                Ok(m) if m.is_text() || m.is_binary() => {
                    let _ = ws.send(m).await;
                }
                _ => {}
            }
        }
    }
    let mut ws = websock_tokio::connect(&format!("{base}/updateReports?agent={AGENT}"))
        .await
        .map_err(|e| {
            eprintln!("updateReports: {e}");
            1
        })?;
    let _ = ws.close(None).await;
    while ws.next().await.is_some() {}
    Ok(())
}
