//! Helpers for the wss:// tests: certificates made with rcgen (a private
//! CA, leaves for chosen names and dates), a `websock serve --wss` whose
//! log lines the test can wait for, and a `websock client` driven line by
//! line. Every wait is bounded.

#![allow(dead_code)] // each test uses its own subset

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use crate::common::{wait_child, BIN, IO_TIMEOUT};

/// A folder of its own for one test's files, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "websock-test-{name}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        std::fs::create_dir_all(&dir).expect("make a temporary folder");
        TempDir(dir)
    }

    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write a test file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A private certificate authority.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// Its certificate, PEM.
    pub pem: String,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A leaf for `names`, valid from `from` to `until` (years), as
    /// (certificate PEM, key PEM).
    pub fn leaf(&self, names: &[&str], from: i32, until: i32) -> (String, String) {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.not_before = rcgen::date_time_ymd(from, 1, 1);
        params.not_after = rcgen::date_time_ymd(until, 1, 1);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// `websock serve` with wss:// only, on a port the system picked. Its
/// stderr lines arrive on `log`. Killed on drop.
pub struct TlsServer {
    pub child: Child,
    pub addr: SocketAddr,
    /// The start line.
    pub start_line: String,
    log: Receiver<String>,
}

impl TlsServer {
    /// Starts `websock serve --no-ws --wss 127.0.0.1:0` plus `args`.
    pub fn start(args: &[&str]) -> TlsServer {
        let mut child = Command::new(BIN)
            .args(["serve", "--no-ws", "--wss", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start websock serve");
        let mut start_line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut start_line)
            .expect("read the start line");
        let addr = start_line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("wss://"))
            .unwrap_or_else(|| panic!("no wss:// address in start line {start_line:?}"))
            .trim_end_matches([',', ';', ')'])
            .parse()
            .unwrap_or_else(|e| panic!("bad address in {start_line:?}: {e}"));
        let log = lines_of(child.stderr.take().expect("piped stderr"));
        TlsServer {
            child,
            addr,
            start_line,
            log,
        }
    }

    /// Waits (bounded) for the process to exit by itself.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        wait_child(&mut self.child, IO_TIMEOUT)
    }

    /// `wss://localhost:PORT/`.
    pub fn url(&self) -> String {
        format!("wss://localhost:{}/", self.addr.port())
    }

    /// Waits (bounded) for a log line containing `needle` and returns it.
    pub fn expect_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + IO_TIMEOUT;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!("no log line with {needle:?} within {IO_TIMEOUT:?}; saw {seen:?}");
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines from a pipe, read on a thread of their own.
fn lines_of(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// A `websock client` typed into line by line.
pub struct Typist {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
}

impl Typist {
    pub fn start(args: &[&str]) -> Typist {
        let mut child = Command::new(BIN)
            .arg("client")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start websock client");
        let stdin = child.stdin.take();
        let stdout = lines_of(child.stdout.take().expect("piped stdout"));
        let stderr = lines_of(child.stderr.take().expect("piped stderr"));
        Typist {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Sends a line and checks that it comes back.
    pub fn echo(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("input still open");
        writeln!(stdin, "{line}").expect("type a line");
        stdin.flush().unwrap();
        match self.stdout.recv_timeout(IO_TIMEOUT) {
            Ok(got) => assert_eq!(got, line),
            Err(_) => panic!(
                "no echo of {line:?} within {IO_TIMEOUT:?}; stderr: {:?}",
                self.stderr.try_iter().collect::<Vec<_>>()
            ),
        }
    }

    /// Ends the input and returns (exit success, stderr lines).
    pub fn finish(mut self) -> (bool, Vec<String>) {
        drop(self.stdin.take());
        let status = wait_child(&mut self.child, Duration::from_secs(30));
        // The stderr thread ends with the process.
        let stderr: Vec<String> = self.stderr.iter().collect();
        (status.success(), stderr)
    }
}

impl Drop for Typist {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking TLS connection to `addr` as `localhost` from rustls,
/// trusting `ca_pem` and offering `alpn`; the handshake is completed (or
/// its error returned).
pub fn tls_connect(
    addr: SocketAddr,
    ca_pem: &str,
    alpn: &[&[u8]],
) -> std::io::Result<rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let conn =
        rustls::ClientConnection::new(std::sync::Arc::new(config), "localhost".try_into().unwrap())
            .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, crate::common::connect(addr));
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// The path of the certificate a self-signing server wrote, from its
/// start line.
pub fn written_cert(start_line: &str) -> PathBuf {
    let path = start_line
        .trim_end()
        .rsplit_once("written to ")
        .unwrap_or_else(|| panic!("no certificate path in {start_line:?}"))
        .1
        .trim_end_matches(')');
    Path::new(path).to_path_buf()
}
