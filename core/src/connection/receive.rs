//! Receiving (RFC 6455 sections 5 and 6.2): frame headers gathered across
//! reads, the rules a header decides (5.2 reserved bits, 5.1 masking, 5.4
//! fragmentation, 5.5 control frames, 7.4.1 message size), unmasking in
//! place (5.3), UTF-8 of text (8.1), and control frames acted on (5.5.1-5.5.3).

use super::*;

/// The frame being received.
#[derive(Clone, Copy, Debug)]
pub(super) struct Incoming {
    pub(super) opcode: Opcode,
    pub(super) fin: bool,
    pub(super) mask: Option<[u8; 4]>,
    /// Payload bytes still to come.
    pub(super) remaining: u64,
    /// Payload bytes already seen, modulo 256: the masking offset (modulo
    /// 4), and in a control frame (at most 125 bytes) the count itself.
    pub(super) offset: u8,
}

impl Connection {
    /// Feeds bytes from the transport; see the module docs for the buffer
    /// contract. An `Err(Error::Protocol(_))` fails the connection: a close
    /// frame with the right code is queued for [`Connection::poll_output`]
    /// and later input is ignored.
    ///
    /// With permessage-deflate in force, compressed messages need somewhere
    /// to inflate to: use [`Connection::receive_with`]. This call then
    /// returns [`Error::BufferTooSmall`] and consumes nothing.
    pub fn receive<'a>(
        &mut self,
        input: &'a mut [u8],
    ) -> Result<(usize, Option<Event<'a>>), Error> {
        self.receive_with(input, &mut [])
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
    ) -> Result<(usize, Option<Event<'a>>), Error> {
        #[cfg(feature = "inflate")]
        return self.receive_into(input, scratch, None);
        #[cfg(not(feature = "inflate"))]
        self.receive_into(input, scratch)
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
    ) -> Result<(usize, Option<Event<'a>>), Error> {
        self.receive_into(input, scratch, Some(&mut window.lend()))
    }

    fn receive_into<'a>(
        &mut self,
        input: &'a mut [u8],
        scratch: &'a mut [u8],
        #[cfg(feature = "inflate")] window: Option<&mut Lent<'_>>,
    ) -> Result<(usize, Option<Event<'a>>), Error> {
        #[cfg(feature = "inflate")]
        let result = self.receive_frames(input, scratch, window);
        #[cfg(not(feature = "inflate"))]
        let result = self.receive_frames(input, scratch);
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
        #[cfg(feature = "inflate")] mut window: Option<&mut Lent<'_>>,
    ) -> Result<(usize, Option<Event<'a>>), Error> {
        match self.state {
            State::Open | State::CloseSent => {}
            State::AwaitingRequest | State::AwaitingResponse => return Err(Error::InvalidState),
            // After a close frame or a failure nothing more is read
            // (section 5.5.1: no data after Close).
            _ => return Ok((input.len(), None)),
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
                return Ok((
                    pos,
                    Some(Event::Data {
                        kind,
                        chunk: &scratch[..chunk],
                        last,
                    }),
                ));
            }
            #[cfg(feature = "inflate")]
            if self.frame.is_none() && self.inflate.pending {
                let wrote = self.inflate_pending(scratch, window.as_deref_mut())?;
                if wrote > 0 {
                    let kind = self.message.unwrap_or(DataKind::Binary);
                    let scratch: &'a [u8] = scratch;
                    let chunk = &scratch[..wrote];
                    return Ok((
                        pos,
                        Some(Event::Data {
                            kind,
                            chunk,
                            last: false,
                        }),
                    ));
                }
            }
            // Backpressure: one buffer holds control payloads, so while a
            // pong is owed the next control frame stays unread, its header
            // too (control opcodes have bit 3 set, section 5.2): a frame
            // with an empty payload would otherwise be all consumed, and a
            // caller with no input left would not call again to get it.
            // (Mid-header the byte may be a length, not an opcode; then
            // this only defers the frame until the pong is out, as the
            // buffer contract allows.)
            if self.pong && self.frame.is_none() && input.get(pos).is_some_and(|b| b & 0x08 != 0) {
                return Ok((pos, None));
            }
            let frame = match self.frame {
                Some(f) => f,
                None => {
                    let (used, header) = self.read_header(&input[pos..])?;
                    pos += used;
                    match header {
                        None => return Ok((pos, None)),
                        Some(h) => self.start_frame(h)?,
                    }
                }
            };
            // The same, for a control frame read while no pong was owed.
            if self.pong && frame.opcode.is_control() {
                return Ok((pos, None));
            }
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
            let (n, inflated) = if self.inflate.active && !frame.opcode.is_control() {
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
            if frame.opcode.is_control() {
                let have = if frame.offset == 0 {
                    0
                } else {
                    self.control.len as usize
                };
                self.control.bytes[have..have + n].copy_from_slice(&input[start..pos]);
                self.control.len = (have + n) as u8;
                self.control.start = 0;
                if remaining > 0 {
                    return Ok((pos, None));
                }
                let code = self.end_control(frame.opcode)?;
                // Built here, straight into the result: a control event is
                // 128 bytes, and each copy on the way out costs stack.
                let payload = self.control;
                let event = match frame.opcode {
                    Opcode::Ping => Event::Ping(payload),
                    Opcode::Pong => Event::Pong(payload),
                    _ => Event::Close {
                        code,
                        reason: payload,
                    },
                };
                return Ok((pos, Some(event)));
            }
            let kind = self.message.unwrap_or(DataKind::Binary);
            #[cfg(feature = "inflate")]
            if let Some(wrote) = inflated {
                self.inflate.finishing = remaining == 0 && frame.fin;
                if wrote > 0 {
                    let scratch: &'a [u8] = scratch;
                    return Ok((
                        pos,
                        Some(Event::Data {
                            kind,
                            chunk: &scratch[..wrote],
                            last: false,
                        }),
                    ));
                }
                // Input ran out mid-frame. A frame that ended empty (an
                // empty fragment) goes on to the next header instead.
                if n == 0 && remaining > 0 {
                    return Ok((pos, None));
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
                let chunk = &input[start..pos];
                return Ok((pos, Some(Event::Data { kind, chunk, last })));
            }
            if remaining > 0 {
                return Ok((pos, None));
            }
        }
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

    /// Gathers a header, from `input` directly when it is all there, else
    /// through the 14-byte buffer. Returns the bytes used.
    fn read_header(&mut self, input: &[u8]) -> Result<(usize, Option<Header>), Violation> {
        if self.header_len == 0 {
            if let Decoded::Complete(h, n) = decode_header(input)? {
                return Ok((n, Some(h)));
            }
        }
        let mut used = 0;
        loop {
            let have = self.header_len as usize;
            let need = match decode_header(&self.header[..have])? {
                Decoded::Complete(h, _) => {
                    self.header_len = 0;
                    return Ok((used, Some(h)));
                }
                Decoded::Incomplete(need) => need,
            };
            let take = (need - have).min(input.len() - used);
            if take == 0 {
                return Ok((used, None));
            }
            self.header[have..have + take].copy_from_slice(&input[used..used + take]);
            self.header_len += take as u8;
            used += take;
        }
    }

    /// Applies the rules a frame header alone decides, given the state.
    fn start_frame(&mut self, h: Header) -> Result<Incoming, Violation> {
        // Section 5.2: RSV bits must be 0 unless an extension defines them.
        // permessage-deflate owns RSV1 on a message's first frame only
        // (RFC 7692 section 6): not on continuations or control frames.
        let compressed = self.compression_active()
            && h.rsv == 0b100
            && matches!(h.opcode, Opcode::Text | Opcode::Binary);
        if h.rsv != 0 && !compressed {
            return Err(Violation::ReservedBits);
        }
        // Section 5.1: clients mask, servers do not.
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(Violation::UnmaskedFrame),
            (Role::Client, true) => return Err(Violation::MaskedFrame),
            _ => {}
        }
        if h.opcode.is_control() {
            // Section 5.5: control frames are short and never fragmented.
            if !h.fin {
                return Err(Violation::FragmentedControl);
            }
            if h.len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(Violation::ControlTooLong);
            }
        } else {
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
        }
        let frame = Incoming {
            opcode: h.opcode,
            fin: h.fin,
            mask: h.mask,
            remaining: h.len,
            offset: 0,
        };
        self.frame = Some(frame);
        Ok(frame)
    }

    /// Acts on a complete control frame (sections 5.5.1 to 5.5.3), whose
    /// payload is in `control`. For a close frame, returns the code and
    /// leaves only the reason in `control`.
    fn end_control(&mut self, opcode: Opcode) -> Result<CloseCode, Violation> {
        match opcode {
            // A pong after our close frame would be data after Close.
            Opcode::Ping => self.pong = self.state == State::Open,
            Opcode::Pong => {}
            _ => {
                let (code, reason) = close::parse_payload(self.control.as_bytes())?;
                let (len, reason_len) = (self.control.len as usize, reason.len());
                self.control.start = (len - reason_len) as u8;
                self.peer_close = code;
                self.frame = None;
                if self.state == State::Open {
                    // Section 5.5.1: reply with a close frame, echoing the
                    // code; no code in, no code out.
                    let code = (code != CloseCode::NO_STATUS).then_some(code);
                    self.close_out = Some(CloseOut::Reply(code));
                    self.state = State::CloseReceived;
                } else {
                    self.closed();
                }
                return Ok(code);
            }
        }
        Ok(CloseCode::NO_STATUS)
    }
}
