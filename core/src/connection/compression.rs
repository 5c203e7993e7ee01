//! The glue to permessage-deflate (RFC 7692): RSV1 on a message's first
//! frame (section 6), compressing outgoing fragments (7.2.1), inflating
//! incoming ones into the caller's scratch with the 4-byte tail (7.2.2),
//! with our codec or in a window the caller lends, and the size limit
//! counted as it inflates (8.1).

use super::*;

/// permessage-deflate state of one connection.
#[derive(Debug, Default)]
pub(super) struct Inflating {
    /// The codec (it holds what was agreed), or with `Memory::Caller` only
    /// what was agreed. Boxed: zlib's stream headers are some 270 bytes, and
    /// a server built with the feature would pay them on every connection,
    /// compressed or not (the heap holds its tables and window anyway).
    #[cfg(feature = "deflate")]
    pub(super) codec: Option<alloc::boxed::Box<Codec>>,
    #[cfg(not(feature = "deflate"))]
    pub(super) agreed: Option<deflate::Agreed>,
    /// The incoming message is compressed.
    pub(super) active: bool,
    /// Its last frame is in; the 4-byte tail is being fed (section 7.2.2).
    pub(super) finishing: bool,
    /// How much of the tail has been fed.
    pub(super) tail: u8,
    /// Inflated bytes of the incoming message, for the size limit.
    pub(super) len: u64,
    /// The last inflate filled the caller's scratch, so the inflater may
    /// hold output for input already consumed: it is drained before the
    /// next frame is read, or a failure there would lose it (and the bytes
    /// delivered would depend on where the input was split).
    pub(super) pending: bool,
}

impl Inflating {
    /// What was agreed, if permessage-deflate is in force.
    pub(super) fn agreed(&self) -> Option<&deflate::Agreed> {
        #[cfg(feature = "deflate")]
        return self.codec.as_deref().map(Codec::agreed);
        #[cfg(not(feature = "deflate"))]
        self.agreed.as_ref()
    }

    pub(super) fn set(&mut self, agreed: deflate::Agreed) {
        #[cfg(feature = "deflate")]
        {
            self.codec = Some(alloc::boxed::Box::new(Codec::new(agreed)));
        }
        #[cfg(not(feature = "deflate"))]
        {
            self.agreed = Some(agreed);
        }
    }

    /// The caller lends the inflater: the window bits it must hold.
    pub(super) fn lent_bits(&self) -> Option<u8> {
        self.agreed()
            .filter(|a| a.memory == Memory::Caller)
            .map(|a| a.remote_window_bits)
    }

    /// Inflates with the caller's window or our codec.
    fn decompress(
        &mut self,
        window: Option<&mut Lent<'_>>,
        input: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, usize), ()> {
        if self.lent_bits().is_some() {
            return match window {
                Some(w) => w.inflate(input, out).map_err(drop),
                None => Err(()),
            };
        }
        #[cfg(feature = "deflate")]
        if let Some(codec) = self.codec.as_mut() {
            return codec.decompress(input, out).map_err(drop);
        }
        Err(())
    }

    /// A compressed message has been inflated to its end.
    fn received(&mut self, window: Option<&mut Lent<'_>>) {
        let lent = self.agreed().filter(|a| a.memory == Memory::Caller);
        if let Some(keep) = lent.map(|a| !a.remote_no_context_takeover) {
            if let Some(w) = window {
                w.end_message(keep);
            }
        } else {
            #[cfg(feature = "deflate")]
            if let Some(codec) = self.codec.as_mut() {
                codec.received();
            }
        }
    }
}

impl Connection {
    /// Our messages go out compressed: permessage-deflate is in force and
    /// the connection has a compressor (not with `Memory::Caller`).
    #[cfg(feature = "deflate")]
    pub(super) fn compresses(&self) -> bool {
        self.inflate
            .agreed()
            .is_some_and(|a| a.memory != Memory::Caller)
    }

    /// Compresses a fragment into a frame (RFC 7692 section 7.2.1): RSV1 on
    /// the message's first frame only. The payload is compressed behind
    /// room for the longest header, then moved up to its real header.
    #[cfg(feature = "deflate")]
    pub(super) fn write_compressed(
        &mut self,
        opcode: Opcode,
        fin: bool,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let needed = self.max_frame_len(payload.len());
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let Some(codec) = self.inflate.codec.as_mut() else {
            return Err(Error::InvalidState);
        };
        let len = codec
            .compress(payload, fin, &mut out[MAX_HEADER_LEN..needed])
            .map_err(|_| Error::BufferTooSmall { needed })?;
        let mask = (self.role == Role::Client).then(|| self.rng.next());
        let head = header_len(len as u64, mask.is_some());
        out.copy_within(MAX_HEADER_LEN..MAX_HEADER_LEN + len, head);
        let header = Header {
            fin,
            rsv: if opcode == Opcode::Continuation {
                0
            } else {
                0b100
            },
            opcode,
            mask,
            len: len as u64,
        };
        encode_header(&header, out).ok_or(Error::BufferTooSmall { needed })?;
        if let Some(key) = mask {
            apply_mask(&mut out[head..head + len], key, 0);
        }
        Ok(head + len)
    }

    /// Inflates an unmasked piece of a compressed frame into `scratch`.
    /// What the inflater did not take is masked again, so that it can be
    /// presented again. Returns (payload bytes used, bytes inflated).
    pub(super) fn inflate_payload(
        &mut self,
        payload: &mut [u8],
        frame: &Incoming,
        scratch: &mut [u8],
        window: Option<&mut Lent<'_>>,
    ) -> Result<(usize, usize), Error> {
        let result = if scratch.is_empty() && payload.is_empty() {
            Ok((0, 0))
        } else if scratch.is_empty() {
            Err(Error::BufferTooSmall { needed: 1 })
        } else {
            self.inflate
                .decompress(window, payload, scratch)
                .map_err(|()| Error::Protocol(Violation::Compression))
        };
        let (used, wrote) = match result {
            Ok(r) => r,
            Err(e) => {
                if let Some(key) = frame.mask {
                    apply_mask(payload, key, (frame.offset % 4) as usize);
                }
                return match e {
                    Error::Protocol(v) => Err(self.fail(v)),
                    other => Err(other),
                };
            }
        };
        if let Some(key) = frame.mask {
            let offset = frame.offset.wrapping_add(used as u8);
            apply_mask(&mut payload[used..], key, (offset % 4) as usize);
        }
        self.inflate.pending = wrote > 0 && wrote == scratch.len();
        self.check_inflated(&scratch[..wrote])?;
        Ok((used, wrote))
    }

    /// Takes output the inflater still holds for a frame whose payload is
    /// all consumed (see [`Inflating::pending`]): our codec's or the
    /// caller's window alike. Returns bytes in scratch.
    pub(super) fn inflate_pending(
        &mut self,
        scratch: &mut [u8],
        window: Option<&mut Lent<'_>>,
    ) -> Result<usize, Error> {
        self.inflate.pending = false;
        let wrote = match self.inflate.decompress(window, &[], scratch) {
            Ok((_, wrote)) => wrote,
            Err(()) => return Err(self.fail(Violation::Compression)),
        };
        self.inflate.pending = wrote > 0 && wrote == scratch.len();
        self.check_inflated(&scratch[..wrote])?;
        Ok(wrote)
    }

    /// Feeds the tail a compressed message implicitly ends with (RFC 7692
    /// section 7.2.2) and drains the inflater. Returns (bytes in scratch,
    /// message complete).
    pub(super) fn inflate_tail(
        &mut self,
        scratch: &mut [u8],
        mut window: Option<&mut Lent<'_>>,
    ) -> Result<(usize, bool), Error> {
        if scratch.is_empty() {
            return Err(Error::BufferTooSmall { needed: 1 });
        }
        let fed = self.inflate.tail as usize;
        let tail = deflate::TAIL.get(fed..).unwrap_or_default();
        let (used, wrote) = match self
            .inflate
            .decompress(window.as_deref_mut(), tail, scratch)
        {
            Ok(r) => r,
            Err(()) => return Err(self.fail(Violation::Compression)),
        };
        self.inflate.tail += used as u8;
        let done = self.inflate.tail == 4 && wrote < scratch.len();
        self.check_inflated(&scratch[..wrote])?;
        if done {
            self.inflate.received(window);
            self.inflate.finishing = false;
            self.inflate.pending = false;
            self.inflate.active = false;
            self.inflate.tail = 0;
            self.inflate.len = 0;
            self.end_message(self.message.unwrap_or(DataKind::Binary))?;
        } else if used == 0 && wrote == 0 {
            // Room to write and tail left, yet no progress: broken stream.
            return Err(self.fail(Violation::Compression));
        }
        Ok((wrote, done))
    }

    /// Rules for inflated data: UTF-8 for text, and the size limit counted
    /// as it inflates, so a small bomb cannot grow past it (RFC 7692
    /// section 8.1 leaves the limit to the implementation; 1009 here).
    fn check_inflated(&mut self, chunk: &[u8]) -> Result<(), Error> {
        if self.message == Some(DataKind::Text) && self.utf8.feed(chunk).is_err() {
            return Err(self.fail(Violation::InvalidUtf8));
        }
        self.inflate.len += chunk.len() as u64;
        if self.inflate.len > self.config.max_message_size {
            return Err(self.fail(Violation::MessageTooBig));
        }
        Ok(())
    }
}
