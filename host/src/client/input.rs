//! Standard input, read on its own thread (stdin may be a file, which no
//! poll can watch), and the slash commands typed lines may hold.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread;

use mio::Waker;
use websock_core::CloseCode;

/// What the stdin thread hands the event loop.
pub enum Input {
    /// A line, without its line ending.
    Line(String),
    /// Bytes as read (`--binary`).
    Bytes(Vec<u8>),
    /// End of input.
    End,
}

/// The most `--binary` sends in one message: one read's worth.
const CHUNK: usize = 64 * 1024;

/// Starts the thread; it rings `waker` for everything it sends.
pub fn read_stdin(waker: Arc<Waker>, binary: bool) -> Receiver<Input> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let stdin = io::stdin();
        let mut stdin = stdin.lock();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let input = if binary {
                buf.resize(CHUNK, 0);
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => Input::Bytes(buf[..n].to_vec()),
                }
            } else {
                match stdin.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        while matches!(buf.last(), Some(b'\n' | b'\r')) {
                            buf.pop();
                        }
                        Input::Line(String::from_utf8_lossy(&buf).into_owned())
                    }
                }
            };
            if tx.send(input).is_err() {
                return;
            }
            let _ = waker.wake();
        }
        let _ = tx.send(Input::End);
        let _ = waker.wake();
    });
    rx
}

/// What a typed line means when slash commands are on.
#[derive(Debug, PartialEq, Eq)]
pub enum Typed<'a> {
    /// Send this text.
    Text(&'a str),
    /// `/ping [text]`.
    Ping(&'a str),
    /// `/close [code [reason]]`.
    Close(CloseCode, &'a str),
    /// Not understood: say this on stderr.
    Bad(String),
}

/// The commands, for the unknown-command hint.
pub const COMMANDS: &str = "/ping [text], /close [code [reason]], //text sends /text";

/// Reads a line as a command if it starts with `/` (`//` escapes one).
pub fn parse(line: &str) -> Typed<'_> {
    let Some(rest) = line.strip_prefix('/') else {
        return Typed::Text(line);
    };
    if rest.starts_with('/') {
        return Typed::Text(rest);
    }
    let (word, arg) = rest.split_once(' ').unwrap_or((rest, ""));
    match word {
        "ping" if arg.len() > 125 => Typed::Bad("/ping: at most 125 bytes".into()),
        "ping" => Typed::Ping(arg),
        "close" => {
            let (code, reason) = arg.split_once(' ').unwrap_or((arg, ""));
            if code.is_empty() {
                return Typed::Close(CloseCode::NORMAL, "");
            }
            match code.parse::<u16>().map(CloseCode) {
                Ok(c) if c.is_valid_on_wire() && reason.len() <= 123 => Typed::Close(c, reason),
                Ok(c) if c.is_valid_on_wire() => {
                    Typed::Bad("/close: the reason is at most 123 bytes".into())
                }
                _ => Typed::Bad(format!(
                    "/close: '{code}' is not a close code a client may send \
                     (1000-1003, 1007-1014, 3000-4999)"
                )),
            }
        }
        _ => Typed::Bad(format!("unknown command '/{word}' ({COMMANDS})")),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Typed};
    use websock_core::CloseCode;

    #[test]
    fn slash_commands() {
        assert_eq!(parse("hello"), Typed::Text("hello"));
        assert_eq!(parse("//etc"), Typed::Text("/etc"));
        assert_eq!(parse("/ping"), Typed::Ping(""));
        assert_eq!(parse("/ping are you there"), Typed::Ping("are you there"));
        assert_eq!(parse("/close"), Typed::Close(CloseCode::NORMAL, ""));
        assert_eq!(parse("/close 4000"), Typed::Close(CloseCode(4000), ""));
        assert_eq!(
            parse("/close 1001 gone away"),
            Typed::Close(CloseCode(1001), "gone away")
        );
        for bad in [
            "/close 1005",
            "/close 99",
            "/close x",
            "/frob",
            &format!("/ping {}", "x".repeat(126)),
        ] {
            assert!(matches!(parse(bad), Typed::Bad(_)), "{bad}");
        }
    }
}
