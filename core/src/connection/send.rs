//! Sending (RFC 6455 sections 5.3, 5.4, 5.5 and 6.1): data frames and
//! fragments, pings and pongs, and the engine's own queued replies; a
//! client masks every frame with a fresh key (5.3, 10.3).

use super::*;

/// A small PRNG for client masking keys (xorshift128+), seeded by the caller.
/// Masks must be unpredictable to the application's peers (section 10.3);
/// they need not be cryptographic, but the seed must be fresh entropy.
#[derive(Clone, Copy, Debug)]
pub(super) struct MaskRng(u64, u64);

impl MaskRng {
    pub(super) fn new(seed: [u8; 16]) -> Self {
        let mut a = [0u8; 8];
        let mut b = [0u8; 8];
        a.copy_from_slice(&seed[..8]);
        b.copy_from_slice(&seed[8..]);
        // xorshift must not start from all zeros.
        MaskRng(u64::from_le_bytes(a) | 1, u64::from_le_bytes(b))
    }

    pub(super) fn next(&mut self) -> [u8; 4] {
        let (mut s1, s0) = (self.0, self.1);
        self.0 = s0;
        s1 ^= s1 << 23;
        self.1 = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
        let v = self.1.wrapping_add(s0);
        ((v >> 32) as u32).to_le_bytes()
    }
}

impl Connection {
    /// Whether the engine has replies waiting for [`Connection::poll_output`].
    pub fn has_output(&self) -> bool {
        self.close_out.is_some()
    }

    /// Writes the engine's queued close frame (the reply to the peer's, or
    /// the one that fails the connection) into `out`, whole or not at all,
    /// and returns the bytes written: `out` of
    /// [`MAX_CONTROL_FRAME`](crate::MAX_CONTROL_FRAME) bytes or more always
    /// takes it. (Pongs are written by `receive` itself.)
    pub fn poll_output(&mut self, out: &mut [u8]) -> usize {
        let Some(c) = self.close_out else {
            return 0;
        };
        let (code, reason) = match c {
            CloseOut::Reply(code) => (code, ""),
            CloseOut::Fail(v) => (Some(v.close_code()), v.reason()),
        };
        let reason = reason.as_bytes();
        // Every reason fits a close frame: checked when `error` compiles.
        let rng = (self.role == Role::Client).then_some(&mut self.rng);
        let Ok(n) = write_frame(rng, Opcode::Close, true, code, reason, out) else {
            return 0;
        };
        self.close_out = None;
        if self.state == State::CloseReceived {
            self.closed();
        }
        n
    }

    /// Sends a message, or one fragment of it: `last == false` leaves the
    /// message open and later calls continue it (section 5.4). The frame is
    /// written whole into `out` or not at all. The engine does not check
    /// that text is UTF-8: a `&str` is, and a fragment may split a character.
    ///
    /// After the peer's close frame arrives, sending is still allowed until
    /// [`Connection::poll_output`] writes the close reply: section 5.5.1
    /// lets an endpoint finish what it is sending (an echo of the message
    /// that came just before the close, say) before it replies.
    pub fn send(
        &mut self,
        kind: DataKind,
        payload: &[u8],
        last: bool,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let reply_pending = self.state == State::CloseReceived && self.close_out.is_some();
        if self.state != State::Open && !reply_pending {
            return Err(Error::InvalidState);
        }
        let opcode = if self.sending {
            Opcode::Continuation
        } else {
            kind.opcode()
        };
        #[cfg(feature = "deflate")]
        if self.compresses() {
            let n = self.write_compressed(opcode, last, payload, out)?;
            self.sending = !last;
            return Ok(n);
        }
        let n = self.write_frame(opcode, last, payload, out)?;
        self.sending = !last;
        Ok(n)
    }

    /// Sends like [`Connection::send`], but writes only the frame's header
    /// into `out`, for a caller that writes the payload from where it lies
    /// (a vectored write of header then payload: no copy of the payload).
    /// Returns the header's length (at most
    /// [`crate::frame::MAX_HEADER_LEN`]) and, for a client,
    /// the masking key: a client masks every frame (section 5.3), so the
    /// caller must mask the payload with it (`frame::apply_mask(payload,
    /// key, 0)`) before it goes out.
    ///
    /// With permessage-deflate in force the payload must be compressed
    /// first: this returns [`Error::InvalidState`], use
    /// [`Connection::send`].
    pub fn send_header(
        &mut self,
        kind: DataKind,
        payload_len: usize,
        last: bool,
        out: &mut [u8],
    ) -> Result<(usize, Option<[u8; 4]>), Error> {
        let reply_pending = self.state == State::CloseReceived && self.close_out.is_some();
        if (self.state != State::Open && !reply_pending) || self.compression_active() {
            return Err(Error::InvalidState);
        }
        let opcode = if self.sending {
            Opcode::Continuation
        } else {
            kind.opcode()
        };
        let client = self.role == Role::Client;
        let len = payload_len as u64;
        let head = header_len(len, client);
        if out.len() < head {
            return Err(Error::BufferTooSmall { needed: head });
        }
        // Drawn only once the call cannot fail, like `write_frame`.
        let mask = client.then(|| self.rng.next());
        let header = Header {
            fin: last,
            rsv: 0,
            opcode,
            mask,
            len,
        };
        let n = encode_header(&header, out).ok_or(Error::BufferTooSmall { needed: head })?;
        self.sending = !last;
        Ok((n, mask))
    }

    /// The output space [`Connection::send`] may need for a fragment of
    /// `payload_len` bytes: header, payload, and with compression in force
    /// the worst case of deflate.
    pub fn max_frame_len(&self, payload_len: usize) -> usize {
        #[cfg(feature = "deflate")]
        if self.compresses() {
            return MAX_HEADER_LEN.saturating_add(Codec::bound(payload_len));
        }
        header_len(payload_len as u64, self.role == Role::Client).saturating_add(payload_len)
    }

    /// Sends a ping (at most 125 bytes of payload).
    pub fn ping(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.send_control(Opcode::Ping, payload, out)
    }

    /// Sends an unsolicited pong, e.g. as a heartbeat (section 5.5.3).
    pub fn pong(&mut self, payload: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        self.send_control(Opcode::Pong, payload, out)
    }

    fn send_control(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if self.state != State::Open {
            return Err(Error::InvalidState);
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(Error::ControlTooLong);
        }
        self.write_frame(opcode, true, payload, out)
    }

    /// Writes one frame; clients mask with a fresh key (section 5.3).
    pub(super) fn write_frame(
        &mut self,
        opcode: Opcode,
        fin: bool,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let rng = (self.role == Role::Client).then_some(&mut self.rng);
        write_frame(rng, opcode, fin, None, payload, out)
    }
}

/// Writes one frame, a client's masked with a fresh key from `rng`
/// (section 5.3; `None` for a server). A close frame's payload is `code`
/// then `payload` (the reason, section 5.5.1), written straight into `out`
/// with no buffer to lay them out in first. A free function, so that the
/// masking RNG can be borrowed apart from the rest of the connection.
/// Every length is checked by `get`, so nothing here can panic.
pub(super) fn write_frame(
    rng: Option<&mut MaskRng>,
    opcode: Opcode,
    fin: bool,
    code: Option<CloseCode>,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let mask = rng.map(MaskRng::next);
    let code = code.map(|c| c.0.to_be_bytes());
    let code: &[u8] = code.as_ref().map_or(&[], |c| c);
    let len = code.len() + payload.len();
    let needed = header_len(len as u64, mask.is_some()) + len;
    let too_small = Error::BufferTooSmall { needed };
    let header = Header {
        fin,
        rsv: 0,
        opcode,
        mask,
        len: len as u64,
    };
    let frame = out.get_mut(..needed).ok_or(too_small)?;
    let at = encode_header(&header, frame).ok_or(too_small)?;
    let body = frame.get_mut(at..).ok_or(too_small)?;
    let (to_code, to_payload) = body.split_at_mut_checked(code.len()).ok_or(too_small)?;
    to_code.copy_from_slice(code);
    to_payload
        .get_mut(..payload.len())
        .ok_or(too_small)?
        .copy_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(body, key, 0);
    }
    Ok(needed)
}
