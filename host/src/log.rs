//! The server's log on stderr: one line per event, each starting with a
//! UTC timestamp. Warnings about misbehaving peers (bad TLS handshakes,
//! timeouts) are summarised: the first [`BURST`] of each [`INTERVAL`] are
//! printed, the rest counted and reported in one line when the interval
//! ends, so a flood of bad peers costs a few lines, not one each.
//! `--quiet` drops peer warnings altogether. Errors of the server's own
//! that can repeat fast (accept failing) are summarised the same way, apart.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long one summary interval lasts.
pub const INTERVAL: Duration = Duration::from_secs(10);
/// Peer warnings printed in full per interval.
pub const BURST: u32 = 5;

static QUIET: AtomicBool = AtomicBool::new(false);
/// Warnings about peers (`--quiet` drops them).
static PEERS: Mutex<Limiter> = Mutex::new(Limiter::new("warnings about peers"));
/// The server's own trouble that can repeat fast (accept failing while
/// file descriptors run out): never dropped, but summarised too.
static TROUBLE: Mutex<Limiter> = Mutex::new(Limiter::new("errors"));
/// How many of the limiters have an interval going: while none has,
/// [`flush_due`] and [`next_flush`] (called on every wake-up of every
/// worker) return without taking a lock or reading the clock. Changed
/// only under the lock of the limiter whose interval begins or ends.
static OPEN: AtomicUsize = AtomicUsize::new(0);

/// A rate limiter's state: shared by all workers (a flood is one flood,
/// however the kernel spreads it).
struct Limiter {
    /// What it counts, for the summary line.
    what: &'static str,
    /// When the current interval began; `None` before the first warning.
    started: Option<Instant>,
    printed: u32,
    suppressed: u32,
}

/// Drops peer warnings from now on (`--quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Prints one line: timestamp, `websock:`, the message.
pub fn line(args: fmt::Arguments<'_>) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{} websock: {args}", timestamp(SystemTime::now()));
}

/// A warning about one peer, rate limited.
pub fn peer(args: fmt::Arguments<'_>) {
    if !QUIET.load(Ordering::Relaxed) {
        limited(&PEERS, args);
    }
}

/// An error of the server's that may repeat (e.g. accept failing), rate
/// limited.
pub fn trouble(args: fmt::Arguments<'_>) {
    limited(&TROUBLE, args);
}

fn limited(limiter: &Mutex<Limiter>, args: fmt::Arguments<'_>) {
    let now = Instant::now();
    let Ok(mut l) = limiter.lock() else { return };
    l.roll(now);
    if l.started.is_none() {
        OPEN.fetch_add(1, Ordering::Relaxed);
    }
    let started = *l.started.get_or_insert(now);
    if l.printed < BURST {
        l.printed += 1;
        line(args);
        if l.printed == BURST {
            line(format_args!(
                "more {} in the next {} s are counted, not printed",
                l.what,
                INTERVAL.saturating_sub(now - started).as_secs().max(1)
            ));
        }
    } else {
        l.suppressed += 1;
    }
}

/// Prints the summaries of intervals that have ended; call now and then
/// (each worker does on every wake-up).
pub fn flush_due() {
    if OPEN.load(Ordering::Relaxed) == 0 {
        return;
    }
    for limiter in [&PEERS, &TROUBLE] {
        if let Ok(mut l) = limiter.lock() {
            l.roll(Instant::now());
        }
    }
}

/// How long until a summary is due, if one is pending: a worker waits no
/// longer than that.
pub fn next_flush() -> Option<Duration> {
    if OPEN.load(Ordering::Relaxed) == 0 {
        return None;
    }
    [&PEERS, &TROUBLE]
        .into_iter()
        .filter_map(|limiter| {
            let l = limiter.lock().ok()?;
            let started = l.started?;
            (l.suppressed > 0)
                .then(|| (started + INTERVAL).saturating_duration_since(Instant::now()))
        })
        .min()
}

/// Prints what is still counted (at shutdown).
pub fn flush_all() {
    for limiter in [&PEERS, &TROUBLE] {
        if let Ok(mut l) = limiter.lock() {
            l.summarise();
            if l.started.take().is_some() {
                OPEN.fetch_sub(1, Ordering::Relaxed);
            }
            l.printed = 0;
        }
    }
}

impl Limiter {
    const fn new(what: &'static str) -> Limiter {
        Limiter {
            what,
            started: None,
            printed: 0,
            suppressed: 0,
        }
    }

    /// Ends the interval if it is over.
    fn roll(&mut self, now: Instant) {
        if self
            .started
            .is_some_and(|s| now.duration_since(s) >= INTERVAL)
        {
            self.summarise();
            self.started = None;
            OPEN.fetch_sub(1, Ordering::Relaxed);
            self.printed = 0;
        }
    }

    fn summarise(&mut self) {
        if self.suppressed > 0 {
            // Shorter than the interval at shutdown.
            let secs = self.started.map_or(INTERVAL, |s| s.elapsed().min(INTERVAL));
            line(format_args!(
                "{} more {} in the last {} s (not printed)",
                self.suppressed,
                self.what,
                secs.as_secs().max(1)
            ));
            self.suppressed = 0;
        }
    }
}

/// `2026-01-31T23:59:59.123Z`.
pub fn timestamp(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::timestamp;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_are_utc_iso8601() {
        let at = |s: u64, ms: u64| timestamp(UNIX_EPOCH + Duration::from_millis(s * 1000 + ms));
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_798_761_599, 999), "2026-12-31T23:59:59.999Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
    }
}
