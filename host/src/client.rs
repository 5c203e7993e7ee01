//! `websock client URL`: a terminal client. Lines from stdin go out as text
//! messages; messages received are printed one per line (binary as hex);
//! end of input closes with 1000 and waits for the closing handshake.

use std::io::{self, BufRead, Write};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::thread;

use mio::{Token, Waker};
use websock_core::{CloseCode, Config, DataKind, Event, State};

use crate::clock::Clock;
use crate::dial::{self, Dialer};
use crate::link::{Handler, Tx};
use crate::reactor::Reactor;
use crate::tls::client::ClientOptions;
use crate::url::WsUrl;

/// The token of the waker the stdin thread rings.
const WAKE: Token = Token(0);

/// What the stdin thread hands the event loop.
enum Input {
    Line(String),
    End,
}

/// Prints what arrives on stdout.
#[derive(Debug, Default)]
struct Printer {
    /// A message is being printed (its start has been written).
    in_message: bool,
    /// The server's close frame, when it sent one.
    peer_close: Option<(u16, String)>,
}

impl Handler for Printer {
    fn event(&mut self, event: Event<'_>, _tx: &mut Tx<'_>) {
        let mut out = io::stdout().lock();
        // A closed stdout must not end the session; errors are dropped.
        let _ = match event {
            Event::Data { kind, chunk, last } => self.print(&mut out, kind, chunk, last),
            Event::Close { code, reason } => {
                let reason = String::from_utf8_lossy(reason.as_bytes()).into_owned();
                self.peer_close = Some((code.0, reason));
                Ok(())
            }
            Event::Ping(_) | Event::Pong(_) => Ok(()),
        };
    }
}

impl Printer {
    fn print(
        &mut self,
        out: &mut impl Write,
        kind: DataKind,
        chunk: &[u8],
        last: bool,
    ) -> io::Result<()> {
        match kind {
            // Pieces of a text message may split a character; the bytes
            // concatenate correctly on the terminal all the same.
            DataKind::Text => out.write_all(chunk)?,
            DataKind::Binary => {
                if !self.in_message {
                    out.write_all(b"[binary] ")?;
                }
                let mut hex = [0u8; 2];
                for &b in chunk {
                    hex[0] = HEX[(b >> 4) as usize];
                    hex[1] = HEX[(b & 15) as usize];
                    out.write_all(&hex)?;
                }
            }
        }
        self.in_message = !last;
        if last {
            out.write_all(b"\n")?;
            out.flush()?;
        }
        Ok(())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Runs the client until the connection ends; `Err` is one line saying why
/// it did not end cleanly.
pub fn run(url_text: &str, config: Config, tls: &ClientOptions) -> Result<(), String> {
    let url = WsUrl::parse(url_text).map_err(|e| format!("bad URL '{url_text}': {e}"))?;
    let dialer = Dialer::new(&url, tls)?;
    let mut reactor =
        Reactor::new(Clock::new()).map_err(|e| format!("cannot create a poll: {e}"))?;
    let waker =
        Waker::new(reactor.registry(), WAKE).map_err(|e| format!("cannot create a waker: {e}"))?;
    let (link, transport) = dialer.connect(&url, config, reactor.now())?;
    let key = reactor
        .insert(link, transport, Printer::default())
        .map_err(|e| format!("cannot watch the connection: {e}"))?;
    // The loop keeps a reference too: when the stdin thread ends, dropping
    // the last one would close the waker's descriptor, and epoll forgets a
    // closed descriptor's pending event, losing the final wake-up.
    let waker = Arc::new(waker);
    let input = read_stdin(Arc::clone(&waker));
    let mut we_closed = false;
    loop {
        if let Some(slot) = reactor.drain_finished().next() {
            if let Some(why) = dial::explain(&url, &slot.link, &slot.transport) {
                return Err(why);
            }
            if let (false, Some((code, reason))) = (we_closed, &slot.handler.peer_close) {
                let sep = if reason.is_empty() { "" } else { " " };
                eprintln!("websock: the server closed the connection ({code}{sep}{reason})");
            }
            // The WebSocket closing handshake completed, so nothing was cut
            // off; the TLS layer's lapse is worth a word all the same.
            if slot.transport.tls().is_some_and(|t| t.truncated()) {
                eprintln!("websock: note: the server ended TCP without a TLS close_notify");
            }
            return Ok(());
        }
        // Lines typed before the handshake completes wait in the channel.
        let open = reactor
            .get_mut(key)
            .is_some_and(|s| s.link.state() == State::Open);
        while open && !we_closed {
            match input.try_recv() {
                Ok(Input::Line(text)) => {
                    reactor.with_tx(key, |tx, _| tx.send(DataKind::Text, text.as_bytes(), true));
                }
                Ok(Input::End) | Err(TryRecvError::Disconnected) => {
                    reactor.with_tx(key, |tx, _| tx.close(CloseCode::NORMAL, ""));
                    we_closed = true;
                }
                Err(TryRecvError::Empty) => break,
            }
        }
        if reactor.is_empty() {
            continue; // finished during a send; reported above
        }
        reactor
            .turn(None)
            .map_err(|e| format!("poll failed: {e}"))?;
    }
}

/// Reads stdin on its own thread (stdin may be a file, which no poll can
/// watch) and rings the waker for every line and at the end.
fn read_stdin(waker: Arc<Waker>) -> Receiver<Input> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let stdin = io::stdin();
        let mut stdin = stdin.lock();
        let mut line = Vec::new();
        loop {
            line.clear();
            match stdin.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    while matches!(line.last(), Some(b'\n' | b'\r')) {
                        line.pop();
                    }
                    let text = String::from_utf8_lossy(&line).into_owned();
                    if tx.send(Input::Line(text)).is_err() {
                        return;
                    }
                    let _ = waker.wake();
                }
            }
        }
        let _ = tx.send(Input::End);
        let _ = waker.wake();
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::Printer;
    use websock_core::DataKind;

    #[test]
    fn prints_text_as_is_and_binary_as_hex_one_message_per_line() {
        let mut p = Printer::default();
        let mut out = Vec::new();
        p.print(&mut out, DataKind::Text, b"hel", false).unwrap();
        p.print(&mut out, DataKind::Text, b"lo", true).unwrap();
        p.print(&mut out, DataKind::Binary, &[0x00, 0xff], false)
            .unwrap();
        p.print(&mut out, DataKind::Binary, &[0x1a], true).unwrap();
        assert_eq!(out, b"hello\n[binary] 00ff1a\n");
    }
}
