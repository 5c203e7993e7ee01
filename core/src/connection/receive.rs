//! Receiving (RFC 6455 sections 5 and 6.2): the rules a frame header
//! decides (5.2 reserved bits, 5.1 masking, 5.4 fragmentation, 5.5 control
//! frames, 7.4.1 message size), unmasking in place (5.3), UTF-8 of text
//! (8.1), and control frames acted on (5.5.1-5.5.3), the pong written
//! straight away.

use super::*;

/// The data frame being received (control frames are taken whole, so they
/// never wait here).
#[derive(Clone, Copy, Debug)]
pub(super) struct Incoming {
    pub(super) fin: bool,
    pub(super) mask: Option<[u8; 4]>,
    /// Payload bytes still to come.
    pub(super) remaining: u64,
    /// Payload bytes already seen, modulo 256 (the masking offset is this
    /// modulo 4).
    pub(super) offset: u8,
}

/// The outcome of a call to [`Connection::receive`].
#[derive(Debug, PartialEq)]
pub struct Received<'a> {
    /// Input bytes used. Present the rest again, with more appended.
    pub consumed: usize,
    /// Bytes written to `out`: the pong for a ping taken in this call.
    pub written: usize,
    /// What the peer sent, if anything.
    pub event: Option<Event<'a>>,
}

impl<'a> Received<'a> {
    pub(super) fn none(consumed: usize) -> Self {
        Received {
            consumed,
            written: 0,
            event: None,
        }
    }

    fn data(consumed: usize, kind: DataKind, chunk: &'a [u8], last: bool) -> Self {
        Received {
            consumed,
            written: 0,
            event: Some(Event::Data { kind, chunk, last }),
        }
    }
}

impl Connection {
    /// Feeds bytes from the transport; see the module docs for the buffer
    /// contract. A ping's pong is written into `out` in the same call
    /// (`written` bytes); give it at least
    /// [`MAX_CONTROL_FRAME`](crate::MAX_CONTROL_FRAME) bytes, or a ping
    /// stays unread until it has them. An `Err(Error::Protocol(_))` fails
    /// the connection: a close frame with the right code is queued for
    /// [`Connection::poll_output`] and later input is ignored.
    ///
    /// With permessage-deflate in force, compressed messages need somewhere
    /// to inflate to: use [`Connection::receive_with`]. This call then
    /// returns [`Error::BufferTooSmall`] and consumes nothing.
    pub fn receive<'a>(
        &mut self,
        input: &'a mut [u8],
        out: &mut [u8],
    ) -> Result<Received<'a>, Error> {
        self.receive_with(input, &mut [], out)
    }

    /// [`Connection::receive`], with `scratch` for inflated data: chunks of
    /// compressed messages are slices of `scratch`, others of `input`. Any
    /// size of scratch works; larger means fewer, larger chunks.
    ///
    /// With `deflate::Memory::Caller` agreed, use
    /// `Connection::receive_inflating` (feature `inflate`): this call then
    /// returns [`Error::BufferTooSmall`] and consumes nothing.
    pub fn receive_with<'a>(
        &mut self,
        input: &'a mut [u8],
        scratch: &'a mut [u8],
        out: &mut [u8],
    ) -> Result<Received<'a>, Error> {
        #[cfg(feature = "inflate")]
        return self.receive_into(input, scratch, out, None);
        #[cfg(not(feature = "inflate"))]
        self.receive_into(input, scratch, out)
    }

    /// [`Connection::receive_with`], inflating in the caller's `window`
    /// where the connection has no inflater of its own
    /// ([`Memory::Caller`], the only kind
    /// without the `deflate` feature); with our own codec, `window` is not
    /// used. The window must be the same on every call for the whole
    /// connection (it holds the history messages refer to) and hold the
    /// peer's window as agreed: one smaller than that, like a missing
    /// scratch, gets [`Error::BufferTooSmall`] with the bytes it needs,
    /// before anything is consumed.
    #[cfg(feature = "inflate")]
    pub fn receive_inflating<'a, const N: usize>(
        &mut self,
        input: &'a mut [u8],
        scratch: &'a mut [u8],
        window: &mut Window<N>,
        out: &mut [u8],
    ) -> Result<Received<'a>, Error> {
        self.receive_into(input, scratch, out, Some(&mut window.lend()))
    }

    fn receive_into<'a>(
        &mut self,
        input: &'a mut [u8],
        scratch: &'a mut [u8],
        out: &mut [u8],
        #[cfg(feature = "inflate")] window: Option<&mut Lent<'_>>,
    ) -> Result<Received<'a>, Error> {
        #[cfg(feature = "inflate")]
        let result = self.receive_frames(input, scratch, out, window);
        #[cfg(not(feature = "inflate"))]
        let result = self.receive_frames(input, scratch, out);
        // Every violation found below fails the connection here, in one
        // place (section 7.1.7). `fail` may already have run for it (the
        // inflate paths call it): a second call changes nothing.
        result.map_err(|e| match e {
            Error::Protocol(v) => self.fail(v),
            e => e,
        })
    }

    fn receive_frames<'a>(
        &mut self,
        input: &'a mut [u8],
        scratch: &'a mut [u8],
        out: &mut [u8],
        #[cfg(feature = "inflate")] mut window: Option<&mut Lent<'_>>,
    ) -> Result<Received<'a>, Error> {
        match self.state {
            State::Open | State::CloseSent => {}
            State::AwaitingRequest | State::AwaitingResponse => return Err(Error::InvalidState),
            // After a close frame or a failure nothing more is read
            // (section 5.5.1: no data after Close).
            _ => return Ok(Received::none(input.len())),
        }
        // Only compressed messages inflate into scratch; refuse before
        // touching any state, so that the same bytes can be given again.
        #[cfg(feature = "inflate")]
        {
            if scratch.is_empty() && self.compression_active() {
                return Err(Error::BufferTooSmall { needed: 1 });
            }
            if let Some(bits) = self.inflate.lent_bits() {
                if window.as_ref().is_none_or(|w| w.bits() < bits) {
                    let needed = deflate::inflate::Inflater::window_len(bits);
                    return Err(Error::BufferTooSmall { needed });
                }
            }
        }
        #[cfg(not(feature = "inflate"))]
        let _ = scratch;
        let mut pos = 0;
        loop {
            #[cfg(feature = "inflate")]
            if self.inflate.finishing {
                let kind = self.message.unwrap_or(DataKind::Binary);
                let (chunk, last) = self.inflate_tail(scratch, window.as_deref_mut())?;
                let scratch: &'a [u8] = scratch;
                return Ok(Received::data(pos, kind, &scratch[..chunk], last));
            }
            #[cfg(feature = "inflate")]
            if self.frame.is_none() && self.inflate.pending {
                let wrote = self.inflate_pending(scratch, window.as_deref_mut())?;
                if wrote > 0 {
                    let kind = self.message.unwrap_or(DataKind::Binary);
                    let scratch: &'a [u8] = scratch;
                    return Ok(Received::data(pos, kind, &scratch[..wrote], false));
                }
            }
            let frame = match self.frame {
                Some(f) => f,
                None => {
                    // A header is taken only when whole: the caller presents
                    // the unconsumed bytes again, so the engine needs no
                    // buffer of its own to gather one across reads.
                    let Decoded::Complete(h, used) = decode_header(&input[pos..])? else {
                        return Ok(Received::none(pos));
                    };
                    if h.opcode.is_control() {
                        self.check_control(&h)?;
                        let input: &'a mut [u8] = input;
                        return self.control_frame(h, used, input, pos, out);
                    }
                    pos += used;
                    self.start_frame(h)?
                }
            };
            let available = (input.len() - pos) as u64;
            let n = frame.remaining.min(available) as usize;
            let start = pos;
            if let Some(key) = frame.mask {
                apply_mask(
                    &mut input[start..start + n],
                    key,
                    (frame.offset % 4) as usize,
                );
            }
            #[cfg(feature = "inflate")]
            let (n, inflated) = if self.inflate.active {
                let (used, wrote) = self.inflate_payload(
                    &mut input[start..start + n],
                    &frame,
                    scratch,
                    window.as_deref_mut(),
                )?;
                (used, Some(wrote))
            } else {
                (n, None)
            };
            pos += n;
            let remaining = frame.remaining - n as u64;
            self.frame = (remaining > 0).then_some(Incoming {
                remaining,
                offset: frame.offset.wrapping_add(n as u8),
                ..frame
            });
            let kind = self.message.unwrap_or(DataKind::Binary);
            #[cfg(feature = "inflate")]
            if let Some(wrote) = inflated {
                self.inflate.finishing = remaining == 0 && frame.fin;
                if wrote > 0 {
                    let scratch: &'a [u8] = scratch;
                    return Ok(Received::data(pos, kind, &scratch[..wrote], false));
                }
                // Input ran out mid-frame. A frame that ended empty (an
                // empty fragment) goes on to the next header instead.
                if n == 0 && remaining > 0 {
                    return Ok(Received::none(pos));
                }
                continue;
            }
            if kind == DataKind::Text && self.utf8.feed(&input[start..pos]).is_err() {
                return Err(Violation::InvalidUtf8.into());
            }
            let last = remaining == 0 && frame.fin;
            if last {
                self.end_message(kind)?;
            }
            if n > 0 || last {
                let input: &'a [u8] = input;
                return Ok(Received::data(pos, kind, &input[start..pos], last));
            }
            if remaining > 0 {
                return Ok(Received::none(pos));
            }
        }
    }

    /// A control frame (section 5.5), taken whole from `input[pos..]`: its
    /// payload is handed out where it lies, unmasked in place. Until all of
    /// it has arrived, or while `out` has no room for the pong a ping
    /// needs, nothing of it is consumed.
    fn control_frame<'a>(
        &mut self,
        h: Header,
        header: usize,
        input: &'a mut [u8],
        pos: usize,
        out: &mut [u8],
    ) -> Result<Received<'a>, Error> {
        let start = pos + header;
        // At most 125 (checked): the sum cannot overflow.
        let end = start + h.len as usize;
        let Some(payload) = input.get_mut(start..end) else {
            return Ok(Received::none(pos));
        };
        // Section 5.5.2: a ping is answered with a pong carrying its
        // payload, unless our close frame has gone out (a pong after it
        // would be data after Close).
        let answer = h.opcode == Opcode::Ping && self.state == State::Open;
        let rng = (self.role == Role::Client).then_some(&mut self.rng);
        let pong_len = header_len(h.len, rng.is_some()) + payload.len();
        if answer && out.len() < pong_len {
            return Ok(Received::none(pos));
        }
        if let Some(key) = h.mask {
            apply_mask(payload, key, 0);
        }
        let payload: &'a [u8] = payload;
        let mut written = 0;
        let event = match h.opcode {
            Opcode::Ping => {
                if answer {
                    written = send::write_frame(rng, Opcode::Pong, true, None, payload, out)?;
                }
                Event::Ping(payload)
            }
            Opcode::Pong => Event::Pong(payload),
            _ => {
                let (code, reason) = self.end_close(payload)?;
                Event::Close { code, reason }
            }
        };
        Ok(Received {
            consumed: end,
            written,
            event: Some(event),
        })
    }

    /// A data message is complete: text must end on a character boundary.
    pub(super) fn end_message(&mut self, kind: DataKind) -> Result<(), Error> {
        self.message = None;
        self.message_len = 0;
        if kind == DataKind::Text && self.utf8.finish().is_err() {
            return Err(self.fail(Violation::InvalidUtf8));
        }
        Ok(())
    }

    /// Section 5.5: control frames are short and never fragmented; and
    /// the rules every frame's header must meet.
    fn check_control(&self, h: &Header) -> Result<(), Violation> {
        self.check_header(h, false)?;
        if !h.fin {
            return Err(Violation::FragmentedControl);
        }
        if h.len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(Violation::ControlTooLong);
        }
        Ok(())
    }

    /// The rules for every frame: section 5.2's reserved bits (RFC 7692
    /// section 6 lets permessage-deflate set RSV1 on `compressed` frames)
    /// and section 5.1's masking direction.
    fn check_header(&self, h: &Header, compressed: bool) -> Result<(), Violation> {
        if h.rsv != 0 && !compressed {
            return Err(Violation::ReservedBits);
        }
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => Err(Violation::UnmaskedFrame),
            (Role::Client, true) => Err(Violation::MaskedFrame),
            _ => Ok(()),
        }
    }

    /// Applies the rules a data frame's header decides, given the state.
    fn start_frame(&mut self, h: Header) -> Result<Incoming, Violation> {
        // permessage-deflate owns RSV1 on a message's first frame only
        // (RFC 7692 section 6): not on continuations.
        let compressed = self.compression_active()
            && h.rsv == 0b100
            && matches!(h.opcode, Opcode::Text | Opcode::Binary);
        self.check_header(&h, compressed)?;
        // Section 5.4: fragments of one message, not interleaved.
        match (h.opcode, self.message) {
            (Opcode::Continuation, None) => return Err(Violation::UnexpectedContinuation),
            (Opcode::Continuation, Some(_)) => {}
            (_, Some(_)) => return Err(Violation::ExpectedContinuation),
            (op, None) => {
                self.message = Some(if op == Opcode::Text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                });
                #[cfg(feature = "inflate")]
                {
                    self.inflate.active = compressed;
                }
            }
        }
        // Section 7.4.1 (1009): refuse as soon as the length is known.
        let total = self.message_len.saturating_add(h.len);
        if total > self.config.max_message_size {
            return Err(Violation::MessageTooBig);
        }
        self.message_len = total;
        let frame = Incoming {
            fin: h.fin,
            mask: h.mask,
            remaining: h.len,
            offset: 0,
        };
        self.frame = Some(frame);
        Ok(frame)
    }

    /// The peer's close frame (section 5.5.1): its code and reason, and our
    /// reply queued unless this answers our own close.
    fn end_close<'a>(&mut self, payload: &'a [u8]) -> Result<(CloseCode, &'a [u8]), Violation> {
        let (code, reason) = close::parse_payload(payload)?;
        self.peer_close = code;
        if self.state == State::Open {
            // Echo the code; no code in, no code out.
            let code = (code != CloseCode::NO_STATUS).then_some(code);
            self.close_out = Some(CloseOut::Reply(code));
            self.state = State::CloseReceived;
        } else {
            self.closed();
        }
        Ok((code, reason))
    }
}
