//! Closing (RFC 6455 sections 5.5.1 and 7): starting the closing handshake
//! (7.1.2), failing the connection (7.1.7), when to close the transport
//! (7.1.1), and how the connection ended (7.1.5, 7.4.1).

use super::*;

/// The close frame the engine must send itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CloseOut {
    /// The reply to the peer's close frame (section 5.5.1): its code
    /// echoed, or no code when it sent none.
    Reply(Option<CloseCode>),
    /// The connection failed (section 7.1.7): the violation's code and
    /// reason.
    Fail(Violation),
}

impl Connection {
    /// Starts the closing handshake (section 7.1.2) with a code valid on the
    /// wire and a reason of at most 123 bytes. The connection then waits for
    /// the peer's close frame, up to the close timeout.
    pub fn close(&mut self, code: CloseCode, reason: &str, out: &mut [u8]) -> Result<usize, Error> {
        if self.state != State::Open {
            return Err(Error::InvalidState);
        }
        if !code.is_valid_on_wire() {
            return Err(Error::InvalidCloseCode);
        }
        if reason.len() > MAX_REASON {
            return Err(Error::ControlTooLong);
        }
        let rng = (self.role == Role::Client).then_some(&mut self.rng);
        let reason = reason.as_bytes();
        let n = send::write_frame(rng, Opcode::Close, true, Some(code), reason, out)?;
        self.state = State::CloseSent;
        self.deadline = self.now.saturating_add(self.config.close_timeout_ms);
        Ok(n)
    }

    /// Fails the connection (section 7.1.7): queue a close frame with the
    /// violation's code, stop reading, and ask for the transport to close.
    pub(super) fn fail(&mut self, v: Violation) -> Error {
        if self.state == State::Open {
            self.close_out = Some(CloseOut::Fail(v));
        }
        self.state = State::Failed;
        self.drop_transport = true;
        self.deadline = NO_DEADLINE;
        Error::Protocol(v)
    }

    /// Both close frames are exchanged (section 7.1.1): the server closes
    /// the transport now; the client gives the server time to do it.
    pub(super) fn closed(&mut self) {
        self.state = State::Closed;
        match self.role {
            Role::Server => {
                self.drop_transport = true;
                self.deadline = NO_DEADLINE;
            }
            Role::Client => self.deadline = self.now.saturating_add(self.config.close_timeout_ms),
        }
    }

    /// What to do with the transport now.
    pub fn transport(&self) -> Transport {
        if self.drop_transport && !self.has_output() {
            Transport::Close
        } else {
            Transport::Open
        }
    }

    /// Tells the engine the transport has closed (end of stream or error),
    /// and learns how the connection ended. Later calls change nothing.
    pub fn transport_closed(&mut self) -> Closure {
        let clean = self.state == State::Closed;
        let code = if clean {
            self.peer_close
        } else {
            CloseCode::ABNORMAL
        };
        if !clean {
            self.state = State::Failed;
        }
        self.drop_transport = true;
        self.deadline = NO_DEADLINE;
        self.close_out = None;
        Closure { clean, code }
    }
}
