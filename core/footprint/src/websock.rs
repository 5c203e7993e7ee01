//! The session on websock-core.
use crate::{Probe, Session, MESSAGE_FRAMES};
use websock_core::{Accept, Config, Connection, DataKind, Event, Transport};

/// websock-core's connection state.
pub type Engine = Connection;

/// A server waiting for the request.
pub fn new() -> Engine {
    Connection::server(Config::new(), 0)
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

    fn messages(&self, p: &mut Probe) -> bool {
        let mut frames = 0;
        while frames < MESSAGE_FRAMES {
            let Ok((used, event)) = p.engine.receive(&mut p.input[p.input_pos..p.input_len]) else {
                return false;
            };
            p.input_pos += used;
            match event {
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

    fn close(&self, p: &mut Probe) -> bool {
        let Ok((used, event)) = p.engine.receive(&mut p.input[p.input_pos..p.input_len]) else {
            return false;
        };
        p.input_pos += used;
        let Some(Event::Close { code, .. }) = event else {
            return false;
        };
        p.out_len += p.engine.poll_output(&mut p.out[p.out_len..]);
        code.0 == 1000 && p.engine.transport() == Transport::Close
    }
}
