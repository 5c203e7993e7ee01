//! Choosing a subprotocol (RFC 6455 section 4.2.2 item 5.4 / section 1.9):
//! the server answers with one of the values the client offered in
//! Sec-WebSocket-Protocol. We take the client's first choice among the
//! ones we speak (the client lists them in its order of preference).

/// The first of the client's offered subprotocols that is in `ours`, read
/// from the request head at the start of `request`; `None` when the client
/// offered none of them or the head is not complete or not HTTP.
pub fn choose(request: &[u8], ours: &[&'static str]) -> Option<&'static str> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    if !matches!(req.parse(request), Ok(httparse::Status::Complete(_))) {
        return None;
    }
    // The header may repeat; its values concatenate in order (RFC 9110
    // section 5.3).
    req.headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("sec-websocket-protocol"))
        .flat_map(|h| h.value.split(|&b| b == b','))
        .map(|v| v.trim_ascii())
        .find_map(|offered| ours.iter().copied().find(|p| p.as_bytes() == offered))
}

#[cfg(test)]
mod tests {
    use super::choose;

    fn request(lines: &str) -> Vec<u8> {
        format!("GET / HTTP/1.1\r\nHost: h\r\n{lines}\r\n").into_bytes()
    }

    #[test]
    fn takes_the_clients_first_choice_among_ours() {
        let ours = &["chat", "superchat"];
        let r = request("Sec-WebSocket-Protocol: superchat, chat\r\n");
        assert_eq!(choose(&r, ours), Some("superchat"));
        let r = request("Sec-WebSocket-Protocol: other\r\nsec-websocket-protocol:chat\r\n");
        assert_eq!(choose(&r, ours), Some("chat"));
        let r = request("Sec-WebSocket-Protocol: other, CHAT\r\n");
        assert_eq!(choose(&r, ours), None, "names are case-sensitive");
        assert_eq!(choose(&request(""), ours), None);
        assert_eq!(
            choose(b"GET / HTTP/1.1\r\nSec-WebSocket-Protocol: chat\r\n", ours),
            None
        );
    }
}
