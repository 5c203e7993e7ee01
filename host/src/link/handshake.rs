//! The opening handshake's input (RFC 6455 section 4): a server answers
//! the upgrade request (or a browser's plain GET with the built-in page),
//! a client reads the 101. Whatever follows the handshake in the same read
//! is frames, handed on to [`Link::frames`].

use websock_core::{Accept, Error, HandshakeError, Role};

use super::{Failure, Handler, Link, Phase, Tx, HANDSHAKE_ROOM};

impl Link {
    pub(super) fn handshake_input<H: Handler>(
        &mut self,
        data: &mut [u8],
        handler: &mut H,
        window: Option<(usize, usize)>,
    ) {
        // Parse straight from the read buffer unless an earlier read left
        // the start of the handshake behind.
        let stashed = !self.unread.is_empty();
        // Taken: whatever follows the handshake in it is frames, and a
        // frame cut short goes back into `unread`, which must be empty.
        let mut pending = std::mem::take(&mut self.unread);
        if stashed {
            pending.extend_from_slice(data);
        }
        let buf: &mut [u8] = if stashed { &mut pending } else { data };
        let outcome = match self.engine.role() {
            Role::Server => self.accept(buf),
            Role::Client => self.read_response(buf),
        };
        match outcome {
            Handshake::Incomplete => {
                if !stashed {
                    pending.extend_from_slice(data);
                }
                self.unread = pending;
            }
            Handshake::Open(len) => {
                self.phase = Phase::Open;
                self.was_open = true;
                self.last_input = self.now;
                self.idle_check = self.now.saturating_add((self.idle_timeout_ms / 2).max(1));
                handler.opened(&mut Tx {
                    engine: &mut self.engine,
                    out: &mut self.out,
                    sending: &mut self.sending,
                    window: None,
                });
                // Whatever followed the handshake in the same read is frames.
                match buf.get_mut(len..) {
                    Some(rest) => self.frames(rest, handler, window),
                    None => {
                        // The engine claimed more bytes than it was given.
                        self.rare().failure = Some(Failure::Engine(Error::InvalidState));
                        self.abort = true;
                    }
                }
            }
            Handshake::Refused => {}
        }
    }

    fn accept(&mut self, buf: &[u8]) -> Handshake {
        // The engine picks by our order; we pick the client's first choice
        // among ours, so the engine is given that one only.
        let chosen = match self.protocols() {
            [] => None,
            ours => crate::subprotocol::choose(buf, ours),
        };
        let offer = chosen.as_slice();
        let room = self.out.spare(HANDSHAKE_ROOM + chosen.map_or(0, str::len));
        match self.engine.accept(buf, offer, room) {
            Ok(Accept::Incomplete) => Handshake::Incomplete,
            Ok(Accept::Accepted { request, written }) => {
                self.out.commit(written);
                if let Some(agreed) = request.protocol.and_then(|i| offer.get(i).copied()) {
                    self.rare().protocol = Some(agreed);
                }
                Handshake::Open(request.len)
            }
            Ok(Accept::Rejected {
                error: HandshakeError::NotUpgrade,
                ..
            }) if self.page && crate::page::wanted(buf) => {
                let page = crate::page::response();
                self.out.spare(page.len())[..page.len()].copy_from_slice(&page);
                self.out.commit(page.len());
                Handshake::Refused
            }
            Ok(Accept::Rejected { error, written }) => {
                // The HTTP error response goes out before we close.
                self.out.commit(written);
                self.rare().failure = Some(Failure::Handshake {
                    error,
                    status_line: None,
                });
                Handshake::Refused
            }
            Err(e) => {
                self.rare().failure = Some(Failure::Engine(e));
                self.abort = true;
                Handshake::Refused
            }
        }
    }

    fn read_response(&mut self, buf: &[u8]) -> Handshake {
        let protocols = self.protocols();
        match self.engine.read_response(buf, protocols) {
            Ok(None) => Handshake::Incomplete,
            Ok(Some(response)) => {
                let protocol = response.protocol.and_then(|i| protocols.get(i).copied());
                let extensions = response
                    .extensions
                    .map(|e| String::from_utf8_lossy(e).into());
                if protocol.is_some() || extensions.is_some() {
                    let rare = self.rare();
                    rare.protocol = protocol;
                    rare.extensions = extensions;
                }
                Handshake::Open(response.len)
            }
            Err(Error::Handshake(error)) => {
                self.rare().failure = Some(Failure::Handshake {
                    error,
                    status_line: status_line(buf),
                });
                Handshake::Refused
            }
            Err(e) => {
                self.rare().failure = Some(Failure::Engine(e));
                self.abort = true;
                Handshake::Refused
            }
        }
    }
}

enum Handshake {
    Incomplete,
    /// Open; the handshake took this many bytes.
    Open(usize),
    Refused,
}

/// The first line of an HTTP response, for error messages.
fn status_line(buf: &[u8]) -> Option<String> {
    let end = buf.iter().position(|&b| b == b'\r' || b == b'\n')?;
    let line = String::from_utf8_lossy(&buf[..end.min(200)]).into_owned();
    (!line.is_empty()).then_some(line)
}

#[cfg(test)]
mod tests {
    use super::status_line;

    #[test]
    fn status_line_is_the_first_line_only() {
        assert_eq!(
            status_line(b"HTTP/1.1 404 Not Found\r\nX: y\r\n\r\n").as_deref(),
            Some("HTTP/1.1 404 Not Found")
        );
        assert_eq!(status_line(b"HTTP/1.1 404 Not Fo"), None);
        assert_eq!(status_line(b"\r\n"), None);
    }
}
