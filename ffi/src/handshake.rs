//! The opening handshake (RFC 6455 section 4): a server accepts the
//! client's upgrade request; a client writes its request and checks the
//! server's 101.

use core::ffi::{c_char, c_void};
use core::ptr;

use websock_core::{Accept, Error, HandshakeError};

use crate::conn::{self, Conn};
use crate::raw::{self, Region};
use crate::status::{status, Status};

/// The most subprotocols a call may list.
pub const WEBSOCK_MAX_PROTOCOLS: usize = 16;

/// A string argument: `len` bytes of UTF-8 at `ptr`, not NUL-terminated
/// (`ptr` may be NULL when `len` is 0). Read during the call only.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Str {
    /// The first byte.
    pub ptr: *const c_char,
    /// The number of bytes.
    pub len: usize,
}

/// What `websock_accept` learnt from the client's request. The pointers
/// point into the caller's `input` buffer: they stay valid as long as
/// those bytes stay in place, unchanged.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// Bytes of `input` that were the request. Any bytes after them are
    /// already WebSocket frames: pass them to `websock_receive`.
    pub consumed: usize,
    /// Bytes written to `out`: the 101 response on success, the HTTP error
    /// response on a handshake error (write it, then close the transport),
    /// or, with `WEBSOCK_STATUS_BUFFER_TOO_SMALL`, the size `out` needs.
    /// On success with permessage-deflate configured, check
    /// `websock_compression_active` to learn whether it was agreed.
    pub written: usize,
    /// Index into `protocols` of the subprotocol chosen (the first of the
    /// server's list that the client offered), or -1 for none.
    pub protocol: i32,
    /// The request target, e.g. "/chat?room=1" (`path_len` bytes).
    pub path: *const c_char,
    /// Bytes at `path`.
    pub path_len: usize,
    /// The Host header's value (`host_len` bytes).
    pub host: *const c_char,
    /// Bytes at `host`.
    pub host_len: usize,
    /// The Origin header's value, or NULL when the request had none.
    pub origin: *const c_char,
    /// Bytes at `origin`.
    pub origin_len: usize,
}

impl Request {
    const EMPTY: Request = Request {
        consumed: 0,
        written: 0,
        protocol: -1,
        path: ptr::null(),
        path_len: 0,
        host: ptr::null(),
        host_len: 0,
        origin: ptr::null(),
        origin_len: 0,
    };
}

/// What `websock_client_response` learnt from the server's response. The
/// pointer points into the caller's `input` buffer: valid as long as those
/// bytes stay in place, unchanged.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Response {
    /// Bytes of `input` that were the response. Any bytes after them are
    /// already WebSocket frames: pass them to `websock_receive`.
    pub consumed: usize,
    /// The HTTP status: 101 on success, the server's status with
    /// `WEBSOCK_STATUS_HANDSHAKE_STATUS`, 0 when not known.
    pub http_status: u16,
    /// Index into `protocols` of the subprotocol the server chose, or -1.
    pub protocol: i32,
    /// The Sec-WebSocket-Extensions value, or NULL when absent.
    pub extensions: *const c_char,
    /// Bytes at `extensions`.
    pub extensions_len: usize,
}

impl Response {
    const EMPTY: Response = Response {
        consumed: 0,
        http_status: 0,
        protocol: -1,
        extensions: ptr::null(),
        extensions_len: 0,
    };
}

/// The caller's subprotocol list, borrowed as `&str`s, plus the memory it
/// covers (for the overlap check against output buffers).
struct Protocols<'a> {
    names: [&'a str; WEBSOCK_MAX_PROTOCOLS],
    regions: [Region; WEBSOCK_MAX_PROTOCOLS + 1],
    count: usize,
}

impl<'a> Protocols<'a> {
    /// # Safety
    /// Unless `count` is 0, `list` must point to `count` readable `Str`s,
    /// each pointing to `len` readable bytes, none written during `'a`.
    unsafe fn new(list: *const Str, count: usize) -> Result<Self, Status> {
        if count > WEBSOCK_MAX_PROTOCOLS {
            return Err(Status::InvalidArgument);
        }
        // SAFETY: forwarded from this function's contract.
        let list = unsafe { raw::array(list, count) }?;
        let mut p = Protocols {
            names: [""; WEBSOCK_MAX_PROTOCOLS],
            regions: [Region::new(ptr::null::<u8>(), 0); WEBSOCK_MAX_PROTOCOLS + 1],
            count,
        };
        p.regions[0] = Region::new(list.as_ptr(), core::mem::size_of_val(list));
        for ((name, region), s) in p.names.iter_mut().zip(&mut p.regions[1..]).zip(list) {
            // SAFETY: forwarded from this function's contract.
            *name = unsafe { raw::text(s.ptr, s.len) }?;
            *region = Region::new(s.ptr, s.len);
        }
        Ok(p)
    }

    fn names(&self) -> &[&'a str] {
        self.names.get(..self.count).unwrap_or(&[])
    }

    /// Refuses the call if memory it writes overlaps any of the strings or
    /// the list.
    fn apart_from(&self, written: &[Region]) -> Result<(), Status> {
        let used = self.regions.get(..=self.count).unwrap_or(&self.regions);
        if used.iter().any(|r| written.iter().any(|w| r.overlaps(*w))) {
            return Err(Status::InvalidArgument);
        }
        Ok(())
    }
}

fn index(i: Option<usize>) -> i32 {
    i.and_then(|i| i32::try_from(i).ok()).unwrap_or(-1)
}

/// Server: checks the client's upgrade request at the start of `input`
/// and writes the answer into `out`. Returns `WEBSOCK_STATUS_OK` (open:
/// write `request->written` bytes, then handle the bytes after
/// `request->consumed` as frames), `WEBSOCK_STATUS_INCOMPLETE` (read more
/// and call again with all bytes so far), a `WEBSOCK_STATUS_HANDSHAKE_*`
/// error (write the `request->written` bytes of HTTP error response, none
/// if `out` was too small for it, then close the transport), or
/// `WEBSOCK_STATUS_BUFFER_TOO_SMALL` (call again with an `out` of at least
/// `request->written` bytes; 320 plus the longest subprotocol name always
/// suffice, permessage-deflate's answer included).
///
/// `protocols` lists the `protocol_count` subprotocols the server speaks,
/// preferred first (NULL when 0; at most `WEBSOCK_MAX_PROTOCOLS`); they are
/// read during the call only.
///
/// # Safety
/// `conn` must be an initialised connection; `input` must point to
/// `input_len` readable bytes and `out` to `out_cap` writable ones (either
/// may be NULL when its length is 0); `request` must point to a writable
/// `websock_request`. No argument may overlap another.
#[no_mangle]
pub unsafe extern "C" fn websock_accept(
    conn: *mut Conn,
    input: *const c_void,
    input_len: usize,
    protocols: *const Str,
    protocol_count: usize,
    out: *mut c_void,
    out_cap: usize,
    request: *mut Request,
) -> Status {
    let result = (|| {
        let out_region = Region::new(out, out_cap);
        raw::disjoint(&[
            conn::region(conn),
            Region::new(input, input_len),
            out_region,
            Region::of(request),
        ])?;
        // SAFETY: the caller promises `request` is writable.
        unsafe { raw::put(request, Request::EMPTY) }?;
        // SAFETY: the caller promises the list and its strings are readable.
        let protocols = unsafe { Protocols::new(protocols, protocol_count) }?;
        protocols.apart_from(&[conn::region(conn), out_region, Region::of(request)])?;
        // SAFETY: the caller's promises about each argument, and none of
        // the memory borrowed mutably overlaps another argument (checked).
        let (engine, input, out) = unsafe {
            (
                conn::engine(conn)?,
                raw::bytes(input, input_len)?,
                raw::bytes_mut(out, out_cap)?,
            )
        };
        let mut answer = Request::EMPTY;
        let outcome = match engine.accept(input, protocols.names(), out) {
            Ok(Accept::Incomplete) => Status::Incomplete,
            Ok(Accept::Accepted { request, written }) => {
                answer = Request {
                    consumed: request.len,
                    written,
                    protocol: index(request.protocol),
                    path: request.path.as_ptr().cast(),
                    path_len: request.path.len(),
                    host: request.host.as_ptr().cast(),
                    host_len: request.host.len(),
                    origin: request.origin.map_or(ptr::null(), |o| o.as_ptr().cast()),
                    origin_len: request.origin.map_or(0, <[u8]>::len),
                };
                Status::Ok
            }
            Ok(Accept::Rejected { error, written }) => {
                answer.written = written;
                error.into()
            }
            Err(Error::BufferTooSmall { needed }) => {
                answer.written = needed;
                Status::BufferTooSmall
            }
            Err(e) => e.into(),
        };
        // SAFETY: checked writable above.
        unsafe { raw::put(request, answer) }?;
        Ok(outcome)
    })();
    status(result)
}

/// Client: writes the upgrade request into `out` and stores its length in
/// `*written`. `host` is the Host header's value, with ":port" when the
/// port is not 80; `path` the request target ("/" when empty);
/// `protocols` the subprotocols to offer (NULL when 0; at most
/// `WEBSOCK_MAX_PROTOCOLS`). Strings are UTF-8, not NUL-terminated, read
/// during the call only. With `WEBSOCK_STATUS_BUFFER_TOO_SMALL`,
/// `*written` is the size `out` needs.
///
/// # Safety
/// `conn` must be an initialised client connection; each string must point
/// to its length in readable bytes, `out` to `out_cap` writable bytes, and
/// `written` to a writable `size_t`. `out` may not overlap any other
/// argument.
#[no_mangle]
pub unsafe extern "C" fn websock_client_request(
    conn: *mut Conn,
    host: *const c_char,
    host_len: usize,
    path: *const c_char,
    path_len: usize,
    protocols: *const Str,
    protocol_count: usize,
    out: *mut c_void,
    out_cap: usize,
    written: *mut usize,
) -> Status {
    let result = (|| {
        let out_region = Region::new(out, out_cap);
        let written_region = Region::of(written);
        let conn_region = conn::region(conn);
        // The strings may overlap each other (both are only read), but not
        // the memory this call writes.
        raw::disjoint(&[
            conn_region,
            out_region,
            written_region,
            Region::new(host, host_len),
        ])?;
        raw::disjoint(&[
            conn_region,
            out_region,
            written_region,
            Region::new(path, path_len),
        ])?;
        // SAFETY: the caller promises `written` is writable.
        unsafe { raw::put(written, 0) }?;
        // SAFETY: the caller promises the strings are readable.
        let (host, path, protocols) = unsafe {
            (
                raw::text(host, host_len)?,
                raw::text(path, path_len)?,
                Protocols::new(protocols, protocol_count)?,
            )
        };
        protocols.apart_from(&[conn_region, out_region, written_region])?;
        // SAFETY: the caller's promises about each argument, and none of
        // the memory borrowed mutably overlaps another argument (checked).
        let (engine, out) = unsafe { (conn::engine(conn)?, raw::bytes_mut(out, out_cap)?) };
        let (outcome, n) = match engine.write_request(host, path, protocols.names(), out) {
            Ok(n) => (Status::Ok, n),
            Err(Error::BufferTooSmall { needed }) => (Status::BufferTooSmall, needed),
            Err(e) => (e.into(), 0),
        };
        // SAFETY: checked writable above.
        unsafe { raw::put(written, n) }?;
        Ok(outcome)
    })();
    status(result)
}

/// Client: checks the server's response at the start of `input`. Returns
/// `WEBSOCK_STATUS_OK` (open: handle the bytes after `response->consumed`
/// as frames), `WEBSOCK_STATUS_INCOMPLETE` (read more and call again with
/// all bytes so far), or a `WEBSOCK_STATUS_HANDSHAKE_*` error (the
/// connection has failed: close the transport). `protocols` must be the
/// list given to `websock_client_request`.
///
/// # Safety
/// `conn` must be an initialised client connection; `input` must point to
/// `input_len` readable bytes; `protocols` as for `websock_client_request`;
/// `response` must point to a writable `websock_response` that overlaps
/// nothing else.
#[no_mangle]
pub unsafe extern "C" fn websock_client_response(
    conn: *mut Conn,
    input: *const c_void,
    input_len: usize,
    protocols: *const Str,
    protocol_count: usize,
    response: *mut Response,
) -> Status {
    let result = (|| {
        raw::disjoint(&[
            conn::region(conn),
            Region::new(input, input_len),
            Region::of(response),
        ])?;
        // SAFETY: the caller promises `response` is writable.
        unsafe { raw::put(response, Response::EMPTY) }?;
        // SAFETY: the caller promises the list and its strings are readable.
        let protocols = unsafe { Protocols::new(protocols, protocol_count) }?;
        protocols.apart_from(&[conn::region(conn), Region::of(response)])?;
        // SAFETY: the caller's promises about each argument; the connection,
        // the only memory borrowed mutably, overlaps no other (checked).
        let (engine, input) = unsafe { (conn::engine(conn)?, raw::bytes(input, input_len)?) };
        let mut answer = Response::EMPTY;
        let outcome = match engine.read_response(input, protocols.names()) {
            Ok(None) => Status::Incomplete,
            Ok(Some(r)) => {
                answer = Response {
                    consumed: r.len,
                    http_status: 101,
                    protocol: index(r.protocol),
                    extensions: r.extensions.map_or(ptr::null(), |e| e.as_ptr().cast()),
                    extensions_len: r.extensions.map_or(0, <[u8]>::len),
                };
                Status::Ok
            }
            Err(Error::Handshake(HandshakeError::Status(code))) => {
                answer.http_status = code;
                Status::HandshakeStatus
            }
            Err(e) => e.into(),
        };
        // SAFETY: checked writable above.
        unsafe { raw::put(response, answer) }?;
        Ok(outcome)
    })();
    status(result)
}
