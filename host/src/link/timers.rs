//! Time: when the link needs [`Link::tick`] next, and what each deadline
//! does once it passes: the write timeout, the idle timeout's ping and
//! close (RFC 6455 sections 5.5.2 and 7), freeing a drained output buffer,
//! and [`Link::go_away`]'s close with 1001, held until no message is in
//! progress either way.

use websock_core::frame::MAX_CONTROL_FRAME;
use websock_core::{CloseCode, State};

use super::{Failure, Link, Phase, NEVER, TRIM_MS};
use crate::outbuf::OutBuf;

impl Link {
    /// When [`Link::tick`] must next be called.
    // Inlined: backends ask after every message, and the call's own cost
    // was about a third of the function's.
    #[inline(always)]
    pub fn deadline(&self) -> Option<u64> {
        match self.phase {
            Phase::Draining | Phase::Flushing | Phase::Closing => Some(self.until),
            Phase::Done => None,
            Phase::Handshake | Phase::Open => {
                // Backends ask on every message: minimum by hand, with
                // "none" as the largest time, costs a few instructions
                // where iterating over Options cost about a hundred.
                let at = self
                    .engine
                    .deadline()
                    .unwrap_or(NEVER)
                    .min(self.stall_deadline())
                    .min(self.idle_deadline())
                    .min(self.until)
                    .min(self.trim_at);
                (at != NEVER).then_some(at)
            }
        }
    }

    /// When a stall drops the connection ([`NEVER`]: not stalled, or no
    /// write timeout).
    fn stall_deadline(&self) -> u64 {
        if self.stalled_since == NEVER || self.write_timeout_ms == 0 {
            return NEVER;
        }
        self.stalled_since.saturating_add(self.write_timeout_ms)
    }

    /// When to look at idleness next ([`NEVER`]: not watched).
    fn idle_deadline(&self) -> u64 {
        let watching = self.idle_timeout_ms > 0
            && self.phase == Phase::Open
            && !self.abort
            && self.engine.state() == State::Open;
        if watching {
            self.idle_check
        } else {
            NEVER
        }
    }

    /// Advances time: fires the engine's deadlines and our linger deadline.
    /// Ask for the next [`Link::step`] afterwards.
    pub fn tick(&mut self, now: u64) {
        self.now = self.now.max(now);
        let now = self.now;
        let due = |at: Option<u64>| at.is_some_and(|at| now >= at);
        if !due(self.deadline()) && !due(self.engine.deadline()) {
            // Nothing is due (every deadline looked at below is one of
            // these): the engine only learns the time, which it needs for
            // the deadlines it sets later. The common case, on every
            // message.
            self.engine.tick(now);
            return;
        }
        let before = self.engine.state();
        self.engine.tick(now);
        if before != State::Failed && self.engine.state() == State::Failed {
            self.fail(Failure::TimedOut(before));
        }
        match self.phase {
            Phase::Draining | Phase::Flushing | Phase::Closing => {
                if now >= self.until {
                    self.finish();
                }
            }
            Phase::Done => {}
            Phase::Handshake | Phase::Open => {
                // NEVER is never reached (`go_away` keeps below it).
                if now >= self.until {
                    self.fail(Failure::TimedOut(self.engine.state()));
                    return self.finish();
                }
                if now >= self.stall_deadline() {
                    // No flushing or lingering: the peer reads nothing.
                    self.fail(Failure::WriteStalled);
                    return self.finish();
                }
                if now >= self.idle_deadline() {
                    self.keepalive(now);
                }
                if now >= self.trim_at {
                    self.trim(now);
                }
            }
        }
    }

    /// Advances the clock, for a backend that knows no deadline is due:
    /// its timer for the link, filed from [`Link::deadline`] after the
    /// link last ran, is later than `now`. [`Link::tick`]'s work in that
    /// case, without looking at every deadline.
    pub fn advance(&mut self, now: u64) {
        self.now = self.now.max(now);
        self.engine.tick(self.now);
    }

    /// The trim timer fired: free the output buffer if nothing was written
    /// for [`TRIM_MS`], else look again that long after the last write
    /// (one timer per second at most, however busy the connection).
    fn trim(&mut self, now: u64) {
        self.trim_at = NEVER;
        if !self.out.is_empty() {
            return; // armed again when it drains
        }
        let quiet_until = self.last_write.saturating_add(TRIM_MS);
        if now >= quiet_until {
            self.out = OutBuf::new();
        } else {
            self.trim_at = quiet_until;
        }
    }

    /// The idle timer fired: ping a quiet peer, close a silent one.
    fn keepalive(&mut self, now: u64) {
        let idle = self.idle_timeout_ms;
        let half = (idle / 2).max(1);
        let quiet = now.saturating_sub(self.last_input);
        if quiet >= idle {
            self.fail(Failure::TimedOut(State::Open));
            // Said for a peer that is still there; a half-open one never
            // reads it, and the link closes once it is handed to the
            // transport (or the write timeout passes).
            let room = self.out.spare(MAX_CONTROL_FRAME);
            if let Ok(n) = self
                .engine
                .close(CloseCode::GOING_AWAY, "idle timeout", room)
            {
                self.out.commit(n);
            }
            self.abort = true;
            return;
        }
        if quiet >= half && !self.ping_sent {
            let room = self.out.spare(MAX_CONTROL_FRAME);
            if let Ok(n) = self.engine.ping(&[], room) {
                self.out.commit(n);
            }
            self.ping_sent = true;
        }
        let wait = if self.ping_sent { idle } else { half };
        self.idle_check = self.last_input.saturating_add(wait);
    }

    /// Closes with 1001 (`reason`) as soon as no message is in progress
    /// either way, so that none is cut; drops the connection `grace_ms`
    /// from now whatever happens. A connection still in its opening
    /// handshake cannot close cleanly and is closed at once.
    pub fn go_away(&mut self, now: u64, grace_ms: u64, reason: &'static str) {
        self.tick(now);
        match self.phase {
            Phase::Handshake => self.abort = true,
            Phase::Open if self.until == NEVER => {
                // Below NEVER, which means "not going away".
                self.until = self.now.saturating_add(grace_ms).min(NEVER - 1);
                self.rare().going_away = Some(reason);
                self.close_if_going_away();
            }
            _ => {}
        }
    }

    /// Checked after every event: inlined, the common case (no shutdown
    /// under way) costs a compare instead of a call.
    #[inline(always)]
    pub(super) fn close_if_going_away(&mut self) {
        // Set in the closing phases too (their deadline), where the
        // engine's state says no below.
        if self.until != NEVER {
            self.close_going_away();
        }
    }

    #[cold]
    #[inline(never)]
    fn close_going_away(&mut self) {
        let Some(reason) = self.rare.as_ref().and_then(|r| r.going_away) else {
            return;
        };
        if self.receiving || self.sending || self.engine.state() != State::Open {
            return;
        }
        let room = self.out.spare(MAX_CONTROL_FRAME);
        if let Ok(n) = self.engine.close(CloseCode::GOING_AWAY, reason, room) {
            self.out.commit(n);
        }
    }
}
