//! The opening handshake (RFC 6455 section 4): the server checks the
//! upgrade request and answers it (4.2), the client writes its request and
//! checks the answer (4.1).

use super::*;

/// The bytes of randomness in a client's key (section 4.1 item 7).
pub(super) const KEY_LEN: usize = 16;

impl Connection {
    /// Server: checks the upgrade request at the start of `input` and writes
    /// the 101 response or an HTTP error into `out` (at least 256 bytes plus
    /// the longest subprotocol name). `protocols` lists the subprotocols
    /// the server speaks, preferred first.
    pub fn accept<'a>(
        &mut self,
        input: &'a [u8],
        protocols: &[&str],
        out: &mut [u8],
    ) -> Result<Accept<'a>, Error> {
        if self.state != State::AwaitingRequest {
            return Err(Error::InvalidState);
        }
        match handshake::parse_request(input, protocols, self.config.max_handshake_len) {
            Ok(None) => Ok(Accept::Incomplete),
            Ok(Some(request)) => {
                let protocol = request.protocol.map(|i| protocols[i]);
                #[cfg(feature = "inflate")]
                let agreed = self
                    .config
                    .deflate
                    .and_then(|o| deflate::negotiate(request.extensions.iter(), &o));
                #[cfg(feature = "inflate")]
                let extensions = agreed.as_ref().map(|(_, value)| value.as_bytes());
                #[cfg(not(feature = "inflate"))]
                let extensions = None;
                let written = handshake::write_response(&request.key, protocol, extensions, out)
                    .map_err(|needed| Error::BufferTooSmall { needed })?;
                #[cfg(feature = "inflate")]
                if let Some((agreed, _)) = agreed {
                    self.inflate.set(agreed);
                }
                self.open();
                Ok(Accept::Accepted { request, written })
            }
            Err(error) => {
                let written = handshake::write_rejection(error, out).unwrap_or(0);
                self.state = State::Failed;
                self.drop_transport = true;
                self.deadline = NO_DEADLINE;
                Ok(Accept::Rejected { error, written })
            }
        }
    }

    /// Client: writes the upgrade request into `out`. `host` is the Host
    /// header (`name:port` when the port is not the scheme's default).
    pub fn write_request(
        &mut self,
        host: &str,
        path: &str,
        protocols: &[&str],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if self.state != State::AwaitingResponse || self.request_sent {
            return Err(Error::InvalidState);
        }
        #[cfg(feature = "inflate")]
        let offer = self.config.deflate.map(|o| deflate::offer(&o));
        #[cfg(feature = "inflate")]
        let extensions = offer.as_ref().map(|v| v.as_bytes());
        #[cfg(not(feature = "inflate"))]
        let extensions = None;
        let key = handshake::client_key(self.key);
        let n = handshake::write_request(host, path, &key, protocols, extensions, out)
            .map_err(|needed| Error::BufferTooSmall { needed })?;
        self.request_sent = true;
        Ok(n)
    }

    /// Client: checks the server's response at the start of `input`.
    /// `Ok(None)`: incomplete. On success the connection is open, and bytes
    /// after `response.len` are already frames. `protocols` must be the
    /// list given to [`Connection::write_request`].
    pub fn read_response<'a>(
        &mut self,
        input: &'a [u8],
        protocols: &[&str],
    ) -> Result<Option<Response<'a>>, Error> {
        if self.state != State::AwaitingResponse || !self.request_sent {
            return Err(Error::InvalidState);
        }
        let max = self.config.max_handshake_len;
        #[cfg(feature = "inflate")]
        let offered = self.config.deflate.is_some();
        #[cfg(not(feature = "inflate"))]
        let offered = false;
        let key = handshake::client_key(self.key);
        let parsed = handshake::parse_response(input, &key, protocols, offered, max);
        #[cfg(feature = "inflate")]
        let parsed = parsed.and_then(|r| match (r, self.config.deflate) {
            (Some(response), Some(options)) => {
                if let Some(value) = response.extensions {
                    let agreed = deflate::accept_response(value, &options)?;
                    self.inflate.set(agreed);
                }
                Ok(Some(response))
            }
            (r, _) => Ok(r),
        });
        match parsed {
            Ok(None) => Ok(None),
            Ok(Some(response)) => {
                self.open();
                Ok(Some(response))
            }
            Err(e) => {
                self.state = State::Failed;
                self.drop_transport = true;
                self.deadline = NO_DEADLINE;
                Err(Error::Handshake(e))
            }
        }
    }

    pub(super) fn open(&mut self) {
        self.state = State::Open;
        self.deadline = NO_DEADLINE;
    }
}
