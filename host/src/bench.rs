//! `websock bench URL`: an echo load generator. Each connection keeps a
//! fixed number of messages in flight and sends a new one whenever an echo
//! completes; the result is echoed messages and payload bytes per second
//! over the measured window (after every connection is open).

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use websock_core::{CloseCode, Config, DataKind, Event, State};

use crate::clock::Clock;
use crate::dial::{self, Dialer};
use crate::link::{Handler, Tx};
use crate::reactor::Reactor;
use crate::tls::client::ClientOptions;
use crate::url::WsUrl;

/// What `websock bench` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// The echo server.
    pub url: String,
    /// Connections in total.
    pub connections: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Length of the measured window.
    pub seconds: f64,
    /// Messages in flight per connection.
    pub depth: usize,
    /// Client threads (each runs an event loop over its share).
    pub threads: usize,
    /// Send text instead of binary.
    pub text: bool,
    /// Offer permessage-deflate.
    pub deflate: bool,
    /// Whom to trust for wss://.
    pub tls: ClientOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            url: String::new(),
            connections: 16,
            size: 20,
            seconds: 5.0,
            depth: 1,
            threads: 1,
            text: false,
            deflate: false,
            tls: ClientOptions::default(),
        }
    }
}

/// One connection's sender and counter.
#[derive(Debug)]
struct Pinger {
    payload: Arc<[u8]>,
    kind: DataKind,
    depth: usize,
    /// Keep sending as echoes come back.
    running: bool,
    /// Echoes completed.
    echoed: u64,
}

impl Pinger {
    fn send(&self, tx: &mut Tx<'_>) {
        // Fails only once closing, when no more messages are wanted.
        let _ = tx.send(self.kind, &self.payload, true);
    }
}

impl Handler for Pinger {
    fn opened(&mut self, tx: &mut Tx<'_>) {
        for _ in 0..self.depth {
            self.send(tx);
        }
    }

    fn event(&mut self, event: Event<'_>, tx: &mut Tx<'_>) {
        if let Event::Data { last: true, .. } = event {
            self.echoed += 1;
            if self.running {
                self.send(tx);
            }
        }
    }
}

/// Runs the benchmark and prints one result line.
pub fn run(options: &Options) -> Result<(), String> {
    let url = WsUrl::parse(&options.url).map_err(|e| format!("bad URL '{}': {e}", options.url))?;
    let dialer = Dialer::new(&url, &options.tls)?;
    let threads = options.threads.clamp(1, options.connections.max(1));
    let payload: Arc<[u8]> = vec![b'x'; options.size].into();
    let barrier = Arc::new(Barrier::new(threads));
    let window = Duration::from_secs_f64(options.seconds);
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            // Spread the connections as evenly as possible.
            let share =
                options.connections / threads + usize::from(i < options.connections % threads);
            let (url, payload, barrier) = (url.clone(), payload.clone(), barrier.clone());
            let dialer = dialer.clone();
            let (kind, depth) = (
                if options.text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                },
                options.depth.max(1),
            );
            let deflate = options.deflate;
            thread::spawn(move || {
                let pinger = Pinger {
                    payload,
                    kind,
                    depth,
                    running: true,
                    echoed: 0,
                };
                worker(&url, &dialer, share, pinger, &barrier, window, deflate)
            })
        })
        .collect();
    let mut echoed = 0u64;
    let mut elapsed = Duration::ZERO;
    let mut error = None;
    for h in handles {
        match h.join() {
            Ok(Ok((n, t))) => {
                echoed += n;
                elapsed = elapsed.max(t);
            }
            Ok(Err(e)) => error = Some(e),
            Err(_) => error = Some("a bench thread panicked".to_string()),
        }
    }
    if let Some(e) = error {
        return Err(e);
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let rate = echoed as f64 / secs;
    println!(
        "bench: {} connections x {} in flight, {}-byte {} messages, {secs:.1} s: {rate:.0} msg/s, {:.1} MB/s echoed",
        options.connections,
        options.depth.max(1),
        options.size,
        if options.text { "text" } else { "binary" },
        rate * options.size as f64 / 1e6,
    );
    Ok(())
}

/// One thread: opens its connections, waits for the others, measures for
/// `window`, then closes everything.
fn worker(
    url: &WsUrl,
    dialer: &Dialer,
    connections: usize,
    pinger: Pinger,
    barrier: &Barrier,
    window: Duration,
    deflate: bool,
) -> Result<(u64, Duration), String> {
    // Message size bounds the engine's limit, not the other way round.
    let config = Config {
        max_message_size: (pinger.payload.len() as u64).max(Config::new().max_message_size),
        deflate: deflate.then(websock_core::deflate::Options::new),
        ..Config::new()
    };
    let mut reactor =
        Reactor::new(Clock::new()).map_err(|e| format!("cannot create a poll: {e}"))?;
    let mut result = Ok(());
    for _ in 0..connections {
        match dialer.connect(url, config, reactor.now()) {
            Ok((link, transport)) => {
                let p = Pinger {
                    payload: pinger.payload.clone(),
                    ..pinger
                };
                if let Err(e) = reactor.insert(link, transport, p) {
                    result = Err(format!("cannot watch a connection: {e}"));
                    break;
                }
            }
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    // Every thread reaches the barrier, even after an error, so none waits
    // for ever.
    let opened = result.and_then(|()| wait_open(&mut reactor, url));
    barrier.wait();
    opened?;
    let echoed = |r: &Reactor<Pinger>| r.slots().map(|s| s.handler.echoed).sum::<u64>();
    let start = Instant::now();
    let before = echoed(&reactor);
    while start.elapsed() < window {
        reactor
            .turn(Some(window.saturating_sub(start.elapsed())))
            .map_err(|e| format!("poll failed: {e}"))?;
        if let Some(slot) = reactor.drain_finished().next() {
            let why = dial::explain(url, &slot.link, &slot.transport)
                .unwrap_or_else(|| "it closed".into());
            return Err(format!("a connection ended during the run: {why}"));
        }
    }
    let elapsed = start.elapsed();
    let total = echoed(&reactor) - before;
    for key in reactor.keys() {
        reactor.with_tx(key, |tx, p| {
            p.running = false;
            let _ = tx.close(CloseCode::NORMAL, "");
        });
    }
    let closing = Instant::now();
    while !reactor.is_empty() && closing.elapsed() < Duration::from_secs(3) {
        reactor
            .turn(Some(Duration::from_millis(100)))
            .map_err(|e| format!("poll failed: {e}"))?;
        reactor.drain_finished().for_each(drop);
    }
    Ok((total, elapsed))
}

/// Runs the loop until every connection has finished its handshake.
fn wait_open(reactor: &mut Reactor<Pinger>, url: &WsUrl) -> Result<(), String> {
    loop {
        if let Some(slot) = reactor.drain_finished().next() {
            let why = dial::explain(url, &slot.link, &slot.transport)
                .unwrap_or_else(|| "it closed".into());
            return Err(format!("a connection ended before the run: {why}"));
        }
        if reactor
            .slots()
            .all(|s| s.link.state() != State::AwaitingResponse)
        {
            return Ok(());
        }
        reactor
            .turn(None)
            .map_err(|e| format!("poll failed: {e}"))?;
    }
}
