//! The io_uring backend (Linux): drives [`Link`]s over plain TCP with one
//! multishot receive per connection into a ring of buffers the loop
//! provides (one set per loop, none per connection), and sends queued in
//! the ring, so that one `io_uring_enter` submits every connection's sends
//! and collects every connection's input of a turn: fewer system calls
//! than one read and one write per message.
//!
//! An echoed payload of 4 KiB or more goes back from the receive buffer it
//! arrived in: the buffer is held by the send (header and payload in one
//! `sendmsg`) and goes back to the ring when the send completes, so the
//! payload is never copied and a connection holds no memory of its own
//! for it. At most half the ring is held so; a send the socket takes only
//! in part copies the rest out and lets its buffer go.
//!
//! A connection whose data frames are large (see [`LARGE_REST`]) moves to
//! the epoll loop at the first such frame ([`Ring::move_to_epoll`]): there
//! a message is read whole into one buffer and written back from it at
//! once, while here it took three completions a turn apart and a buffer
//! of its own.
//!
//! Everything else (listeners, the stop signal, TLS connections, whose
//! records need a readable/writable socket) stays in an epoll
//! [`Reactor`], whose poll descriptor this loop watches from its ring; so
//! the owner keeps one loop to turn and the epoll backend keeps serving
//! what it served before.

use std::collections::BTreeSet;
use std::io;
use std::mem::MaybeUninit;
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring};
use slab::Slab;

use crate::clock::Clock;
use crate::link::{Handler, Link, Step};
use crate::log;
use crate::outbuf::{OutBuf, MAX_PARTS};
use crate::reactor::{file_deadline, Reactor};
use crate::transport::Transport;

mod buffers;
mod pool;

use buffers::{Buffers, BUFFERS, GROUP};
use pool::Pool;

/// Submission queue entries (the completion queue gets eight times as
/// many: every connection's receive and send may complete in one turn).
/// The kernel maps both queues into the process and goes round them, so
/// they are resident whole: 1,024 entries cost 200 KB at 1,000
/// connections, 256 about 50. Neither bounds a turn: a full submission
/// queue is submitted and refilled ([`push`]), and completions past a
/// full completion queue are kept by the kernel until there is room. A
/// small echo submits one entry, its send, and one turn took at most 41
/// receives.
const ENTRIES: u32 = 256;
/// At most this many buffers are held by sends at once; past it echoed
/// payloads are copied, so that receives always find buffers.
const HOLD_MAX: usize = BUFFERS as usize / 2;
/// A data frame with at least this much payload still to come after the
/// input fed to the link is large: its connection moves to the epoll loop
/// (see [`Ring::move_to_epoll`]).
const LARGE_REST: usize = 8 * 1024;
/// Completions copied out of the queue at a time.
const BATCH: usize = 256;
const ENOBUFS: i32 = 105;
const ECANCELED: i32 = 125;
const ETIME: i32 = 62;
const EINTR: i32 = 4;
const EBUSY: i32 = 16;

/// What a completion is for: the low byte of its user data (the rest is
/// the connection's key).
const OP_RECV: u64 = 1;
const OP_SEND: u64 = 2;
/// The epoll loop's descriptor became readable.
const OP_EPOLL: u64 = 3;
/// Cancellations complete too; nothing waits for them.
const OP_IGNORE: u64 = 4;

fn user_data(key: usize, op: u64) -> u64 {
    ((key as u64) << 8) | op
}

/// Whether io_uring is available here, with everything this backend
/// needs (multishot receive into a provided buffer ring: Linux 6.0); the
/// error says why not.
pub fn probe() -> io::Result<()> {
    Ring::<crate::echo::Echo>::new(Clock::new()).map(drop)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recv {
    Idle,
    Armed,
    Cancelling,
}

/// A connection's send: while one is in flight (`live`), the link's
/// output handed over whole, and the receive buffer its references point
/// into, held until the send completes. Kept in the connection between
/// sends (empty, its memory back in the pool), so that starting one
/// moves only the queue's fields in use.
#[derive(Default)]
struct Sending {
    live: bool,
    out: OutBuf,
    bid: Option<u16>,
}

/// A vectored send's description. Boxed: the kernel reads it after the
/// submission, and connections move when the slab grows.
struct Vectored {
    iov: [libc::iovec; MAX_PARTS],
    msg: libc::msghdr,
}

impl Vectored {
    fn new() -> Box<Vectored> {
        Box::new(Vectored {
            iov: [libc::iovec {
                iov_base: std::ptr::null_mut(),
                iov_len: 0,
            }; MAX_PARTS],
            // SAFETY: msghdr is plain data (pointers and integers), for
            // which all zeros is a valid value: no name, no control data.
            msg: unsafe { std::mem::zeroed() },
        })
    }
}

struct Conn<H> {
    link: Link,
    socket: TcpStream,
    handler: H,
    timer: Option<u64>,
    recv: Recv,
    sending: Sending,
    /// Where vectored sends are described (allocated on the first).
    vectored: Option<Box<Vectored>>,
    /// A send is being cancelled (the link finished with it in flight).
    send_cancelled: bool,
    /// Input that arrived while the link could not take it (it is waiting
    /// for its output to drain); fed to it first when it can.
    held: Vec<u8>,
    /// A large frame began (see [`LARGE_REST`]): no receive is armed any
    /// more, and the connection moves to the epoll loop when it can. (Kept,
    /// as the multishot receive stopped for it may take the frame's rest
    /// before it ends.)
    large: bool,
    /// Waits in [`Ring::moving`] to be handed to the epoll loop.
    moving: bool,
}

/// The io_uring loop over plain TCP links.
pub struct Ring<H> {
    // Dropped before `buffers`: the kernel lets go of the buffer ring
    // when the io_uring instance closes.
    ring: IoUring,
    buffers: Buffers,
    conns: Slab<Conn<H>>,
    /// (deadline, key): the earliest first.
    timers: BTreeSet<(u64, usize)>,
    /// Output buffers for reuse.
    pool: Pool,
    /// Receive buffers held by sends.
    held: usize,
    /// Connections that receive large frames, to be handed to the epoll
    /// loop at the end of the turn (see [`Ring::move_to_epoll`]).
    moving: Vec<usize>,
    /// The epoll loop's descriptor is watched (a one-shot poll is armed).
    epoll_armed: bool,
    clock: Clock,
    /// The clock read once per turn: a turn is microseconds, deadlines
    /// are milliseconds.
    now: u64,
}

impl<H: Handler> Ring<H> {
    /// A loop with its buffer ring registered; fails where io_uring is
    /// refused or too old.
    pub fn new(clock: Clock) -> io::Result<Self> {
        let ring = IoUring::builder()
            .setup_cqsize(ENTRIES * 8)
            .setup_single_issuer()
            .setup_defer_taskrun()
            .build(ENTRIES)
            .or_else(|_| IoUring::builder().setup_cqsize(ENTRIES * 8).build(ENTRIES))?;
        let buffers = Buffers::new()?;
        // SAFETY: the ring memory lives as long as `buffers`, which
        // outlives `ring` (field order).
        unsafe {
            ring.submitter()
                .register_buf_ring_with_flags(buffers.ring as u64, BUFFERS, GROUP, 0)?
        };
        let mut probe = io_uring::Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        if !probe.is_supported(opcode::RecvMulti::CODE) || !ring.params().is_feature_ext_arg() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "io_uring lacks multishot receive or timed waits",
            ));
        }
        Ok(Ring {
            ring,
            buffers,
            conns: Slab::new(),
            timers: BTreeSet::new(),
            pool: Pool::default(),
            held: 0,
            moving: Vec::new(),
            epoll_armed: false,
            clock,
            now: 0,
        })
    }

    /// Whether no link is live.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Keys of the live links.
    pub fn keys(&self) -> Vec<usize> {
        self.conns.iter().map(|(k, _)| k).collect()
    }

    /// Adds a link on a connected, non-blocking socket and starts it.
    pub fn insert(&mut self, link: Link, socket: TcpStream, handler: H) -> io::Result<usize> {
        self.now = self.clock.now_ms();
        let key = self.conns.insert(Conn {
            link,
            socket,
            handler,
            timer: None,
            recv: Recv::Idle,
            sending: Sending::default(),
            vectored: None,
            send_cancelled: false,
            held: Vec::new(),
            large: false,
            moving: false,
        });
        self.run(key, None)?;
        Ok(key)
    }

    /// Lets the owner act on a link itself (e.g. [`Link::go_away`]), then
    /// queues what it wrote.
    pub fn with_link<R>(
        &mut self,
        key: usize,
        f: impl FnOnce(&mut Link, &mut H) -> R,
    ) -> io::Result<Option<R>> {
        self.now = self.clock.now_ms();
        let Some(conn) = self.conns.get_mut(key) else {
            return Ok(None);
        };
        let r = f(&mut conn.link, &mut conn.handler);
        self.run(key, None)?;
        Ok(Some(r))
    }

    /// Waits for completions, readiness of `reactor`'s poll, or the next
    /// deadline of either loop (at most `cap`); drives what is due in both
    /// and returns the bit set of the owner's tokens that fired in
    /// `reactor` (see [`Reactor::turn`]).
    pub fn turn(&mut self, reactor: &mut Reactor<H>, cap: Option<Duration>) -> io::Result<u64> {
        if !self.epoll_armed {
            let fd = reactor.registry().as_raw_fd();
            let poll = opcode::PollAdd::new(types::Fd(fd), 0x001 /* POLLIN */)
                .build()
                .user_data(OP_EPOLL);
            push(&mut self.ring, &poll)?;
            self.epoll_armed = true;
        }
        let now = self.clock.now_ms();
        let wake = [self.timers.first().map(|&(at, _)| at), reactor.next_wake()]
            .into_iter()
            .flatten()
            .min();
        let mut timeout = wake.map(|at| Duration::from_millis(at.saturating_sub(now)));
        if let Some(cap) = cap {
            timeout = Some(timeout.map_or(cap, |t| t.min(cap)));
        }
        let waited = match timeout {
            Some(t) => {
                let ts = types::Timespec::from(t);
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            }
            None => self.ring.submit_and_wait(1),
        };
        match waited {
            Ok(_) => {}
            Err(e) if matches!(e.raw_os_error(), Some(ETIME | EINTR | EBUSY)) => {}
            Err(e) => return Err(e),
        }
        let mut epoll_ready = false;
        self.now = self.clock.now_ms();
        // Copied out in batches on the stack (handling one submits, which
        // needs the ring): a vector filled from the queue's iterator cost
        // about ten instructions more per completion.
        let mut batch = [const { MaybeUninit::<cqueue::Entry>::uninit() }; BATCH];
        loop {
            let completions = self.ring.completion().fill(&mut batch);
            if completions.is_empty() {
                break;
            }
            for c in completions.iter() {
                let (data, result, flags) = (c.user_data(), c.result(), c.flags());
                match data & 0xff {
                    OP_EPOLL => {
                        self.epoll_armed = false;
                        epoll_ready = true;
                    }
                    OP_RECV => self.received((data >> 8) as usize, result, flags)?,
                    OP_SEND => self.sent((data >> 8) as usize, result)?,
                    _ => {}
                }
            }
            // Buffers go back to the kernel once per batch.
            self.buffers.publish();
        }
        let now = self.now;
        while let Some(&(at, key)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(conn) = self.conns.get_mut(key) {
                conn.timer = None;
                conn.link.tick(now);
                self.run(key, None)?;
            }
        }
        if !self.moving.is_empty() {
            self.move_to_epoll(reactor);
        }
        let reactor_due = reactor.next_wake().is_some_and(|at| at <= now);
        if epoll_ready || reactor_due {
            return reactor.turn(Some(Duration::ZERO));
        }
        Ok(0)
    }

    fn received(&mut self, key: usize, result: i32, flags: u32) -> io::Result<()> {
        let bid = cqueue::buffer_select(flags);
        if bid.is_some() {
            self.buffers.taken();
        }
        let more = cqueue::more(flags);
        let now = self.now;
        let Some(conn) = self.conns.get_mut(key) else {
            if let Some(bid) = bid {
                self.buffers.give_back(bid);
            }
            return Ok(());
        };
        if !more {
            conn.recv = Recv::Idle;
        }
        match (result, bid) {
            (n, Some(bid)) if n > 0 => {
                // SAFETY: the buffer came with this completion and is
                // given back below, after the last use of the slice.
                let data = unsafe { self.buffers.get(bid, n as usize) };
                let lend = (self.held < HOLD_MAX).then_some(bid);
                let mut r = run_conn(conn, &mut self.pool, now, Some(data), lend);
                if r.hold {
                    self.held += 1;
                } else {
                    self.buffers.give_back(bid);
                }
                // A large frame began: the multishot receive is stopped,
                // and the connection moves once it has ended.
                conn.large |= conn.link.gather_want() >= LARGE_REST;
                if conn.large && conn.recv == Recv::Armed {
                    conn.recv = Recv::Cancelling;
                    r.cancel_recv = true;
                }
                return self.after_run(key, r);
            }
            (0, _) => conn.link.end_of_stream(now),
            // The ring ran dry (buffers come back at the end of this
            // batch, more of them from now on) or we cancelled: `run`
            // re-arms if the link reads.
            (ENOBUFS_NEG, _) => self.buffers.ran_dry(),
            (ECANCELED_NEG, _) => {}
            (n, _) if n < 0 => conn.link.io_failure(io::Error::from_raw_os_error(-n)),
            _ => {}
        }
        if let Some(bid) = bid {
            self.buffers.give_back(bid);
        }
        self.run(key, None)
    }

    fn sent(&mut self, key: usize, result: i32) -> io::Result<()> {
        let Some(conn) = self.conns.get_mut(key) else {
            return Ok(());
        };
        let sending = &mut conn.sending;
        if !sending.live {
            return Ok(());
        }
        if result < 0 {
            if !conn.send_cancelled {
                conn.link.io_failure(io::Error::from_raw_os_error(-result));
            }
        } else if result == 0 && !sending.out.is_empty() {
            conn.link.io_failure(io::ErrorKind::WriteZero.into());
        } else {
            let sent = result as usize;
            conn.link.written_elsewhere(sent);
            // The common case, all of it: the queue is released below
            // without being consumed first.
            if sent < sending.out.len() && !conn.link.is_done() {
                sending.out.consume(sent);
                // A partial send: the rest goes first, before anything
                // queued since. A payload still in a receive buffer is
                // copied out, so that a peer slow to read holds none of
                // the loop's buffers.
                if let Some(bid) = sending.bid.take() {
                    // SAFETY: held by this send until here.
                    sending.out.settle(unsafe { self.buffers.held(bid) });
                    self.buffers.give_back(bid);
                    self.held -= 1;
                }
                let entry = send_entry(key, conn, &self.buffers);
                push(&mut self.ring, &entry)?;
                return Ok(());
            }
        }
        conn.send_cancelled = false;
        if let Some(bid) = sending.bid.take() {
            self.buffers.give_back(bid);
            self.held -= 1;
        }
        self.pool.give(sending.out.release());
        sending.live = false;
        // The common case: the echo is out and the link only waits for
        // input, which its armed receive brings. Driving it would change
        // nothing (nor its deadline) and cost a third of a small echo.
        if conn.recv == Recv::Armed && conn.held.is_empty() && conn.link.only_reads() {
            return Ok(());
        }
        self.run(key, None)
    }

    /// Drives one link as far as it goes now, then files it.
    fn run(&mut self, key: usize, data: Option<&mut [u8]>) -> io::Result<()> {
        let now = self.now;
        let Some(conn) = self.conns.get_mut(key) else {
            return Ok(());
        };
        let r = run_conn(conn, &mut self.pool, now, data, None);
        self.after_run(key, r)
    }

    /// The rarer submissions after a run: a receive to arm, or
    /// cancellations (out of line, so that an echo's path stays short).
    #[inline(never)]
    fn arm_or_cancel(&mut self, key: usize, wants: &Wants) -> io::Result<()> {
        if wants.recv {
            if let Some(conn) = self.conns.get_mut(key) {
                conn.recv = Recv::Armed;
                let entry = recv_entry(key, conn);
                push(&mut self.ring, &entry)?;
            }
        }
        for (wanted, op) in [(wants.cancel_recv, OP_RECV), (wants.cancel_send, OP_SEND)] {
            if wanted {
                let entry = opcode::AsyncCancel::new(user_data(key, op))
                    .build()
                    .user_data(OP_IGNORE);
                push(&mut self.ring, &entry)?;
            }
        }
        Ok(())
    }

    /// Hands the connections that receive large frames (see
    /// [`LARGE_REST`]) to the epoll loop, where a message is read whole
    /// into the loop's one read buffer, unmasked and written back from
    /// there at once, while it is in the cache. Here it came in three
    /// completions (the frame's start, its rest straight into a buffer of
    /// the connection's own, the send; that receive path is gone), each a
    /// turn apart with other connections' messages in between, and every
    /// message in flight held a 64 KiB buffer. Only the system calls io_uring saves are lost,
    /// which at that size are a few percent. Such a connection stays
    /// there.
    #[cold]
    fn move_to_epoll(&mut self, reactor: &mut Reactor<H>) {
        for key in std::mem::take(&mut self.moving) {
            // (A key whose connection ended since may have been taken by a
            // new one, which did not ask to move.)
            let Some(conn) = self.conns.get_mut(key).filter(|c| c.moving) else {
                continue;
            };
            conn.moving = false;
            // Something started since (a send or a receive), or it
            // finished: it stays, and comes back here when a completion
            // leaves it reading again.
            if conn.recv != Recv::Idle
                || conn.sending.live
                || conn.send_cancelled
                || !conn.held.is_empty()
                || conn.link.is_done()
            {
                continue;
            }
            let conn = self.conns.remove(key);
            if let Some(at) = conn.timer {
                self.timers.remove(&(at, key));
            }
            let socket = Transport::Plain(mio::net::TcpStream::from_std(conn.socket));
            if let Err(e) = reactor.insert(conn.link, socket, conn.handler) {
                // Dropped: the socket closes and the peer sees it go.
                log::trouble(format_args!("a connection could not move to epoll: {e}"));
            }
        }
    }

    fn after_run(&mut self, key: usize, mut wants: Wants) -> io::Result<()> {
        let Some(conn) = self.conns.get_mut(key) else {
            return Ok(());
        };
        // (Input held back is fed before a link asks to read, so it holds
        // none here; `large` may be unset when that input began the frame.)
        if wants.recv && (conn.large || conn.link.gather_want() >= LARGE_REST) {
            // No receive is armed; once no send is in flight (its
            // completion runs the link again) the connection moves to the
            // epoll loop, which reads the rest.
            conn.large = true;
            wants.recv = false;
            if !conn.sending.live && !conn.moving {
                conn.moving = true;
                self.moving.push(key);
            }
        }
        // Each entry is pushed as soon as it is built: gathering the four
        // as options in an array first copied about 300 bytes per echo.
        if wants.send {
            let entry = send_entry(key, conn, &self.buffers);
            push(&mut self.ring, &entry)?;
        }
        if wants.recv || wants.cancel_recv || wants.cancel_send {
            self.arm_or_cancel(key, &wants)?;
        }
        let Some(conn) = self.conns.get_mut(key) else {
            return Ok(());
        };
        if !conn.link.is_done() {
            file_deadline(&mut self.timers, &mut conn.timer, key, conn.link.deadline());
            return Ok(());
        }
        if let Some(old) = conn.timer.take() {
            self.timers.remove(&(old, key));
        }
        // Freed only when the kernel holds nothing of it any more.
        if conn.recv == Recv::Idle && !conn.sending.live {
            let conn = self.conns.remove(key);
            drop(conn);
        }
        Ok(())
    }
}

/// Queues a submission, making room by submitting when the queue is full.
/// (A function of the ring alone, so that a connection borrowed from the
/// slab can build its entry and push it in one go.)
fn push(ring: &mut IoUring, entry: &squeue::Entry) -> io::Result<()> {
    loop {
        // SAFETY: every buffer an entry points to (send buffers, the
        // buffer ring) stays alive and unmoved until its completion: send
        // buffers live in their `Conn`'s `sending` and a `Conn` is removed
        // only once nothing of it is in flight.
        if unsafe { ring.submission().push(entry) }.is_ok() {
            return Ok(());
        }
        ring.submit()?;
    }
}

const ENOBUFS_NEG: i32 = -ENOBUFS;
const ECANCELED_NEG: i32 = -ECANCELED;

/// What a connection needs submitted after [`run_conn`].
#[derive(Default)]
struct Wants {
    send: bool,
    /// The send holds the receive buffer the input came in.
    hold: bool,
    recv: bool,
    cancel_recv: bool,
    cancel_send: bool,
}

/// The receive to arm for a link that reads: a multishot receive into the
/// ring's buffers.
// Out of line: with small messages a multishot receive is armed once,
// and this inlined into every echo's `after_run` cost about 20 Ir each.
#[inline(never)]
fn recv_entry<H>(key: usize, conn: &Conn<H>) -> squeue::Entry {
    opcode::RecvMulti::new(types::Fd(conn.socket.as_raw_fd()), GROUP)
        .build()
        .user_data(user_data(key, OP_RECV))
}

// Inlined into the echo's path (`after_run`): the call's own cost was a
// third of building the entry.
#[inline(always)]
fn send_entry<H>(key: usize, conn: &mut Conn<H>, buffers: &Buffers) -> squeue::Entry {
    let Conn {
        sending,
        vectored,
        socket,
        ..
    } = conn;
    debug_assert!(sending.live, "send_entry is called with a send in flight");
    let fd = types::Fd(socket.as_raw_fd());
    let Some(bid) = sending.bid else {
        debug_assert!(!sending.out.has_refs(), "references without their buffer");
        let bytes = sending.out.pending();
        return opcode::Send::new(
            fd,
            bytes.as_ptr(),
            u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        )
        // No SIGPIPE for a send to a reset connection: EPIPE instead.
        .flags(libc::MSG_NOSIGNAL)
        .build()
        .user_data(user_data(key, OP_SEND));
    };
    // SAFETY: the buffer is held by this send until it completes.
    let read = unsafe { buffers.held(bid) };
    let (parts, n) = sending.out.parts(read);
    let v = vectored.get_or_insert_with(Vectored::new);
    for (iov, part) in v.iov.iter_mut().zip(&parts[..n]) {
        *iov = libc::iovec {
            iov_base: part.as_ptr() as *mut libc::c_void,
            iov_len: part.len(),
        };
    }
    v.msg.msg_iov = v.iov.as_mut_ptr();
    v.msg.msg_iovlen = n as _;
    opcode::SendMsg::new(fd, &v.msg)
        .flags(libc::MSG_NOSIGNAL as u32)
        .build()
        .user_data(user_data(key, OP_SEND))
}

/// The io_uring counterpart of [`crate::reactor::drive_at`]: hands `data`
/// (and input held earlier) to the link while it reads, starts a send of
/// its output when none is in flight, and says what to submit.
///
/// `bid` is the receive buffer `data` is in, when a send may hold it: a
/// large payload echoed from `data` then goes out from there (only when
/// no send is in flight, so that the send starts in this call).
fn run_conn<H: Handler>(
    conn: &mut Conn<H>,
    pool: &mut Pool,
    now: u64,
    mut data: Option<&mut [u8]>,
    bid: Option<u16>,
) -> Wants {
    let mut wants = Wants::default();
    let mut fed = false;
    // The timer filed for the link is never later than its deadline.
    if conn.timer.is_some_and(|at| now >= at) {
        conn.link.tick(now);
    } else {
        conn.link.advance(now);
    }
    loop {
        if !conn.sending.live && conn.link.output_len() > 0 && !conn.link.is_done() {
            // The link goes on with no memory of its own (the send's was
            // given back to the pool); one is lent when it next takes
            // input.
            let sending = &mut conn.sending;
            conn.link.hand_output(&mut sending.out);
            // References can only point into this call's `data`.
            sending.bid = if sending.out.has_refs() { bid } else { None };
            sending.live = true;
            wants.hold = sending.bid.is_some();
            wants.send = true;
        }
        match conn.link.step(now, !conn.sending.live) {
            Step::Read => {
                if !conn.held.is_empty() {
                    pool.lend(&mut conn.link);
                    let mut held = std::mem::take(&mut conn.held);
                    conn.link.received(&mut held, &mut conn.handler);
                    continue;
                }
                if let Some(data) = data.as_deref_mut().filter(|_| !fed) {
                    fed = true;
                    pool.lend(&mut conn.link);
                    if bid.is_some() && !conn.sending.live {
                        conn.link.received_borrowing(data, &mut conn.handler);
                    } else {
                        conn.link.received(data, &mut conn.handler);
                    }
                    continue;
                }
                if conn.recv == Recv::Idle {
                    wants.recv = true;
                }
                break;
            }
            Step::Wait => {
                // Backpressure: stop the receive; what is in flight
                // already is held below.
                if conn.recv == Recv::Armed {
                    conn.recv = Recv::Cancelling;
                    wants.cancel_recv = true;
                }
                break;
            }
            Step::ShutdownWrite => {
                // An error means the peer is gone; the receive says so.
                let _ = conn.socket.shutdown(Shutdown::Write);
            }
            Step::Done => break,
        }
    }
    if let Some(data) = data {
        if !fed && !conn.link.is_done() {
            conn.held.extend_from_slice(data);
        }
        // Output that did not go into a send (the link finished) must not
        // point into a buffer that goes back to the ring.
        conn.link.settle(data);
    }
    pool.reclaim(&mut conn.link);
    if conn.link.is_done() {
        if conn.recv == Recv::Armed {
            conn.recv = Recv::Cancelling;
            wants.cancel_recv = true;
        }
        if conn.sending.live && !conn.send_cancelled && !wants.send {
            conn.send_cancelled = true;
            wants.cancel_send = true;
        }
    }
    wants
}

#[cfg(test)]
mod tests;
