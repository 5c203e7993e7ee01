//! The built-in page: a browser pointed at `websock serve` (a GET with no
//! Upgrade that asks for HTML) gets a small self-contained page that opens
//! a WebSocket back to the same address, echoes what is typed, and shows
//! round-trip times, the negotiated extensions and the subprotocol. Every
//! other request without Upgrade keeps its 426 (RFC 6455 section 4.2.2).

/// The page, with `{{VERSION}}` for the server's version. No external
/// assets: the styles and the script are inline.
const PAGE: &str = include_str!("page.html");

/// Whether this request head (one the engine refused for lacking
/// `Upgrade: websocket`, so a complete GET over HTTP/1.1) asks for HTML.
pub fn wanted(request: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    if !matches!(req.parse(request), Ok(httparse::Status::Complete(_))) {
        return false;
    }
    req.method == Some("GET")
        && req.headers.iter().any(|h| {
            h.name.eq_ignore_ascii_case("accept")
                && h.value
                    .split(|&b| b == b',')
                    .any(|v| media_type(v).eq_ignore_ascii_case(b"text/html"))
        })
}

/// `text/html` of ` text/html;q=0.9`.
fn media_type(value: &[u8]) -> &[u8] {
    let end = value.iter().position(|&b| b == b';').unwrap_or(value.len());
    value[..end].trim_ascii()
}

/// The whole HTTP response: the connection closes after it.
pub fn response() -> Vec<u8> {
    let version = env!("CARGO_PKG_VERSION");
    let body = PAGE.replace("{{VERSION}}", version);
    // The policy keeps the page honest about having no outside assets.
    format!(
        "HTTP/1.1 200 OK\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         Content-Length: {}\r\n\
         Cache-Control: no-store\r\n\
         Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; \
         script-src 'unsafe-inline'; connect-src ws: wss:\r\n\
         Server: websock/{version}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::{response, wanted};

    #[test]
    fn only_a_get_asking_for_html_gets_the_page() {
        let browser = b"GET / HTTP/1.1\r\nHost: h\r\nAccept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n\r\n";
        assert!(wanted(browser));
        assert!(wanted(
            b"GET /x HTTP/1.1\r\nHost: h\r\nAccept: TEXT/HTML ; q=1\r\n\r\n"
        ));
        for other in [
            &b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nAccept: text/htmlx\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\n",
        ] {
            assert!(!wanted(other), "{}", String::from_utf8_lossy(other));
        }
    }

    #[test]
    fn the_response_is_complete_and_self_contained() {
        let r = String::from_utf8(response()).unwrap();
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert!(body.contains(env!("CARGO_PKG_VERSION")) && !body.contains("{{"));
        assert!(!body.contains("http://") && !body.contains("https://") && !body.contains(" src="));
    }
}
