//! An embassy-style device: one WebSocket connection over any
//! `embedded-io-async` socket that splits into a reader and a writer (as
//! embassy-net's `TcpSocket::split` does), one future answering commands
//! while another reports sensor readings, both on the same engine through
//! the split halves. `no_std`, no allocator: every buffer is the caller's.
//!
//! Built for the microcontroller as a library (the board's `main`, network
//! stack and timer are the application's):
//!
//!   cargo build -p websock-core --no-default-features --features async \
//!       --example embassy_sensor --target thumbv7em-none-eabihf
#![no_std]

use embassy_futures::join::join;
use embassy_sync::blocking_mutex::raw::NoopRawMutex;
use websock_core::embedded_io_async::{Read, Write};
use websock_core::io::{IoError, Message};
use websock_core::io_async::{ReadHalf, WebSocket, WriteHalf};
use websock_core::Config;

/// What the board provides: a reading, and a way to wait between them.
// One executor runs both futures: no `Send` bound wanted on `tick`.
#[allow(async_fn_in_trait)]
pub trait Board {
    /// The sensor's value, in hundredths of a degree.
    fn read_sensor(&mut self) -> i32;
    /// Waits for the next reading (embassy-time's `Timer::after` on a board).
    async fn tick(&mut self);
}

/// Serves one client on a socket split into `reader` and `writer`
/// (an accepted embassy-net TcpSocket's halves).
pub async fn serve<R, W, B>(reader: R, writer: W, board: &mut B) -> Result<(), IoError<R::Error>>
where
    R: Read,
    W: Write<Error = R::Error>,
    B: Board,
{
    // 1 KiB in, 1 KiB out: enough for the handshake and small messages.
    let mut buf = [0u8; 2048];
    let ws = WebSocket::accept(Pair(reader, writer), &mut buf, Config::new()).await?;
    let mut split = ws.split::<NoopRawMutex, R, W>(|Pair(r, w)| (r, w));
    let (rx, tx) = split.halves();
    let commands = receive(rx, tx.clone());
    let reports = report(tx, board);
    // Both run until the peer closes (reports stop when sending fails).
    let (received, _) = join(commands, reports).await;
    received
}

/// Answers "ping" with "pong" until the peer closes.
async fn receive<R: Read, W: Write<Error = R::Error>>(
    mut rx: ReadHalf<'_, '_, NoopRawMutex, R, W>,
    mut tx: WriteHalf<'_, '_, NoopRawMutex, W>,
) -> Result<(), IoError<R::Error>> {
    let mut msg = [0u8; 256];
    loop {
        match rx.read_message(&mut msg).await? {
            // Never interleaved with a reading: each message goes out whole.
            Message::Text("ping") => tx.send_text("pong").await?,
            Message::Close { .. } => return Ok(()),
            _ => {}
        }
    }
}

/// Sends a reading at each tick, formatted without an allocator.
async fn report<W: Write, B: Board>(
    mut tx: WriteHalf<'_, '_, NoopRawMutex, W>,
    board: &mut B,
) -> Result<(), IoError<W::Error>> {
    loop {
        board.tick().await;
        let mut text = [0u8; 16];
        let n = format_centi(board.read_sensor(), &mut text);
        let reading = core::str::from_utf8(&text[..n]).unwrap_or("?");
        tx.send_text(reading).await?;
    }
}

/// Writes `v / 100` as "-12.34".
fn format_centi(v: i32, out: &mut [u8; 16]) -> usize {
    let mut digits = [0u8; 12];
    let mut n = 0;
    let mut u = v.unsigned_abs();
    while n < 3 || u > 0 {
        digits[n] = b'0' + (u % 10) as u8;
        u /= 10;
        n += 1;
    }
    let mut len = 0;
    if v < 0 {
        out[0] = b'-';
        len = 1;
    }
    for i in (0..n).rev() {
        out[len] = digits[i];
        len += 1;
        if i == 2 {
            out[len] = b'.';
            len += 1;
        }
    }
    len
}

/// A socket given as its two halves, read through one and written
/// through the other, until it is split again for the two tasks.
struct Pair<R, W>(R, W);

impl<R: Read, W: Write<Error = R::Error>> websock_core::embedded_io_async::ErrorType
    for Pair<R, W>
{
    type Error = R::Error;
}

impl<R: Read, W: Write<Error = R::Error>> Read for Pair<R, W> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf).await
    }
}

impl<R: Read, W: Write<Error = R::Error>> Write for Pair<R, W> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.1.write(buf).await
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        self.1.flush().await
    }
}
