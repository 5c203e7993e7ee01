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
use crate::{bench, serve};

/// The top-level help.
pub const USAGE: &str = "\
websock: a WebSocket (RFC 6455) echo server, client and Autobahn driver

Usage:
  websock serve [options]                    echo server (ws://127.0.0.1:8888 and
                                             wss://127.0.0.1:8889)
  websock client [options] URL               terminal client: stdin lines out, messages in
  websock autobahn [--agent NAME] URL        Autobahn fuzzingserver client driver
  websock bench [options] URL                echo load generator

URLs are ws://host[:port][/path] or wss://host[:port][/path] (TLS).
'websock <command> --help' shows each command's options.
";

const SERVE_USAGE: &str = "\
Usage: websock serve [options]

Echoes every text and binary message on any path, streaming (pieces go
back as fragments of up to 64 KiB). Prints one line saying where it listens;
stops cleanly on SIGINT or SIGTERM (open connections are closed with 1001).

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
  --close-timeout-ms MS       wait this long for the peer's close frame
                              (default 5000)
  --max-message-size BYTES    fail larger messages with 1009 (default 64 MiB)
  --max-pending-output BYTES  stop reading a connection while this much of its
                              output waits to be written (default 16 MiB: some
                              peers write a whole message before reading)
  --no-deflate                refuse permessage-deflate offers (accepted by
                              default, within the client's window limits)
  --deflate-level N           zlib level 0-9 for what we compress (default 1)
  -h, --help                  this help
";

const CLIENT_USAGE: &str = "\
Usage: websock client [options] URL

Sends each line of standard input as a text message and prints each
message received on a line of its own (binary ones as '[binary] <hex>').
End of input (Ctrl-D) closes the connection with 1000 and waits for the
closing handshake. Exits 0 after a clean close, 1 otherwise (with one line
on stderr saying why).

Options:
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
    Client {
        /// The server.
        url: String,
        /// Timeouts.
        config: Config,
        /// Whom to trust for wss://.
        tls: ClientOptions,
    },
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

fn parse_serve(p: &mut lexopt::Parser) -> Result<Command, Local> {
    let mut o = serve::Options::default();
    let (mut cert, mut key) = (None, None);
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help(SERVE_USAGE)),
            Long("no-deflate") => o.config.deflate = None,
            Long("deflate-level") => deflate_level(p, &mut o.config)?,
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
    let mut config = default_config();
    let mut tls = ClientOptions::default();
    let mut url = None;
    while let Some(arg) = p.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help(CLIENT_USAGE)),
            Long("no-deflate") => config.deflate = None,
            Long("ca") => tls.ca.push(PathBuf::from(p.value()?)),
            Long("insecure") => tls.insecure = true,
            Long("handshake-timeout-ms") => config.handshake_timeout_ms = p.value()?.parse()?,
            Long("close-timeout-ms") => config.close_timeout_ms = p.value()?.parse()?,
            Value(v) if url.is_none() => url = Some(v.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let url = url.ok_or_else(|| Local("missing URL".into()))?;
    Ok(Command::Client { url, config, tls })
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

fn positive(p: &mut lexopt::Parser, name: &str) -> Result<usize, Local> {
    match p.value()?.parse::<usize>()? {
        0 => Err(Local(format!("{name} must be at least 1"))),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, ClientOptions, Command, Identity};
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
        let Ok(Command::Client { tls, .. }) =
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
        ] {
            let e = parse(args(line)).expect_err(line).to_string();
            assert!(e.contains(help) && !e.contains('\n'), "{line}: {e}");
        }
    }
}
