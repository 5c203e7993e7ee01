//! The client's TLS configuration: whom to trust (the system's roots, or
//! Mozilla's bundled ones where the system has none, plus `--ca` files)
//! and the loudly labelled way to trust anyone (`--insecure`).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::server::load_chain;
use super::{provider, ALPN_HTTP_1_1};

/// What `--ca` and `--insecure` asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientOptions {
    /// PEM files of certificate authorities to trust besides the system's.
    pub ca: Vec<PathBuf>,
    /// Accept any server certificate (encryption without authentication).
    pub insecure: bool,
}

/// The warning printed whenever `--insecure` is in force.
pub const INSECURE_WARNING: &str = "websock: WARNING: --insecure: the server's certificate is \
    NOT checked; anyone on the path can read and change this connection";

/// Builds the configuration; a bad `--ca` file is a one-line error.
/// With `--insecure` it prints [`INSECURE_WARNING`] on stderr.
pub fn configure(options: &ClientOptions) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    let mut config = if options.insecure {
        eprintln!("{INSECURE_WARNING}");
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots(&options.ca)?)
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    Ok(Arc::new(config))
}

/// The system's trust store (Mozilla's roots where it is empty or
/// missing), plus every certificate in the `--ca` files.
fn roots(ca_files: &[PathBuf]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    // Unreadable system certificates are skipped, as every TLS client
    // does; the verdict on the server's certificate says what is missing.
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for path in ca_files {
        for cert in load_chain(path)? {
            roots
                .add(cert)
                .map_err(|e| format!("cannot trust a certificate in '{}': {e}", path.display()))?;
        }
    }
    Ok(roots)
}

/// `--insecure`: any certificate for any name. The handshake signatures
/// are still checked (so the peer holds the key of the certificate it
/// shows), which proves nothing about who the peer is.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::{configure, ClientOptions};
    use std::path::PathBuf;

    #[test]
    fn offers_http_1_1() {
        let config = configure(&ClientOptions::default()).expect("default set-up");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn a_bad_ca_file_is_one_line() {
        let e = configure(&ClientOptions {
            ca: vec![PathBuf::from("/nonexistent/ca.pem")],
            insecure: false,
        })
        .unwrap_err();
        assert!(
            e.contains("/nonexistent/ca.pem") && !e.contains('\n'),
            "{e}"
        );
    }
}
