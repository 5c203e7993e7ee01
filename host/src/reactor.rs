//! The epoll backend (kqueue elsewhere, through `mio`): a single-threaded
//! event loop over many [`Link`]s on their [`Transport`]s, readiness from
//! `mio`, deadlines from a timer set, one shared read buffer and one
//! shared output buffer (a connection keeps output memory only while its
//! output waits for the socket).
//!
//! The server runs one per worker thread; the client, the Autobahn driver
//! and the load generator run one each. Tokens below [`FIRST_LINK_TOKEN`]
//! belong to the owner (listeners, wakers, signal pipes): [`Reactor::turn`]
//! reports them instead of handling them.

use std::collections::BTreeSet;
use std::io::{self, IoSlice};
use std::time::Duration;

use mio::{Events, Interest, Poll, Registry, Token};
use slab::Slab;

use crate::clock::Clock;
use crate::link::{Handler, Link, Step, Tx, READ_SIZE};
use crate::transport::{Transport, Wire};

/// Reads per turn before yielding to other connections, for fairness.
const MAX_READS_PER_TURN: usize = 16;

/// The first token used for links; lower ones are the owner's.
pub const FIRST_LINK_TOKEN: usize = 64;

/// A link and the handler of its events.
#[derive(Debug)]
pub struct Slot<H> {
    /// The connection.
    pub link: Link,
    /// Its socket.
    pub transport: Transport,
    /// What handles its events.
    pub handler: H,
    /// The deadline registered in the timer set; [`FILED`] once the link
    /// is filed as finished.
    timer: Option<u64>,
}

/// [`Slot::timer`] of a link filed as finished (waiting in the slab for
/// [`Reactor::drain_finished`]): no entry in the timer set has this time,
/// and the slot needs no field of its own for it.
const FILED: Option<u64> = Some(u64::MAX);

/// The event loop.
pub struct Reactor<H> {
    poll: Poll,
    events: Events,
    slots: Slab<Slot<H>>,
    /// (deadline, key): the earliest first.
    timers: BTreeSet<(u64, usize)>,
    /// Links to drive on the next turn even without an event.
    ready: Vec<usize>,
    /// Links to drive in this turn (kept to reuse its allocation), each
    /// with whether a short read may end its turn (see [`drive_at`]).
    due: Vec<(usize, bool)>,
    /// Keys of the links that finished since [`Reactor::drain_finished`]
    /// last ran. They stay in `slots`, deregistered and without a timer,
    /// until it hands them to the owner (who looks at how they ended,
    /// then drops them): keys, not the slots themselves, so that
    /// connections ending together cost no second copy of their slots.
    finished: Vec<usize>,
    rbuf: Box<[u8]>,
    /// The output buffer lent to the link being driven (see
    /// [`Link::borrow_spare`]).
    spare: Vec<u8>,
    clock: Clock,
}

impl<H: Handler> Reactor<H> {
    /// An empty loop reading time from `clock`.
    pub fn new(clock: Clock) -> io::Result<Self> {
        Ok(Reactor {
            poll: Poll::new()?,
            events: Events::with_capacity(1024),
            slots: Slab::new(),
            timers: BTreeSet::new(),
            ready: Vec::new(),
            due: Vec::new(),
            finished: Vec::new(),
            rbuf: vec![0; READ_SIZE].into_boxed_slice(),
            spare: Vec::new(),
            clock,
        })
    }

    /// The clock's "now".
    pub fn now(&self) -> u64 {
        self.clock.now_ms()
    }

    /// For registering the owner's own sources (tokens below
    /// [`FIRST_LINK_TOKEN`]).
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// Whether no link is live.
    pub fn is_empty(&self) -> bool {
        self.slots.len() == self.finished.len()
    }

    /// When the loop next has work without any readiness event: at once
    /// when a link asked to run again, else at its earliest deadline. For
    /// an owner that waits on something else than [`Reactor::turn`] (the
    /// io_uring backend waits in its ring, with this loop's poll inside).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub fn next_wake(&self) -> Option<u64> {
        if !self.ready.is_empty() {
            return Some(0);
        }
        self.timers.first().map(|&(at, _)| at)
    }

    /// Keys of the live links.
    pub fn keys(&self) -> Vec<usize> {
        self.slots
            .iter()
            .filter(|(_, s)| !s.link.is_done())
            .map(|(k, _)| k)
            .collect()
    }

    /// A live link and its handler.
    pub fn get_mut(&mut self, key: usize) -> Option<&mut Slot<H>> {
        self.live(key)
    }

    /// Iterates over the live links.
    pub fn slots(&self) -> impl Iterator<Item = &Slot<H>> {
        self.slots
            .iter()
            .map(|(_, s)| s)
            .filter(|s| !s.link.is_done())
    }

    /// The slot of a live link (not one finished and waiting for
    /// [`Reactor::drain_finished`]).
    fn live(&mut self, key: usize) -> Option<&mut Slot<H>> {
        self.slots.get_mut(key).filter(|s| !s.link.is_done())
    }

    /// Adds a link and starts driving it (a client link's request goes out).
    pub fn insert(
        &mut self,
        link: Link,
        mut transport: Transport,
        handler: H,
    ) -> io::Result<usize> {
        let entry = self.slots.vacant_entry();
        let key = entry.key();
        // Both interests, edge-triggered, once: no re-registration per
        // state change, at the price of some spurious writable wakeups.
        self.poll.registry().register(
            &mut transport,
            Token(FIRST_LINK_TOKEN + key),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        entry.insert(Slot {
            link,
            transport,
            handler,
            timer: None,
        });
        self.run(key);
        Ok(key)
    }

    /// Lets the owner send on a link, then writes what was queued.
    pub fn with_tx<R>(
        &mut self,
        key: usize,
        f: impl FnOnce(&mut Tx<'_>, &mut H) -> R,
    ) -> Option<R> {
        let now = self.clock.now_ms();
        let slot = self.live(key)?;
        let handler = &mut slot.handler;
        let r = slot.link.with_tx(now, |tx| f(tx, handler));
        self.run(key);
        Some(r)
    }

    /// Lets the owner act on a link itself (e.g. [`Link::go_away`]), then
    /// writes what was queued.
    pub fn with_link<R>(
        &mut self,
        key: usize,
        f: impl FnOnce(&mut Link, &mut H) -> R,
    ) -> Option<R> {
        let slot = self.live(key)?;
        let r = f(&mut slot.link, &mut slot.handler);
        self.run(key);
        Some(r)
    }

    /// Links that finished since the last call; dropping them closes their
    /// sockets. Those the iterator has not yielded when it is dropped are
    /// dropped with it.
    pub fn drain_finished(&mut self) -> Finished<'_, H> {
        Finished {
            slots: &mut self.slots,
            keys: &mut self.finished,
            taken: 0,
        }
    }

    /// Waits for readiness or the next deadline (at most `cap`), drives the
    /// links concerned, and returns a bit set of the owner's tokens that
    /// fired (bit n for `Token(n)`).
    pub fn turn(&mut self, cap: Option<Duration>) -> io::Result<u64> {
        let now = self.clock.now_ms();
        let mut timeout = self
            .timers
            .first()
            .map(|&(at, _)| Duration::from_millis(at.saturating_sub(now)));
        if let Some(cap) = cap {
            timeout = Some(timeout.map_or(cap, |t| t.min(cap)));
        }
        if !self.ready.is_empty() {
            timeout = Some(Duration::ZERO);
        }
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            // A signal interrupted the wait: treat it as a turn with no
            // events (a signal pipe reports itself as readable).
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.events.clear(),
            Err(e) => return Err(e),
        }
        let mut fired = 0u64;
        let mut due = std::mem::take(&mut self.due);
        due.extend(self.ready.drain(..).map(|key| (key, false)));
        for event in self.events.iter() {
            match event.token().0.checked_sub(FIRST_LINK_TOKEN) {
                // The peer's end of stream or an error that came with this
                // edge gets no edge of its own: read until "would block".
                Some(key) => due.push((key, !event.is_read_closed() && !event.is_error())),
                None => fired |= 1 << event.token().0,
            }
        }
        // The clock is read once per turn, as the io_uring loop does: a
        // turn takes microseconds, deadlines are milliseconds, and a read
        // per link driven cost a small echo about forty instructions.
        let now = self.clock.now_ms();
        for (key, edge) in due.drain(..) {
            self.run_at(key, now, edge);
        }
        self.due = due;
        while let Some(&(at, key)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(slot) = self.live(key) {
                slot.timer = None;
                slot.link.tick(now);
                self.run_at(key, now, false);
            }
        }
        Ok(fired)
    }

    /// [`Reactor::run_at`] now.
    fn run(&mut self, key: usize) {
        let now = self.clock.now_ms();
        self.run_at(key, now, false);
    }

    /// Drives one link at time `now` and files it: finished, to run
    /// again, or waiting with its deadline in the timer set. `edge`: it is
    /// driven for a readiness event that reported no end of stream or
    /// error, so a short read may end its turn (see [`drive_at`]).
    fn run_at(&mut self, key: usize, now: u64, edge: bool) {
        let Some(slot) = self.slots.get_mut(key) else {
            return;
        };
        // A link filed as finished earlier in this turn may be listed
        // again (an event and a request to run again); one that finished
        // since it last ran (a timer, the owner's call) is filed below.
        if slot.link.is_done() && slot.timer == FILED {
            return;
        }
        // The timer filed for the link is never later than its deadline.
        if slot.timer.is_some_and(|at| now >= at) {
            slot.link.tick(now);
        } else {
            slot.link.advance(now);
        }
        slot.link.borrow_spare(&mut self.spare);
        let more = drive_at(
            &mut slot.link,
            &mut slot.transport,
            &mut self.rbuf,
            &mut slot.handler,
            now,
            edge,
        );
        slot.link.return_spare(&mut self.spare);
        if slot.link.is_done() {
            if let Some(old) = slot.timer {
                self.timers.remove(&(old, key));
            }
            slot.timer = FILED;
            // Dropping the socket removes it from the poll anyway; this
            // only fails if it was never registered.
            let _ = self.poll.registry().deregister(&mut slot.transport);
            // Left in place (see `finished`).
            self.finished.push(key);
        } else {
            file_deadline(&mut self.timers, &mut slot.timer, key, slot.link.deadline());
            if more {
                self.ready.push(key);
            }
        }
    }
}

/// The links that finished, from [`Reactor::drain_finished`]: each
/// leaves the loop as it is yielded.
///
/// An index into the loop's list rather than a `Vec::drain`: owners drain
/// after every turn, nearly always finding nothing, and dropping an empty
/// `Drain` (behind a loop over what is left) cost an echo about twenty
/// instructions where this costs a compare and a store.
pub struct Finished<'a, H> {
    slots: &'a mut Slab<Slot<H>>,
    keys: &'a mut Vec<usize>,
    /// How many of `keys` were looked at.
    taken: usize,
}

impl<H> Iterator for Finished<'_, H> {
    type Item = Slot<H>;

    #[inline]
    fn next(&mut self) -> Option<Slot<H>> {
        while let Some(&key) = self.keys.get(self.taken) {
            self.taken += 1;
            // Always there: a key is listed once and leaves the slab only
            // here.
            if let Some(slot) = self.slots.try_remove(key) {
                return Some(slot);
            }
        }
        None
    }
}

impl<H> Finished<'_, H> {
    /// Drops what was not yielded, closing its sockets, as a drained
    /// vector's rest would be.
    #[cold]
    #[inline(never)]
    fn drop_rest(&mut self) {
        for slot in self.by_ref() {
            drop(slot);
        }
    }
}

impl<H> Drop for Finished<'_, H> {
    #[inline]
    fn drop(&mut self) {
        if self.taken < self.keys.len() {
            self.drop_rest();
        }
        self.keys.clear();
    }
}

/// Files a link's deadline in a loop's timer set (key `key`, `timer` the
/// entry it has there), lazily: an earlier deadline replaces the entry, a
/// later one (or none) leaves it to fire early, and the link is ticked and
/// filed again then. Most messages move a deadline later (the write
/// timeout's restarts with every send), so this keeps the set untouched
/// per message; a spurious tick costs one turn of the link per deadline.
#[inline(always)]
pub fn file_deadline(
    timers: &mut BTreeSet<(u64, usize)>,
    timer: &mut Option<u64>,
    key: usize,
    deadline: Option<u64>,
) {
    let Some(at) = deadline else {
        return;
    };
    if timer.is_some_and(|t| t <= at) {
        return;
    }
    refile(timers, timer, key, at);
}

/// [`file_deadline`]'s rare part, out of line: the set is touched only
/// when a deadline comes earlier than the entry filed (the inlined check
/// alone, on every message, cost a call's prologue and epilogue besides).
#[cold]
#[inline(never)]
fn refile(timers: &mut BTreeSet<(u64, usize)>, timer: &mut Option<u64>, key: usize, at: u64) {
    if let Some(old) = timer.replace(at) {
        timers.remove(&(old, key));
    }
    timers.insert((at, key));
}

/// [`drive_at`] after [`Link::tick`], for tests that drive a link by hand.
#[cfg(test)]
pub fn drive<H: Handler, W: Wire>(
    link: &mut Link,
    transport: &mut W,
    rbuf: &mut [u8],
    handler: &mut H,
    now: u64,
) -> bool {
    link.tick(now);
    drive_at(link, transport, rbuf, handler, now, false)
}

/// Does all the work the transport allows now for a link whose clock is
/// at `now` ([`Link::tick`] or [`Link::advance`]): writes queued output,
/// reads and hands input to the link while it asks for it, and closes
/// when it says so. Call on every readiness event. True when it stopped
/// with input possibly left (fairness): drive again soon even without an
/// event.
///
/// A large echoed payload goes out from `rbuf` by vectored write (over
/// TLS, encrypted from there); what the transport does not take is copied
/// before `rbuf` is read into again.
///
/// `edge`: the link is driven for an edge-triggered readiness event that
/// carried no end of stream or error. Then a read shorter than `rbuf` on
/// a transport whose short reads drain it ([`Wire::short_read_drains`])
/// ends the turn without the read that would only say "would block" (a
/// system call per small echo): whatever arrives later, the peer's end
/// of stream too, raises a new edge. Not while a message is half in
/// ([`Link::mid_message`]): its rest is usually in flight, and the next
/// read takes it at once instead of a later turn (stopping there held a
/// gathered part per connection: 1,000 connections echoing 64 KiB went
/// from 4.4 to 25-35 MB). Without an edge (a link run again for
/// fairness, or by its timer) it reads until "would block".
pub fn drive_at<H: Handler, W: Wire>(
    link: &mut Link,
    transport: &mut W,
    rbuf: &mut [u8],
    handler: &mut H,
    now: u64,
    edge: bool,
) -> bool {
    let more = drive_io(link, transport, rbuf, handler, now, edge);
    link.settle(rbuf);
    more
}

fn drive_io<H: Handler, W: Wire>(
    link: &mut Link,
    transport: &mut W,
    rbuf: &mut [u8],
    handler: &mut H,
    now: u64,
    edge: bool,
) -> bool {
    let mut drained = false;
    let mut reads = 0;
    loop {
        // Most turns of this loop have nothing to write (the last read
        // found nothing, or the input was a partial frame).
        let to_write = link.output_len() > 0 || transport.queues();
        if to_write && !flush(link, transport, rbuf) {
            return false;
        }
        match link.step(now, !transport.has_pending()) {
            Step::Read => {}
            Step::Wait | Step::Done => return false, // writable events resume
            Step::ShutdownWrite => {
                // An error means the peer is gone; the next read says so.
                // After the peer's end of stream, over TLS, this sends our
                // close_notify after the peer's (TLS 1.2 requires it).
                let _ = transport.shutdown_write();
                continue;
            }
        }
        if drained {
            return false;
        }
        if reads == MAX_READS_PER_TURN {
            return true;
        }
        // Nothing may point into the read buffer while it is read into.
        link.settle(rbuf);
        match transport.read(rbuf) {
            Ok(0) => link.end_of_stream(now),
            Ok(n) => {
                reads += 1;
                link.received_borrowing(&mut rbuf[..n], handler);
                drained =
                    edge && n < rbuf.len() && transport.short_read_drains() && !link.mid_message();
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => link.io_failure(e),
        }
    }
}

/// Writes as much queued output as the transport takes (`rbuf` holds what
/// is queued by reference). False when the transport failed (the link is
/// then done).
#[inline(always)]
fn flush<W: Wire>(link: &mut Link, transport: &mut W, rbuf: &[u8]) -> bool {
    while link.output_len() > 0 {
        let wrote = if link.has_borrowed() {
            let (parts, n) = link.output_parts(rbuf);
            let slices = parts.map(IoSlice::new);
            transport.write_vectored(&slices[..n])
        } else {
            transport.write(link.output())
        };
        match wrote {
            Ok(0) => {
                link.io_failure(io::ErrorKind::WriteZero.into());
                return false;
            }
            Ok(n) => link.written(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                link.io_failure(e);
                return false;
            }
        }
    }
    // What the transport queued itself (TLS records) goes out too, even
    // when the link had nothing to write.
    if let Err(e) = transport.flush() {
        if e.kind() != io::ErrorKind::Interrupted {
            link.io_failure(e);
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::mem::size_of;
    use std::time::{Duration, Instant};

    use websock_core::{Config, Connection};

    use super::{file_deadline, Reactor, Slot};
    use crate::clock::Clock;
    use crate::echo::Echo;
    use crate::link::{Failure, Link};
    use crate::outbuf::OutBuf;
    use crate::transport::Transport;

    /// What a server keeps per connection in the loop, beyond the engine
    /// (whose size is the core's business): the slab holds one slot per
    /// connection, so every byte here is a KB per thousand connections.
    /// 296 = output queue 104 (its buffer, range, four 12-byte references
    /// and their total) + the link's own fields 136 (eleven words, the
    /// split-input buffer, the box of rare fields, a few flags) + the
    /// socket 16, the echo's gathering buffer 24 and the timer 16. Was 512
    /// (a 152-byte queue, 304 bytes of link fields).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_connection_slot_is_the_engine_and_under_300_bytes() {
        assert!(size_of::<OutBuf>() <= 104, "{}", size_of::<OutBuf>());
        let slot = size_of::<Slot<Echo>>();
        let engine = size_of::<Connection>();
        assert!(slot <= engine + 296, "slot {slot}, engine {engine}");
    }

    /// Links that finish in a turn (here by a timer: the handshake
    /// timeout, then the linger after our shutdown, the peers holding
    /// their sockets open) leave the live set at once and are handed over
    /// by `drain_finished` once each; a drain dropped early drops the rest.
    #[test]
    fn finished_links_are_handed_over_once_each() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut reactor = Reactor::new(Clock::new()).unwrap();
        let config = Config {
            handshake_timeout_ms: 1,
            ..Config::new()
        };
        let mut peers = Vec::new();
        for _ in 0..3 {
            peers.push(std::net::TcpStream::connect(addr).unwrap());
            let (socket, _) = listener.accept().unwrap();
            socket.set_nonblocking(true).unwrap();
            let transport = Transport::Plain(mio::net::TcpStream::from_std(socket));
            let link = Link::server(config, reactor.now());
            reactor.insert(link, transport, Echo::default()).unwrap();
        }
        let keys = reactor.keys();
        assert_eq!(keys.len(), 3);
        let start = Instant::now();
        while !reactor.is_empty() {
            assert!(start.elapsed() < Duration::from_secs(10), "no end");
            reactor.turn(Some(Duration::from_millis(20))).unwrap();
        }
        assert!(reactor.keys().is_empty() && reactor.slots().next().is_none());
        assert!(keys.iter().all(|&k| reactor.get_mut(k).is_none()));
        let mut drain = reactor.drain_finished();
        let first = drain.next().expect("a finished link");
        assert!(first.link.is_done() && !first.link.was_open());
        assert!(matches!(first.link.failure(), Some(Failure::TimedOut(_))));
        drop(drain);
        assert_eq!(reactor.drain_finished().count(), 0, "the rest was dropped");
        assert!(reactor.slots.is_empty());
        drop(peers);
    }

    /// The timer set holds at most one entry per link, never later than
    /// the link's deadline, and is left alone when the deadline moves
    /// later or goes away.
    #[test]
    fn deadlines_are_filed_early_and_lazily() {
        let mut timers = BTreeSet::new();
        let mut timer = None;
        file_deadline(&mut timers, &mut timer, 7, None);
        assert!(timers.is_empty());
        file_deadline(&mut timers, &mut timer, 7, Some(500));
        assert_eq!(
            (timer, timers.iter().copied().collect::<Vec<_>>()),
            (Some(500), vec![(500, 7)])
        );
        // Later, or none: the early entry stays (it fires, the link is
        // ticked and filed again).
        file_deadline(&mut timers, &mut timer, 7, Some(900));
        file_deadline(&mut timers, &mut timer, 7, None);
        assert_eq!(
            (timer, timers.iter().copied().collect::<Vec<_>>()),
            (Some(500), vec![(500, 7)])
        );
        // Earlier: replaces it.
        file_deadline(&mut timers, &mut timer, 7, Some(300));
        assert_eq!(
            (timer, timers.iter().copied().collect::<Vec<_>>()),
            (Some(300), vec![(300, 7)])
        );
        // Another link's entry is its own.
        let mut other = None;
        file_deadline(&mut timers, &mut other, 8, Some(300));
        assert_eq!(timers.len(), 2);
    }
}
