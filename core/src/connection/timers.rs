//! Time (RFC 6455 sections 4.1 and 7.1.1 leave the limits to the
//! implementation): the engine never reads a clock; the caller passes "now"
//! and calls `tick` by the deadline for the opening handshake, the closing
//! handshake, and the client's wait for the server to close TCP.

use super::*;

impl Connection {
    /// The time at which [`Connection::tick`] must next be called, if any.
    pub fn deadline(&self) -> Option<u64> {
        (self.deadline != NO_DEADLINE).then_some(self.deadline)
    }

    /// Advances the engine's clock. When a deadline has passed (opening
    /// handshake, closing handshake, the server closing TCP), the connection
    /// gives up and [`Connection::transport`] says to close.
    pub fn tick(&mut self, now: u64) {
        self.now = self.now.max(now);
        if self.deadline != NO_DEADLINE && self.now >= self.deadline {
            self.deadline = NO_DEADLINE;
            self.drop_transport = true;
            if self.state != State::Closed {
                self.state = State::Failed;
            }
        }
    }
}
