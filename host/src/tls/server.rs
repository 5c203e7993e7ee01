//! The server's TLS configuration: a certificate chain and key from PEM
//! files, or, when none is given, a self-signed certificate for the local
//! host made at start, whose PEM is written where a client can find it.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;

use super::{provider, ALPN_HTTP_1_1};

/// The names a generated certificate is valid for.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Where the server's certificate comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Identity {
    /// Made at start, valid for [`SELF_SIGNED_NAMES`].
    #[default]
    SelfSigned,
    /// PEM files: the certificate chain (leaf first) and its private key
    /// (PKCS#8, PKCS#1 or SEC1).
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// The private key.
        key: PathBuf,
    },
}

/// A ready server configuration.
#[derive(Debug)]
pub struct ServerTls {
    /// Shared by every connection of every worker.
    pub config: Arc<ServerConfig>,
    /// The generated certificate's PEM file, if one was made; it is
    /// removed when this is dropped.
    pub written: Option<WrittenCert>,
}

/// A certificate file this process wrote; removed on drop.
#[derive(Debug)]
pub struct WrittenCert {
    /// Where it is.
    pub path: PathBuf,
}

impl Drop for WrittenCert {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Builds the configuration; errors are one line naming the file at fault.
pub fn configure(identity: &Identity) -> Result<ServerTls, String> {
    let (chain, key, written) = match identity {
        Identity::Files { cert, key } => (load_chain(cert)?, load_key(key)?, None),
        Identity::SelfSigned => {
            let (chain, key, pem) = self_signed()?;
            (chain, key, Some(write_cert(&pem)?))
        }
    };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| match identity {
            Identity::Files { cert, key } => format!(
                "cannot use certificate '{}' with key '{}': {e}",
                cert.display(),
                key.display()
            ),
            Identity::SelfSigned => format!("cannot use the generated certificate: {e}"),
        })?;
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(ServerTls {
        config: Arc::new(config),
        written,
    })
}

/// Every certificate in a PEM file, leaf first.
pub fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bad = |e: &dyn std::fmt::Display| {
        format!("cannot read certificates from '{}': {e}", path.display())
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if chain.is_empty() {
        return Err(format!(
            "no certificate in '{}' (expected PEM 'BEGIN CERTIFICATE')",
            path.display()
        ));
    }
    Ok(chain)
}

/// The first private key in a PEM file, of any of the usual encodings.
fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => format!(
            "no private key in '{}' (expected PEM 'PRIVATE KEY', 'RSA PRIVATE KEY' or 'EC PRIVATE KEY')",
            path.display()
        ),
        e => format!("cannot read a private key from '{}': {e}", path.display()),
    })
}

/// A fresh key pair and a certificate for the local host, signed by
/// itself: the chain, the key, and the certificate's PEM.
fn self_signed() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String), String> {
    let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|s| s.to_string()).collect();
    let made = rcgen::generate_simple_self_signed(names)
        .map_err(|e| format!("cannot make a self-signed certificate: {e}"))?;
    let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    Ok((vec![made.cert.der().clone()], key.into(), made.cert.pem()))
}

/// Writes a generated certificate's PEM to a file of its own in the
/// system's temporary folder (the process id and a random tag name it, so
/// that servers started side by side never share one).
fn write_cert(pem: &str) -> Result<WrittenCert, String> {
    let mut tag = [0u8; 4];
    getrandom::fill(&mut tag).map_err(|e| format!("no randomness from the OS: {e}"))?;
    let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    let path = std::env::temp_dir().join(format!("websock-{}-{tag}-cert.pem", std::process::id()));
    let fail = |e: std::io::Error| format!("cannot write '{}': {e}", path.display());
    // create_new: never follow or reuse a file someone else put there.
    let mut file: File = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(fail)?;
    let written = WrittenCert { path: path.clone() };
    file.write_all(pem.as_bytes()).map_err(fail)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::{configure, load_chain, Identity};
    use std::path::PathBuf;

    #[test]
    fn self_signed_certificate_is_written_then_removed() {
        let tls = configure(&Identity::SelfSigned).expect("self-signed set-up");
        let path = tls
            .written
            .as_ref()
            .expect("a written certificate")
            .path
            .clone();
        let chain = load_chain(&path).expect("the written PEM parses");
        assert_eq!(chain.len(), 1);
        assert_eq!(tls.config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        drop(tls);
        assert!(!path.exists(), "removed with the configuration");
    }

    #[test]
    fn missing_files_are_named() {
        let e = configure(&Identity::Files {
            cert: PathBuf::from("/nonexistent/cert.pem"),
            key: PathBuf::from("/nonexistent/key.pem"),
        })
        .unwrap_err();
        assert!(
            e.contains("/nonexistent/cert.pem") && !e.contains('\n'),
            "{e}"
        );
    }
}
