//! The same session on embedded-websocket, for the README's comparison.
//! It copies payloads into a buffer of the caller's and leaves HTTP parsing
//! to the caller (httparse, as its examples do).
use crate::{Probe, Session, MESSAGE_FRAMES};
use embedded_websocket::{
    read_http_header, WebSocketReceiveMessageType as In, WebSocketSendMessageType as Out,
    WebSocketServer,
};

/// embedded-websocket's connection state.
pub type Engine = WebSocketServer;

/// A server waiting for the request.
pub fn new() -> Engine {
    WebSocketServer::new_server()
}

/// The session's driver.
pub struct Ews;
/// The engine the probe measures.
pub const ENGINE: Ews = Ews;

impl Session for Ews {
    fn accept(&self, p: &mut Probe) -> bool {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut request = httparse::Request::new(&mut headers);
        let input = &p.input[..p.input_len];
        let Ok(httparse::Status::Complete(len)) = request.parse(input) else {
            return false;
        };
        let headers = request.headers.iter().map(|h| (h.name, h.value));
        let Ok(Some(context)) = read_http_header(headers) else {
            return false;
        };
        match p
            .engine
            .server_accept(&context.sec_websocket_key, None, &mut p.out)
        {
            Ok(n) => {
                p.out_len = n;
                len == input.len()
            }
            Err(_) => false,
        }
    }

    fn messages(&self, p: &mut Probe) -> bool {
        let mut payload = [0u8; 128];
        let mut frames = 0;
        while frames < MESSAGE_FRAMES {
            let Ok(r) = p
                .engine
                .read(&p.input[p.input_pos..p.input_len], &mut payload)
            else {
                return false;
            };
            p.input_pos += r.len_from;
            let (kind, last) = match r.message_type {
                In::Text => (Out::Text, r.end_of_message),
                In::Binary => (Out::Binary, r.end_of_message),
                In::Ping => (Out::Pong, true),
                _ => return false,
            };
            let Ok(n) = p
                .engine
                .write(kind, last, &payload[..r.len_to], &mut p.out[p.out_len..])
            else {
                return false;
            };
            p.out_len += n;
            frames += 1;
        }
        true
    }

    fn close(&self, p: &mut Probe) -> bool {
        let mut payload = [0u8; 128];
        let Ok(r) = p
            .engine
            .read(&p.input[p.input_pos..p.input_len], &mut payload)
        else {
            return false;
        };
        p.input_pos += r.len_from;
        if r.message_type != In::CloseMustReply || r.len_to < 2 {
            return false;
        }
        // Echo the code only, as websock does.
        match p.engine.write(
            Out::CloseReply,
            true,
            &payload[..2],
            &mut p.out[p.out_len..],
        ) {
            Ok(n) => {
                p.out_len += n;
                true
            }
            Err(_) => false,
        }
    }
}
