//! Command-line parsing: `websock <command> [options]`, options and
//! positional arguments in any order.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use lexopt::prelude::*;
use websock_core::deflate;
use websock_core::Config;

use crate::tls::client::ClientOptions;
use crate::tls::server::Identity;
use crate::{bench, client, load, serve};

/// The top-level help.
pub const USAGE: &str = "\
websock: a WebSocket (RFC 6455) echo server, client and Autobahn driver

Usage:
  websock serve [options]                    echo server (ws://127.0.0.1:8888 and
                                             wss://127.0.0.1:8889)
  websock client [options] URL               terminal client: stdin lines out, messages in
                                             (open http://127.0.0.1:8888/ in a browser
                                             for the built-in page)
  websock autobahn [--agent NAME] URL        Autobahn fuzzingserver client driver
  websock bench [options] URL                echo load generator
  websock load [options] URL                 many connections at once, every echo
                                             checked, latency and server memory

URLs are ws://host[:port][/path] or wss://host[:port][/path] (TLS).
'websock <command> --help' shows each command's options.
";

const SERVE_USAGE: &str = "\
Usage: websock serve [options]

Echoes every text and binary message on any path, streaming (pieces go
back as fragments of up to 64 KiB). Prints one line saying where it listens;
stops cleanly on SIGINT or SIGTERM: each open connection finishes the
message in progress each way and is closed with 1001; whatever is left
when the close timeout has passed is dropped, and the process exits.

Options:
  --ws HOST:PORT              where to listen for ws:// (default 127.0.0.1:8888;
                              port 0 picks a free port, printed at start)
  --wss HOST:PORT             where to listen for wss:// (default 127.0.0.1:8889)
  --no-ws, --no-wss           serve only the other one
  --cert FILE --key FILE      the wss:// certificate chain (PEM, leaf first) and
                              its private key (PEM: PKCS#8, PKCS#1 or SEC1).
                              Without them a self-signed certificate for
                              localhost, 127.0.0.1 and ::1 is made at start and
                              written to a file named in the start line (trust
                              it with 'websock client --ca FILE')
  --workers N                 worker threads (default: one per core)
  --handshake-timeout-ms MS   drop a connection whose opening handshake takes
                              longer (default 10000)
  --close-timeout-ms MS       wait this long for the peer's close frame, and
                              on SIGTERM for connections to finish (default 5000)
  --max-message-size BYTES    fail larger messages with 1009 (default 64 MiB)
  --max-pending-output BYTES  stop reading a connection while this much of its
                              output waits to be written (default 16 MiB: some
                              peers write a whole message before reading)
  --write-timeout-ms MS       drop a connection whose output waits this long
                              with nothing written: a peer that stopped reading
                              (default 30000; 0: never)
  --idle-timeout-ms MS        ping a connection that sent nothing for MS/2, close
                              one that sent nothing for MS, so half-open
                              connections end (default 120000; 0: never)
  --no-deflate                refuse permessage-deflate offers (accepted by
                              default, within the client's window limits)
  --deflate-level N           zlib level 0-9 for what we compress (default 1)
  --deflate-memory large|small
                              large (default): zlib-rs, best ratio, faster at
                              level 1, ~290-420 KiB per compressing connection;
                              small: fixed codes and a window-sized inflater,
                              ~8 KiB at 9-bit windows, 116 KiB at 15, larger
                              output, as fast at level 6 and 15 bits, about 2x
                              the compress time at level 1 (README)
  --protocol NAME             speak this subprotocol (repeatable): the first
                              one the client offers that is listed is chosen
  --quiet                     no warnings about peers (bad TLS handshakes,
                              timeouts); otherwise the first few of every 10 s
                              are printed and the rest counted in one line
  --no-page                   answer browsers with 426 like any other plain
                              HTTP request (default: a built-in echo page)
  -h, --help                  this help

A browser pointed at http://HOST:PORT/ gets a small page that opens a
WebSocket back, echoes what you type and shows round-trip times and the
negotiated extensions. Log lines on stderr start with a UTC timestamp.
";

const CLIENT_USAGE: &str = "\
Usage: websock client [options] URL

Sends each line of standard input as a text message and prints each
message received on a line of its own (binary ones as '[binary] <hex>').
At end of input (Ctrl-D) it keeps printing what arrives until the server
has been quiet for --linger MS, then closes with 1000 and waits for the
closing handshake. Ctrl-C closes with 1000 at once; a second Ctrl-C exits
without waiting. On a terminal, received lines start with '< ', typed
ones follow a '> ' prompt, and a 'connected' line comes first.

Typed commands (when stdin is a terminal, or with --slash):
  /ping [text]                send a ping (its pong prints with --show-ping-pong)
  /close [code [reason]]      close with this code (default 1000)
  //text                      send '/text'

Exit status:
  0    the closing handshake completed
  1    could not start (bad URL, cannot connect, TLS configuration)
  2    bad command line
  3    the opening handshake failed (HTTP refusal, TLS, bad 101 answer)
  4    the connection ended without a closing handshake, or the server
       broke the protocol
  5    a handshake (opening, TLS or closing) timed out
  6    the server closed with a code other than 1000 or 1001 (e.g. 1011);
       the closing handshake completed
  130  a second Ctrl-C

Options:
  --linger MS                 after end of input, close once nothing arrived
                              for MS milliseconds (default 500)
  --exit-on-eof               close as soon as input ends (replies still in
                              flight may be lost)
  --protocol NAME             offer this subprotocol (repeatable, preferred
                              first); the server's choice shows on the
                              'connected' line
  -H, --header 'Name: value'  add a header to the upgrade request (repeatable;
                              e.g. Authorization, Origin, Cookie)
  --binary                    send standard input's bytes as binary messages
                              (one per read, up to 64 KiB) and write received
                              payloads to stdout as they are
  --ping-interval SECONDS     send a ping this often
  --show-ping-pong            print pings and pongs received ('[pong] text')
  --slash                     read /ping and /close in lines even when stdin
                              is not a terminal
  --no-slash                  send every line as it is, even on a terminal
  --handshake-timeout-ms MS   give up on the opening handshake after MS
                              (default 10000)
  --close-timeout-ms MS       wait this long for the closing handshake
                              (default 5000)
  --no-deflate                do not offer permessage-deflate (offered by
                              default: 'permessage-deflate; client_max_window_bits')
  --ca FILE                   also trust the CA certificates in this PEM file
                              (wss://; repeatable; the system's roots are
                              trusted anyway)
  --insecure                  wss:// without checking the server's certificate:
                              encrypted but NOT authenticated (warns on stderr)
  -h, --help                  this help
";

const AUTOBAHN_USAGE: &str = "\
Usage: websock autobahn [--agent NAME] URL

Drives an Autobahn fuzzing server (for example 'kosoku -m fuzzingserver'):
GET /getCaseCount, then /runCase?case=N&agent=NAME for every case, echoing
every message, then /updateReports?agent=NAME. Progress goes to stderr.
Exits 0 when the run completed (the server's reports hold the verdicts).

Options:
  --agent NAME                the name in the reports (default websock)
  --parallel N                run N cases at once (default 1)
  --no-deflate                do not offer permessage-deflate (offered by default:
                              'permessage-deflate; client_no_context_takeover;
                              client_max_window_bits')
  --ca FILE                   also trust the CA certificates in this PEM file
                              (wss://; repeatable; the system's roots are
                              trusted anyway)
  --insecure                  wss:// without checking the server's certificate:
                              encrypted but NOT authenticated (warns on stderr)
  -h, --help                  this help
";

const BENCH_USAGE: &str = "\
Usage: websock bench [options] URL

Opens connections to an echo server, keeps messages in flight on each, and
prints echoed messages per second and echoed payload megabytes per second.

Options:
  --connections N             connections (default 16)
  --size BYTES                payload per message (default 20)
  --seconds S                 measured time (default 5)
  --depth N                   messages in flight per connection (default 1)
  --threads N                 client threads (default 1)
  --text                      send text messages (default binary)
  --deflate                   offer permessage-deflate (default: plain frames)
  --ca FILE                   also trust the CA certificates in this PEM file
                              (wss://; repeatable; the system's roots are
                              trusted anyway)
  --insecure                  wss:// without checking the server's certificate:
                              encrypted but NOT authenticated (warns on stderr)
  -h, --help                  this help
";

const LOAD_USAGE: &str = "\
Usage: websock load [options] ws://HOST:PORT/

Opens all the connections at once (from 127.0.0.2 and up), then has each
send its messages and checks that every one comes back exactly once, byte
for byte, in order, while a second group of connections measures round
trips; then closes them all (each must close cleanly). Prints the figures;
exits 1 on any lost, extra or changed message. Raise the open-file limit
first (ulimit -n): each connection is a descriptor here and one in the server.

Options:
  --connections N             connections held open at once (default 1000)
  --messages N                messages each sends (default 10)
  --size BYTES                payload per message, at least 8 (default 64)
  --depth N                   messages in flight per connection (default 2)
  --latency-connections N     connections measuring round trips (default 20)
  --sources N                 source addresses 127.0.0.2 and up (default 4)
  --server-pid PID            read the server's memory (VmRSS, VmHWM) from /proc
  -h, --help                  this help
";

/// A parsed command line.
#[derive(Debug)]
pub enum Command {
    /// Print this text and exit 0.
    Help(&'static str),
    /// Print the version.
    Version,
    /// `websock serve`.
    Serve(serve::Options),
    /// `websock client`.
    Client(client::Options),
    /// `websock autobahn`.
    Autobahn {
        /// The fuzzing server.
        url: String,
        /// The agent name for the reports.
        agent: String,
        /// What to offer (permessage-deflate by default).
        config: Config,
        /// Whom to trust for wss://.
        tls: ClientOptions,
        /// Cases run at once.
        parallel: usize,
    },
    /// `websock bench`.
    Bench(bench::Options),
    /// `websock load`.
    Load(load::Options),
}

/// A command line that does not parse; one line, naming the help to read.
#[derive(Debug)]
pub struct UsageError {
    message: String,
    command: Option<&'static str>,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.command {
            Some(c) => write!(f, "{} (see 'websock {c} --help')", self.message),
            None => write!(f, "{} (see 'websock --help')", self.message),
        }
    }
}

fn usage(command: Option<&'static str>, message: impl fmt::Display) -> UsageError {
    UsageError {
        message: message.to_string(),
        command,
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    let mut p = lexopt::Parser::from_args(args);
    let command = match p.next().map_err(|e| usage(None, e))? {
        None => return Ok(Command::Help(USAGE)),
        Some(Short('h') | Long("help")) => return Ok(Command::Help(USAGE)),
        Some(Short('V') | Long("version")) => return Ok(Command::Version),
        Some(Value(v)) => v.string().map_err(|e| usage(None, e))?,
        Some(other) => return Err(usage(None, other.unexpected())),
    };
    match command.as_str() {
        "serve" => parse_serve(&mut p).map_err(|e| e.under("serve")),
        "client" => parse_client(&mut p).map_err(|e| e.under("client")),
        "autobahn" => parse_autobahn(&mut p).map_err(|e| e.under("autobahn")),
        "bench" => parse_bench(&mut p).map_err(|e| e.under("bench")),
        "load" => parse_load(&mut p).map_err(|e| e.under("load")),
        "help" => Ok(Command::Help(
            match p.next().map_err(|e| usage(None, e))? {
                Some(Value(v)) => help_for(&v.string().map_err(|e| usage(None, e))?)
                    .ok_or_else(|| usage(None, "no such command"))?,
                _ => USAGE,
            },
        )),
        other => Err(usage(None, format!("unknown command '{other}'"))),
    }
}

fn help_for(command: &str) -> Option<&'static str> {
    Some(match command {
        "serve" => SERVE_USAGE,
        "client" => CLIENT_USAGE,
        "autobahn" => AUTOBAHN_USAGE,
        "bench" => BENCH_USAGE,
        "load" => LOAD_USAGE,
        _ => return None,
    })
}

/// A parse error inside one command, before the command is known to it.
struct Local(String);

impl Local {
    fn under(self, command: &'static str) -> UsageError {
        usage(Some(command), self.0)
    }
}

impl From<lexopt::Error> for Local {
    fn from(e: lexopt::Error) -> Self {
        Local(e.to_string())
    }
}

/// The zlib level the host compresses with unless told otherwise: the
/// fastest. Compression is most of an echo server's work once deflate is
/// on (level 6 costs several times the CPU for a few percent of ratio).
pub const DEFAULT_DEFLATE_LEVEL: u8 = 1;

/// The configuration every command starts from: the engine's defaults,
/// with permessage-deflate accepted (server) or offered (client).
pub fn default_config() -> Config {
    Config {
        deflate: Some(deflate::Options {
            level: DEFAULT_DEFLATE_LEVEL,
            ..deflate::Options::new()
        }),
        ..Config::new()
    }
}

/// `--deflate-level N`: sets the level, if deflate is on.
fn deflate_level(p: &mut lexopt::Parser, config: &mut Config) -> Result<(), Local> {
    let level: u8 = p.value()?.parse()?;
    if level > 9 {
        return Err(Local("--deflate-level must be 0 to 9".into()));
    }
    if let Some(d) = config.deflate.as_mut() {
        d.level = level;
    }
    Ok(())
}

/// `--deflate-memory large|small`: which codec, if deflate is on.
fn deflate_memory(p: &mut lexopt::Parser, config: &mut Config) -> Result<(), Local> {
    let memory = match p.value()?.string()?.as_str() {
        "large" => deflate::Memory::Large,
        "small" => deflate::Memory::Small,
        _ => return Err(Local("--deflate-memory must be large or small".into())),
    };
    if let Some(d) = config.deflate.as_mut() {
        d.memory = memory;
    }
    Ok(())
}

fn parse_serve(p: &mut lexopt::Parser) -> Result<Command, Local> {
    let mut o = serve::Options::default();
    let (mut cert, mut key) = (None, None);
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help(SERVE_USAGE)),
            Long("no-deflate") => o.config.deflate = None,
            Long("deflate-level") => deflate_level(p, &mut o.config)?,
            Long("deflate-memory") => deflate_memory(p, &mut o.config)?,
            Long("ws") => o.ws = Some(p.value()?.string()?),
            Long("wss") => o.wss = Some(p.value()?.string()?),
            Long("no-ws") => o.ws = None,
            Long("no-wss") => o.wss = None,
            Long("cert") => cert = Some(PathBuf::from(p.value()?)),
            Long("key") => key = Some(PathBuf::from(p.value()?)),
            Long("workers") => o.workers = Some(positive(p, "--workers")?),
            Long("handshake-timeout-ms") => o.config.handshake_timeout_ms = p.value()?.parse()?,
            Long("close-timeout-ms") => o.config.close_timeout_ms = p.value()?.parse()?,
            Long("max-message-size") => o.config.max_message_size = p.value()?.parse()?,
            Long("max-pending-output") => {
                o.max_pending_output = positive(p, "--max-pending-output")?
            }
            Long("protocol") => o.protocols.push(protocol_name(p)?),
            Long("quiet") => o.quiet = true,
            Long("no-page") => o.page = false,
            Long("write-timeout-ms") => o.write_timeout_ms = p.value()?.parse()?,
            Long("idle-timeout-ms") => o.idle_timeout_ms = p.value()?.parse()?,
            other => return Err(other.unexpected().into()),
        }
    }
    o.identity = match (cert, key) {
        (Some(cert), Some(key)) => Identity::Files { cert, key },
        (None, None) => Identity::SelfSigned,
        (Some(_), None) => return Err(Local("--cert needs --key".into())),
        (None, Some(_)) => return Err(Local("--key needs --cert".into())),
    };
    Ok(Command::Serve(o))
}

fn parse_client(p: &mut lexopt::Parser) -> Result<Command, Local> {
    let mut o = client::Options::new(String::new(), default_config());
    let mut url = None;
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help(CLIENT_USAGE)),
            Long("no-deflate") => o.config.deflate = None,
            Long("ca") => o.tls.ca.push(PathBuf::from(p.value()?)),
            Long("insecure") => o.tls.insecure = true,
            Long("handshake-timeout-ms") => o.config.handshake_timeout_ms = p.value()?.parse()?,
            Long("close-timeout-ms") => o.config.close_timeout_ms = p.value()?.parse()?,
            Long("linger") => o.linger_ms = p.value()?.parse()?,
            Long("exit-on-eof") => o.exit_on_eof = true,
            Long("protocol") => o.protocols.push(protocol_name(p)?),
            Short('H') | Long("header") => {
                let line = header(&p.value()?.string()?)?;
                o.headers.push_str(&line);
            }
            Long("binary") => o.binary = true,
            Long("ping-interval") => {
                let s: f64 = p.value()?.parse()?;
                if !(s.is_finite() && s > 0.0 && s < 1e9) {
                    return Err(Local(
                        "--ping-interval must be a positive number of seconds".into(),
                    ));
                }
                o.ping_interval_ms = Some(((s * 1000.0) as u64).max(1));
            }
            Long("show-ping-pong") => o.show_ping_pong = true,
            Long("slash") => o.slash = Some(true),
            Long("no-slash") => o.slash = Some(false),
            Value(v) if url.is_none() => url = Some(v.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    o.url = url.ok_or_else(|| Local("missing URL".into()))?;
    Ok(Command::Client(o))
}

/// `--protocol NAME`: a token (RFC 6455 section 4.1: subprotocol names are
/// tokens as RFC 2616 defines them).
fn protocol_name(p: &mut lexopt::Parser) -> Result<String, Local> {
    let name = p.value()?.string()?;
    if name.is_empty() || !name.bytes().all(is_token) {
        return Err(Local(format!(
            "--protocol '{name}': a subprotocol name is a token (letters, digits, !#$%&'*+-.^_`|~)"
        )));
    }
    Ok(name)
}

/// RFC 9110 section 5.6.2's tchar.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Headers the upgrade request writes itself.
const OWN_HEADERS: &[&str] = &[
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
];

/// `-H 'Name: value'` as a header line ending in CRLF.
fn header(spec: &str) -> Result<String, Local> {
    let bad = |why: &str| Local(format!("-H '{spec}': {why}"));
    let (name, value) = spec
        .split_once(':')
        .ok_or_else(|| bad("expected 'Name: value'"))?;
    let value = value.trim();
    if name.is_empty() || !name.bytes().all(is_token) {
        return Err(bad("the name must be a token (letters, digits, -)"));
    }
    if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err(bad("the value may not hold control characters"));
    }
    if OWN_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)) {
        return Err(bad(
            "websock writes this header itself (see --protocol and --no-deflate)",
        ));
    }
    Ok(format!("{name}: {value}\r\n"))
}

fn parse_autobahn(p: &mut lexopt::Parser) -> Result<Command, Local> {
    let mut agent = "websock".to_string();
    let mut config = default_config();
    // Autobahn's server reads client_no_context_takeover in an offer as
    // "would accept it" and runs its 13.2, 13.5 and 13.6 cases only for
    // clients that say so. RFC 7692 (7.1.1.2) reads it as a promise, so the
    // driver also keeps it: its compressor resets after every message.
    if let Some(d) = config.deflate.as_mut() {
        d.client_no_context_takeover = true;
    }
    let mut tls = ClientOptions::default();
    let mut parallel = 1;
    let mut url = None;
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help(AUTOBAHN_USAGE)),
            Long("agent") => agent = p.value()?.string()?,
            Long("parallel") => parallel = positive(p, "--parallel")?,
            Long("ca") => tls.ca.push(PathBuf::from(p.value()?)),
            Long("insecure") => tls.insecure = true,
            Long("no-deflate") => config.deflate = None,
            Value(v) if url.is_none() => url = Some(v.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let url = url.ok_or_else(|| Local("missing URL".into()))?;
    Ok(Command::Autobahn {
        url,
        agent,
        config,
        tls,
        parallel,
    })
}

fn parse_bench(p: &mut lexopt::Parser) -> Result<Command, Local> {
    let mut o = bench::Options::default();
    let mut url = None;
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help(BENCH_USAGE)),
            Long("connections") => o.connections = positive(p, "--connections")?,
            Long("size") => o.size = p.value()?.parse()?,
            Long("seconds") => {
                o.seconds = p.value()?.parse()?;
                if !(o.seconds.is_finite() && o.seconds > 0.0) {
                    return Err(Local("--seconds must be a positive number".into()));
                }
            }
            Long("depth") => o.depth = positive(p, "--depth")?,
            Long("threads") => o.threads = positive(p, "--threads")?,
            Long("text") => o.text = true,
            Long("deflate") => o.deflate = true,
            Long("ca") => o.tls.ca.push(PathBuf::from(p.value()?)),
            Long("insecure") => o.tls.insecure = true,
            Value(v) if url.is_none() => url = Some(v.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    o.url = url.ok_or_else(|| Local("missing URL".into()))?;
    Ok(Command::Bench(o))
}

fn parse_load(p: &mut lexopt::Parser) -> Result<Command, Local> {
    let mut o = load::Options::default();
    let mut url = None;
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help(LOAD_USAGE)),
            Long("connections") => o.connections = positive(p, "--connections")?,
            Long("messages") => o.messages = p.value()?.parse()?,
            Long("size") => o.size = p.value()?.parse()?,
            Long("depth") => o.depth = positive(p, "--depth")?,
            Long("latency-connections") => o.latency_connections = p.value()?.parse()?,
            Long("sources") => {
                o.sources = p.value()?.parse()?;
                if !(1..=250).contains(&o.sources) {
                    return Err(Local("--sources must be 1 to 250".into()));
                }
            }
            Long("server-pid") => o.server_pid = Some(p.value()?.parse()?),
            Value(v) if url.is_none() => url = Some(v.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    o.url = url.ok_or_else(|| Local("missing URL".into()))?;
    Ok(Command::Load(o))
}

fn positive(p: &mut lexopt::Parser, name: &str) -> Result<usize, Local> {
    match p.value()?.parse::<usize>()? {
        0 => Err(Local(format!("{name} must be at least 1"))),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::{client, deflate, parse, ClientOptions, Command, Identity};
    use std::path::PathBuf;

    fn args(s: &str) -> Vec<std::ffi::OsString> {
        s.split_whitespace().map(Into::into).collect()
    }

    #[test]
    fn options_and_url_in_any_order() {
        for line in [
            "autobahn --agent me ws://h:1",
            "autobahn ws://h:1 --agent me",
            "autobahn --agent=me ws://h:1",
        ] {
            match parse(args(line)) {
                Ok(Command::Autobahn { url, agent, .. }) => {
                    assert_eq!((url.as_str(), agent.as_str()), ("ws://h:1", "me"), "{line}");
                }
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn serve_takes_its_options() {
        let Ok(Command::Serve(o)) = parse(args(
            "serve --ws 0.0.0.0:1 --workers 3 --handshake-timeout-ms 250",
        )) else {
            panic!()
        };
        assert_eq!(o.ws.as_deref(), Some("0.0.0.0:1"));
        assert_eq!(o.workers, Some(3));
        assert_eq!(o.config.handshake_timeout_ms, 250);
        let Ok(Command::Serve(o)) = parse(args("serve --write-timeout-ms 7 --idle-timeout-ms 0"))
        else {
            panic!()
        };
        assert_eq!((o.write_timeout_ms, o.idle_timeout_ms), (7, 0));
    }

    #[test]
    fn serve_takes_a_deflate_memory_choice() {
        let memory = |line: &str| match parse(args(line)) {
            Ok(Command::Serve(o)) => o.config.deflate.map(|d| d.memory),
            _ => panic!("{line}"),
        };
        assert_eq!(memory("serve"), Some(deflate::Memory::Large));
        assert_eq!(
            memory("serve --deflate-memory small"),
            Some(deflate::Memory::Small)
        );
        assert_eq!(
            memory("serve --deflate-memory large"),
            Some(deflate::Memory::Large)
        );
        assert!(parse(args("serve --deflate-memory huge")).is_err());
    }

    #[test]
    fn serve_listens_on_both_schemes_unless_told_otherwise() {
        let Ok(Command::Serve(o)) = parse(args("serve")) else {
            panic!()
        };
        assert_eq!(o.ws.as_deref(), Some("127.0.0.1:8888"));
        assert_eq!(o.wss.as_deref(), Some("127.0.0.1:8889"));
        assert_eq!(o.identity, Identity::SelfSigned);
        let Ok(Command::Serve(o)) = parse(args("serve --no-ws --wss :0 --cert c.pem --key k.pem"))
        else {
            panic!()
        };
        assert_eq!((o.ws, o.wss.as_deref()), (None, Some(":0")));
        assert_eq!(
            o.identity,
            Identity::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            }
        );
        let Ok(Command::Serve(o)) = parse(args("serve --no-wss")) else {
            panic!()
        };
        assert_eq!(o.wss, None);
    }

    #[test]
    fn clients_take_tls_trust_options() {
        let Ok(Command::Client(client::Options { tls, .. })) =
            parse(args("client --ca a.pem wss://h --ca b.pem --insecure"))
        else {
            panic!()
        };
        assert_eq!(tls.ca, vec![PathBuf::from("a.pem"), PathBuf::from("b.pem")]);
        assert!(tls.insecure);
        let Ok(Command::Autobahn { tls, .. }) = parse(args("autobahn wss://h")) else {
            panic!()
        };
        assert_eq!(
            tls,
            ClientOptions::default(),
            "--insecure is never the default"
        );
        let Ok(Command::Bench(o)) = parse(args("bench --ca x.pem wss://h")) else {
            panic!()
        };
        assert_eq!(o.tls.ca, vec![PathBuf::from("x.pem")]);
    }

    #[test]
    fn help_everywhere() {
        for line in [
            "",
            "--help",
            "help",
            "serve --help",
            "client -h",
            "help bench",
            "autobahn --help ws://x",
        ] {
            assert!(matches!(parse(args(line)), Ok(Command::Help(_))), "{line}");
        }
    }

    #[test]
    fn mistakes_are_one_line_and_name_the_help() {
        for (line, help) in [
            ("frobnicate", "'websock --help'"),
            ("serve --bogus", "'websock serve --help'"),
            ("serve --workers 0", "'websock serve --help'"),
            ("serve --workers lots", "'websock serve --help'"),
            ("client", "'websock client --help'"),
            ("client ws://a ws://b", "'websock client --help'"),
            ("bench --seconds -1 ws://a", "'websock bench --help'"),
            ("serve --cert c.pem", "'websock serve --help'"),
            ("serve --key k.pem", "'websock serve --help'"),
            ("serve --protocol a,b", "'websock serve --help'"),
            ("client --protocol a/b ws://a", "'websock client --help'"),
            ("client -H NoColon ws://a", "'websock client --help'"),
            ("client -H Host:x ws://a", "'websock client --help'"),
            ("client -H Bad(Name):x ws://a", "'websock client --help'"),
            ("client --ping-interval 0 ws://a", "'websock client --help'"),
            ("client --linger soon ws://a", "'websock client --help'"),
        ] {
            let e = parse(args(line)).expect_err(line).to_string();
            assert!(e.contains(help) && !e.contains('\n'), "{line}: {e}");
        }
    }

    #[test]
    fn client_options() {
        let Ok(Command::Client(o)) = parse(args(
            "client --protocol chat --protocol v2.x -H X-A:1 --header Origin:http://o \
             --linger 50 --binary --ping-interval 0.25 --slash --show-ping-pong ws://h",
        )) else {
            panic!()
        };
        assert_eq!(o.protocols, ["chat", "v2.x"]);
        assert_eq!(o.headers, "X-A: 1\r\nOrigin: http://o\r\n");
        assert_eq!(o.linger_ms, 50);
        assert!(o.binary && o.show_ping_pong && !o.exit_on_eof);
        assert_eq!(o.ping_interval_ms, Some(250));
        assert_eq!(o.slash, Some(true));
        let Ok(Command::Client(o)) = parse(args("client --exit-on-eof ws://h")) else {
            panic!()
        };
        assert!(o.exit_on_eof);
        assert_eq!(o.linger_ms, client::DEFAULT_LINGER_MS);
    }

    #[test]
    fn serve_options() {
        let Ok(Command::Serve(o)) =
            parse(args("serve --protocol chat --protocol b --quiet --no-page"))
        else {
            panic!()
        };
        assert_eq!(o.protocols, ["chat", "b"]);
        assert!(o.quiet && !o.page);
    }
}
