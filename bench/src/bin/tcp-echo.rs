//! A raw TCP echo on one epoll loop (mio): what any server on one core
//! pays per message in syscalls alone, one read and one write. The load
//! generator's `--raw` mode drives it with the same bytes it sends a
//! WebSocket server.
//!
//! Usage: `tcp-echo ADDR` (for example 127.0.0.1:9003).

use std::io::{self, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(usize::MAX);

struct Conn {
    sock: TcpStream,
    /// Bytes read but not yet written back (only after a short write).
    backlog: Vec<u8>,
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9003".into());
    let mut listener = TcpListener::bind(addr.parse().map_err(io::Error::other)?)?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    println!("tcp-echo: listening on {addr}");
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(1024);
    loop {
        poll.poll(&mut events, None)?;
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut sock, _)) = listener.accept() {
                    let _ = sock.set_nodelay(true);
                    let key = conns
                        .iter()
                        .position(Option::is_none)
                        .unwrap_or(conns.len());
                    poll.registry().register(
                        &mut sock,
                        Token(key),
                        Interest::READABLE | Interest::WRITABLE,
                    )?;
                    let conn = Conn {
                        sock,
                        backlog: Vec::new(),
                    };
                    match conns.get_mut(key) {
                        Some(slot) => *slot = Some(conn),
                        None => conns.push(Some(conn)),
                    }
                }
                continue;
            }
            let key = event.token().0;
            let Some(conn) = conns.get_mut(key).and_then(Option::as_mut) else {
                continue;
            };
            if !serve(conn, &mut buf) {
                conns[key] = None;
            }
        }
    }
}

/// Echoes what the socket has; false once the connection is over.
fn serve(conn: &mut Conn, buf: &mut [u8]) -> bool {
    loop {
        while !conn.backlog.is_empty() {
            match conn.sock.write(&conn.backlog) {
                Ok(n) => {
                    conn.backlog.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
        let n = match conn.sock.read(buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        };
        match conn.sock.write(&buf[..n]) {
            Ok(w) => conn.backlog.extend_from_slice(&buf[w..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                conn.backlog.extend_from_slice(&buf[..n])
            }
            Err(_) => return false,
        }
    }
}
