//! What the client prints on stdout: each message received on a line of
//! its own (text as is, binary as hex), or with `--binary` every payload's
//! bytes as they are. On a terminal, received lines start with `< ` and a
//! `> ` prompt waits for typing.

use std::io::{self, Write};

use websock_core::{DataKind, Event};

use crate::link::{Handler, Tx};

/// How to print.
#[derive(Clone, Copy, Debug, Default)]
pub struct Style {
    /// stdout is a terminal: `< ` markers.
    pub tty: bool,
    /// stdin is a terminal too: a `> ` prompt waits for typing.
    pub prompt: bool,
    /// Write payloads as raw bytes (`--binary`), no line breaks added.
    pub raw: bool,
    /// Print pings and pongs received (`--show-ping-pong`).
    pub control: bool,
}

/// Prints what arrives on stdout and remembers how the server closed.
#[derive(Debug, Default)]
pub struct Printer {
    pub style: Style,
    /// A message is being printed (its start has been written).
    in_message: bool,
    /// Events seen so far: the client's linger measures quiet from the
    /// last one.
    pub events: u64,
    /// The server's close frame, when it sent one.
    pub peer_close: Option<(u16, String)>,
}

impl Handler for Printer {
    fn event(&mut self, event: Event<'_>, _tx: &mut Tx<'_>) {
        self.events += 1;
        let mut out = io::stdout().lock();
        // A closed stdout must not end the session; errors are dropped.
        let _ = match event {
            Event::Data { kind, chunk, last } => self.print(&mut out, kind, chunk, last),
            Event::Close { code, reason } => {
                let reason = String::from_utf8_lossy(reason).into_owned();
                self.peer_close = Some((code.0, reason));
                Ok(())
            }
            Event::Ping(p) if self.style.control => self.control(&mut out, "ping", p),
            Event::Pong(p) if self.style.control => self.control(&mut out, "pong", p),
            Event::Ping(_) | Event::Pong(_) => Ok(()),
        };
    }
}

impl Printer {
    /// A printer in this style.
    pub fn new(style: Style) -> Printer {
        Printer {
            style,
            ..Printer::default()
        }
    }

    /// Prints a piece of a message.
    pub fn print(
        &mut self,
        out: &mut impl Write,
        kind: DataKind,
        chunk: &[u8],
        last: bool,
    ) -> io::Result<()> {
        if self.style.raw {
            out.write_all(chunk)?;
            if last {
                out.flush()?;
            }
            return Ok(());
        }
        if !self.in_message && self.style.tty {
            // Over the prompt: both are two columns wide.
            out.write_all(b"\r< ")?;
        }
        match kind {
            // Pieces of a text message may split a character; the bytes
            // concatenate correctly on the terminal all the same.
            DataKind::Text => out.write_all(chunk)?,
            DataKind::Binary => {
                if !self.in_message {
                    out.write_all(b"[binary] ")?;
                }
                hex(out, chunk)?;
            }
        }
        self.in_message = !last;
        if last {
            self.end_line(out)?;
        }
        Ok(())
    }

    fn control(&mut self, out: &mut impl Write, what: &str, payload: &[u8]) -> io::Result<()> {
        if self.in_message {
            return Ok(()); // never inside a message's line
        }
        if self.style.tty {
            out.write_all(b"\r< ")?;
        }
        write!(out, "[{what}]")?;
        if !payload.is_empty() {
            write!(out, " {}", String::from_utf8_lossy(payload))?;
        }
        self.end_line(out)
    }

    fn end_line(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(b"\n")?;
        if self.style.prompt {
            out.write_all(b"> ")?;
        }
        out.flush()
    }

    /// A line that is not a message (the "connected" line, on a terminal).
    pub fn note(&self, text: &str) {
        if self.in_message {
            return;
        }
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "\r{text}").and_then(|()| {
            if self.style.prompt {
                out.write_all(b"> ")?;
            }
            out.flush()
        });
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let mut pair = [0u8; 2];
    for &b in bytes {
        pair[0] = HEX[(b >> 4) as usize];
        pair[1] = HEX[(b & 15) as usize];
        out.write_all(&pair)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Printer, Style};
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

    #[test]
    fn a_terminal_gets_markers_and_prompts() {
        let mut p = Printer {
            style: Style {
                tty: true,
                prompt: true,
                ..Style::default()
            },
            ..Printer::default()
        };
        let mut out = Vec::new();
        p.print(&mut out, DataKind::Text, b"hi", true).unwrap();
        assert_eq!(out, b"\r< hi\n> ");
        p.style.prompt = false;
        let mut out = Vec::new();
        p.print(&mut out, DataKind::Text, b"hi", true).unwrap();
        assert_eq!(out, b"\r< hi\n", "no prompt when stdin is not a terminal");
    }

    #[test]
    fn raw_writes_payloads_only() {
        let mut p = Printer {
            style: Style {
                raw: true,
                ..Style::default()
            },
            ..Printer::default()
        };
        let mut out = Vec::new();
        p.print(&mut out, DataKind::Binary, &[0, 1], false).unwrap();
        p.print(&mut out, DataKind::Binary, &[2], true).unwrap();
        p.print(&mut out, DataKind::Text, b"x", true).unwrap();
        assert_eq!(out, [0, 1, 2, b'x']);
    }
}
