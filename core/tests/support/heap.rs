//! Heap per server connection with permessage-deflate, counted by a
//! wrapping global allocator: shared by the budget test
//! (`tests/deflate_heap.rs`) and the report (`examples/deflate_report.rs`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

use websock_core::deflate::{Memory, Options};
use websock_core::{Accept, Config, Connection, DataKind};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    // Only the measuring thread counts: the test harness's own thread
    // allocates while a slow test runs (its "running for over 60 seconds"
    // notice), which once put a configuration 900 B over its budget.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count(bytes: usize, sign: isize) {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        LIVE.fetch_add(sign * bytes as isize, Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size(), 1);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(layout.size(), -1);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One measured configuration: what the client offers and what the server
/// is willing to agree to.
pub struct Case {
    /// Its name in the report and the budget file.
    pub name: String,
    /// The server's options.
    pub server: Options,
    /// The client's options, which make its offer.
    pub client: Options,
}

/// Every configuration the report shows and the budget holds for the
/// server's `memory` choice: windows of 9 to 15 bits both ways with
/// context takeover, and both `no_context_takeover` parameters agreed at
/// 15 bits.
pub fn cases(server: Options) -> Vec<Case> {
    // Large keeps the names the budget had before there was a choice.
    let prefix = match server.memory {
        Memory::Large => "",
        Memory::Small => "small_",
        Memory::Caller => "caller_",
    };
    let mut cases: Vec<Case> = (9..=15u8)
        .map(|bits| Case {
            name: format!("{prefix}w{bits}"),
            server,
            client: Options {
                server_max_window_bits: bits,
                client_max_window_bits: bits,
                memory: server.memory,
                ..Options::new()
            },
        })
        .collect();
    cases.push(Case {
        name: format!("{prefix}no_context_takeover"),
        server: Options {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..server
        },
        client: Options {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            memory: server.memory,
            ..Options::new()
        },
    });
    cases
}

/// A server connection that accepted `request`, and its response.
fn server(case: &Case, request: &[u8]) -> (Connection, Vec<u8>) {
    let mut config = Config::new();
    config.deflate = Some(case.server);
    let mut server = Connection::server(config, 0);
    let mut out = vec![0u8; 1024];
    let Ok(Accept::Accepted { written, .. }) = server.accept(request, &[], &mut out) else {
        panic!("{}: not accepted", case.name)
    };
    out.truncate(written);
    (server, out)
}

/// A text message of `len` bytes, words drawn at random (fixed seed).
pub fn text(len: usize) -> Vec<u8> {
    let words = [
        "websocket ",
        "frame ",
        "deflate ",
        "window ",
        "κόσμε ",
        "message ",
        "engine ",
    ];
    let mut seed = 7u32;
    let mut out = Vec::new();
    while out.len() < len {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        out.extend_from_slice(words[(seed >> 16) as usize % words.len()].as_bytes());
    }
    out.truncate(len);
    while std::str::from_utf8(&out).is_err() {
        out.pop();
    }
    out
}

/// Heap bytes one server connection holds for `case` once it has
/// received a 4 KiB compressed text message and sent one back (every
/// lazily made table exists then, and whatever lives only while a message
/// is in flight is gone).
pub fn server_heap(case: &Case) -> usize {
    // A client, made first and not counted, compresses the message the
    // server receives; it must agree with the server on the parameters.
    let mut client_config = Config::new();
    client_config.deflate = Some(case.client);
    let mut client = Connection::client(client_config, 0, [7; 32]);
    let mut request = vec![0u8; 1024];
    let len = client.write_request("x", "/", &[], &mut request).unwrap();
    request.truncate(len);
    let (_, response) = server(case, &request);
    client
        .read_response(&response, &[])
        .unwrap_or_else(|e| panic!("{}: {e:?}", case.name));
    let message = text(4096);
    let mut wire = vec![0u8; client.max_frame_len(message.len())];
    let n = client
        .send(DataKind::Text, &message, true, &mut wire)
        .unwrap();
    let mut frame = vec![0u8; 1 << 14];
    let mut scratch = vec![0u8; 512];

    COUNTED.with(|c| c.set(true));
    let before = LIVE.load(Ordering::Relaxed);
    let (mut server, _) = server(case, &request);
    let mut pos = 0;
    let mut got = 0;
    while pos < n {
        let r = server
            .receive_with(&mut wire[pos..n], &mut scratch, &mut [])
            .unwrap();
        if let Some(websock_core::Event::Data { chunk, .. }) = r.event {
            got += chunk.len();
        }
        pos += r.consumed;
    }
    while let Some(websock_core::Event::Data { chunk, last, .. }) = server
        .receive_with(&mut [], &mut scratch, &mut [])
        .unwrap()
        .event
    {
        got += chunk.len();
        if last {
            break;
        }
    }
    assert_eq!(got, message.len(), "{}: message inflated", case.name);
    server
        .send(DataKind::Text, &message, true, &mut frame)
        .unwrap();
    let heap = LIVE.load(Ordering::Relaxed) - before;
    COUNTED.with(|c| c.set(false));
    drop(server);
    usize::try_from(heap).expect("the server frees no more than it allocated")
}
