//! The session on websock-core.
use crate::{Probe, Session, MESSAGE_FRAMES};
use websock_core::{Accept, Config, Connection, DataKind, Event, Received, Transport};

/// websock-core's connection state.
pub type Engine = Connection;

/// A server waiting for the request.
#[cfg(not(feature = "inflate"))]
pub fn new() -> Engine {
    Connection::server(Config::new(), 0)
}

/// A server waiting for the request, taking permessage-deflate offers
/// that let it limit the client to the window it lends (512 bytes).
#[cfg(feature = "inflate")]
pub fn new() -> Engine {
    let mut config = Config::new();
    config.deflate = Some(websock_core::deflate::Options::receive_only(9));
    Connection::server(config, 0)
}

/// Receives from the probe's input: the plain call, or with the inflate
/// path the one that lends the window (every call, once compression is
/// agreed).
#[cfg(not(feature = "inflate"))]
macro_rules! receive {
    ($p:expr) => {
        $p.engine.receive(
            &mut $p.input[$p.input_pos..$p.input_len],
            &mut $p.out[$p.out_len..],
        )
    };
}
#[cfg(feature = "inflate")]
macro_rules! receive {
    ($p:expr) => {
        $p.engine.receive_inflating(
            &mut $p.input[$p.input_pos..$p.input_len],
            &mut $p.scratch,
            &mut $p.window,
            &mut $p.out[$p.out_len..],
        )
    };
}

/// The session's driver.
pub struct Websock;
/// The engine the probe measures.
pub const ENGINE: Websock = Websock;

impl Session for Websock {
    fn accept(&self, p: &mut Probe) -> bool {
        let input = &p.input[..p.input_len];
        match p.engine.accept(input, &[], &mut p.out) {
            Ok(Accept::Accepted { request, written }) => {
                p.out_len = written;
                request.len == input.len()
            }
            _ => false,
        }
    }

    #[cfg(not(feature = "inflate"))]
    fn messages(&self, p: &mut Probe) -> bool {
        let mut frames = 0;
        while frames < MESSAGE_FRAMES {
            let Ok(got) = receive!(p) else {
                return false;
            };
            let used = got.consumed;
            p.input_pos += used;
            p.out_len += got.written;
            match got.event {
                Some(Event::Data { kind, chunk, last }) => {
                    let Ok(n) = p.engine.send(kind, chunk, last, &mut p.out[p.out_len..]) else {
                        return false;
                    };
                    p.out_len += n;
                    frames += 1;
                    if kind == DataKind::Binary && !last {
                        return false;
                    }
                }
                Some(Event::Ping(_)) => frames += 1,
                Some(_) => return false,
                None if used == 0 => return false,
                None => {}
            }
            p.out_len += p.engine.poll_output(&mut p.out[p.out_len..]);
        }
        true
    }

    /// The compressed binary message arrives as its inflated bytes and
    /// then an empty end (the inflater finishes on the implied tail, RFC
    /// 7692 section 7.2.2), so binary is gathered and echoed whole.
    #[cfg(feature = "inflate")]
    fn messages(&self, p: &mut Probe) -> bool {
        let mut frames = 0;
        let mut held = [0u8; 16];
        let mut held_len = 0;
        while frames < MESSAGE_FRAMES {
            let Ok(Received {
                consumed: used,
                written,
                event,
            }) = receive!(p)
            else {
                return false;
            };
            p.input_pos += used;
            p.out_len += written;
            match event {
                Some(Event::Data {
                    kind: DataKind::Binary,
                    chunk,
                    last,
                }) => {
                    let Some(to) = held.get_mut(held_len..held_len + chunk.len()) else {
                        return false;
                    };
                    to.copy_from_slice(chunk);
                    held_len += chunk.len();
                    if last {
                        let out = &mut p.out[p.out_len..];
                        let Ok(n) = p.engine.send(DataKind::Binary, &held[..held_len], true, out)
                        else {
                            return false;
                        };
                        p.out_len += n;
                        frames += 1;
                    }
                }
                Some(Event::Data { kind, chunk, last }) => {
                    let Ok(n) = p.engine.send(kind, chunk, last, &mut p.out[p.out_len..]) else {
                        return false;
                    };
                    p.out_len += n;
                    frames += 1;
                }
                Some(Event::Ping(_)) => frames += 1,
                Some(_) => return false,
                None if used == 0 => return false,
                None => {}
            }
            p.out_len += p.engine.poll_output(&mut p.out[p.out_len..]);
        }
        true
    }

    fn close(&self, p: &mut Probe) -> bool {
        let Ok(Received {
            consumed, event, ..
        }) = receive!(p)
        else {
            return false;
        };
        p.input_pos += consumed;
        let Some(Event::Close { code, .. }) = event else {
            return false;
        };
        p.out_len += p.engine.poll_output(&mut p.out[p.out_len..]);
        code.0 == 1000 && p.engine.transport() == Transport::Close
    }
}
