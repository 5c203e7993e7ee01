//! `websock autobahn URL`: the client driver for an Autobahn fuzzing server.
//! It asks for the number of cases, runs each one as an echo client (the
//! same streaming echo as the server), then asks the server to write its
//! reports.

use std::time::{Duration, Instant};

use websock_core::{Config, Event};

use crate::clock::Clock;
use crate::dial::{self, Dialer};
use crate::echo::Echo;
use crate::link::{Handler, Tx};
use crate::reactor::{Reactor, Slot};
use crate::tls::client::ClientOptions;
use crate::url::WsUrl;

/// The longest a single case may take before the run is abandoned (the
/// slowest cases move 16 MiB messages).
const CASE_LIMIT: Duration = Duration::from_secs(120);

/// Collects the text the server sends (the case count).
#[derive(Debug, Default)]
struct Collect {
    text: Vec<u8>,
}

impl Handler for Collect {
    fn event(&mut self, event: Event<'_>, _tx: &mut Tx<'_>) {
        if let Event::Data { chunk, .. } = event {
            // The count is a few digits; a server sending more is ignored
            // rather than buffered without bound.
            if self.text.len() + chunk.len() <= 64 {
                self.text.extend_from_slice(chunk);
            }
        }
    }
}

/// Runs every case the server has, `parallel` at a time; `Ok` once the
/// reports are updated.
pub fn run(
    url_text: &str,
    agent: &str,
    config: Config,
    tls: &ClientOptions,
    parallel: usize,
) -> Result<(), String> {
    let base = WsUrl::parse(url_text).map_err(|e| format!("bad URL '{url_text}': {e}"))?;
    let dialer = Dialer::new(&base, tls)?;
    let agent = percent_encode(agent);
    let counted = session(
        &dialer,
        &base.with_resource("/getCaseCount"),
        Collect::default(),
        config,
    )?;
    let text = String::from_utf8_lossy(&counted.handler.text).into_owned();
    let count: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("the fuzzing server sent no case count (got '{text}')"))?;
    run_cases(&dialer, &base, &agent, count, config, parallel.max(1))?;
    eprintln!("updating reports");
    let url = base.with_resource(&format!("/updateReports?agent={agent}"));
    session(&dialer, &url, Echo::default(), config)?;
    Ok(())
}

/// Runs cases 1 to `count` on one event loop, up to `parallel` at once.
/// Large cases spend most of their time waiting for the fuzzing server,
/// so running several at once shortens a run a lot.
fn run_cases(
    dialer: &Dialer,
    base: &WsUrl,
    agent: &str,
    count: u32,
    config: Config,
    parallel: usize,
) -> Result<(), String> {
    let mut reactor =
        Reactor::new(Clock::new()).map_err(|e| format!("cannot create a poll: {e}"))?;
    let (mut next, mut running) = (1u32, 0usize);
    let mut progress = Instant::now();
    while next <= count || running > 0 {
        while running < parallel && next <= count {
            eprintln!("case {next} of {count}");
            let url = base.with_resource(&format!("/runCase?case={next}&agent={agent}"));
            let (link, transport) = dialer.connect(&url, config, reactor.now())?;
            reactor
                .insert(link, transport, Echo::default())
                .map_err(|e| format!("cannot watch the connection: {e}"))?;
            next += 1;
            running += 1;
        }
        // How a case's connection ends is the fuzzing server's verdict;
        // only one that never opened stops the run.
        let finished: Vec<_> = reactor.drain_finished().collect();
        for slot in finished {
            running -= 1;
            progress = Instant::now();
            if !slot.link.was_open() {
                return Err(dial::explain(base, &slot.link, &slot.transport)
                    .unwrap_or_else(|| format!("{base}: a case's handshake did not complete")));
            }
        }
        if running == 0 {
            continue;
        }
        let left = CASE_LIMIT
            .checked_sub(progress.elapsed())
            .ok_or_else(|| format!("{base}: no case finished in {} s", CASE_LIMIT.as_secs()))?;
        reactor
            .turn(Some(left))
            .map_err(|e| format!("poll failed: {e}"))?;
    }
    Ok(())
}

/// One connection from start to end, on an event loop of its own.
fn session<H: Handler>(
    dialer: &Dialer,
    url: &WsUrl,
    handler: H,
    config: Config,
) -> Result<Slot<H>, String> {
    let mut reactor =
        Reactor::new(Clock::new()).map_err(|e| format!("cannot create a poll: {e}"))?;
    let (link, transport) = dialer.connect(url, config, reactor.now())?;
    reactor
        .insert(link, transport, handler)
        .map_err(|e| format!("cannot watch the connection: {e}"))?;
    let start = Instant::now();
    loop {
        if let Some(slot) = reactor.drain_finished().next() {
            if !slot.link.was_open() {
                let why = dial::explain(url, &slot.link, &slot.transport);
                return Err(why.unwrap_or_else(|| format!("{url}: the handshake did not complete")));
            }
            return Ok(slot);
        }
        let left = CASE_LIMIT
            .checked_sub(start.elapsed())
            .ok_or_else(|| format!("{url}: still running after {} s", CASE_LIMIT.as_secs()))?;
        reactor
            .turn(Some(left))
            .map_err(|e| format!("poll failed: {e}"))?;
    }
}

/// Escapes a query value: everything but RFC 3986's unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::percent_encode;

    #[test]
    fn agent_names_are_escaped_for_the_query() {
        assert_eq!(percent_encode("websock-0.1_x~y.z"), "websock-0.1_x~y.z");
        assert_eq!(percent_encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
