//! TLS for every outbound client, set up once per process.
//!
//! reqwest builds a `rustls-platform-verifier` verifier for each client it builds, and on Linux
//! that reads and decodes every root certificate of the system (145 files on Debian, ~150 file
//! opens) each time. baton builds five clients at start, so [`platform_verifier`] builds the
//! verifier once and every client's `rustls::ClientConfig` shares it ([`ClientTls::config`]);
//! a client with a CA of its own or a client certificate says so with [`ClientTls`] and gets
//! its own verifier or identity, the others stay on the shared one.

use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls_platform_verifier::Verifier;

/// Why a client's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM input (a CA certificate, a client certificate and key) did not decode.
    #[error("cannot read the {what}")]
    Pem {
        /// Which input.
        what: &'static str,
        /// The cause.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused the roots, the certificate or the key.
    #[error("cannot set up TLS: {what}")]
    Rustls {
        /// What was being set up.
        what: &'static str,
        /// The cause.
        #[source]
        source: rustls::Error,
    },
}

/// The verifier on the platform's roots, built on first use and shared by every client of the
/// process (a failure is kept as well: every client reports it, none retries the read).
pub fn platform_verifier() -> Result<Arc<Verifier>, TlsError> {
    static VERIFIER: OnceLock<Result<Arc<Verifier>, rustls::Error>> = OnceLock::new();
    VERIFIER
        .get_or_init(|| {
            #[cfg(test)]
            tests::LOADS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Verifier::new(provider()).map(Arc::new)
        })
        .clone()
        .map_err(|source| TlsError::Rustls {
            what: "the system's root certificates",
            source,
        })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    crate::install_crypto_provider();
    rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}

/// One client's TLS settings: the shared platform verifier unless the client trusts a CA of
/// its own, and a client certificate when it has one. ALPN offers HTTP/2 and HTTP/1.1, as
/// reqwest does for the clients it sets up itself.
#[derive(Default)]
pub struct ClientTls {
    extra_roots: Vec<CertificateDer<'static>>,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("extra_roots", &self.extra_roots.len())
            .field("identity", &self.identity.as_ref().map(|_| "***"))
            .finish()
    }
}

impl ClientTls {
    /// Trusts the CA certificates of `pem` in addition to the system's roots.
    pub fn extra_roots_pem(mut self, pem: &[u8]) -> Result<Self, TlsError> {
        let pem_error = |source| TlsError::Pem {
            what: "CA certificate (PEM)",
            source,
        };
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem_error)?;
        if certs.is_empty() {
            return Err(pem_error(rustls::pki_types::pem::Error::NoItemsFound));
        }
        self.extra_roots.extend(certs);
        Ok(self)
    }

    /// Presents the certificate chain and private key of `pem` (one PEM holding both) to
    /// servers that ask for a client certificate.
    pub fn identity_pem(mut self, pem: &[u8]) -> Result<Self, TlsError> {
        let what = "client certificate (X.509 PEM with certificate and key)";
        let pem_error = |source| TlsError::Pem { what, source };
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(pem_error)?;
        if certs.is_empty() {
            return Err(pem_error(rustls::pki_types::pem::Error::NoItemsFound));
        }
        let key = PrivateKeyDer::from_pem_slice(pem).map_err(pem_error)?;
        self.identity = Some((certs, key));
        Ok(self)
    }

    /// The rustls config for one client. Without extra roots it verifies with the shared
    /// [`platform_verifier`], so building it reads no file.
    pub fn config(self) -> Result<ClientConfig, TlsError> {
        let provider = provider();
        let verifier = if self.extra_roots.is_empty() {
            platform_verifier()?
        } else {
            Arc::new(
                Verifier::new_with_extra_roots(self.extra_roots, provider.clone()).map_err(
                    |source| TlsError::Rustls {
                        what: "the system's roots and the extra CA certificates",
                        source,
                    },
                )?,
            )
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|source| TlsError::Rustls {
                what: "protocol versions",
                source,
            })?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match self.identity {
            Some((certs, key)) => builder
                .with_client_auth_cert(certs, key)
                .map_err(|source| TlsError::Rustls {
                    what: "the client certificate and key",
                    source,
                })?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }

    /// `builder` with this TLS config. reqwest ignores its own TLS options (roots, identity)
    /// on a builder given a config, so a client sets them here, not on the builder.
    pub fn apply(
        self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, TlsError> {
        Ok(builder.tls_backend_preconfigured(self.config()?))
    }
}

/// `builder` on the shared platform verifier. When the system's roots cannot be read, the
/// builder is left as it is, so `build()` fails with reqwest's own account of why.
pub fn shared(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    match ClientTls::default().config() {
        Ok(config) => builder.tls_backend_preconfigured(config),
        Err(_) => builder,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// How often the platform's roots were read in this process.
    pub(crate) static LOADS: AtomicUsize = AtomicUsize::new(0);

    /// The CA of the Spinnaker client's mutual-TLS test.
    const CA: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../spinnaker-client/tests/fixtures/tls_ca.pem"
    ));

    #[test]
    fn every_client_shares_one_read_of_the_system_roots() {
        for _ in 0..5 {
            crate::client_builder("t", Duration::from_secs(1))
                .build()
                .unwrap();
        }
        let a = platform_verifier().unwrap();
        let b = platform_verifier().unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(LOADS.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_client_of_its_own_ca_gets_a_verifier_of_its_own() {
        let shared = ClientTls::default().config().unwrap();
        assert_eq!(
            shared.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        let own = ClientTls::default().extra_roots_pem(CA).unwrap();
        assert_eq!(own.extra_roots.len(), 1);
        let own = own.config().unwrap();
        assert!(!own.client_auth_cert_resolver.has_certs());
    }

    #[test]
    fn bad_pem_is_refused_without_echoing_it() {
        let err = ClientTls::default()
            .identity_pem(b"not a pem: hunter2")
            .unwrap_err();
        assert!(matches!(err, TlsError::Pem { .. }), "{err}");
        assert!(!crate::chain(&err).contains("hunter2"));
        let err = ClientTls::default().extra_roots_pem(b"").unwrap_err();
        assert!(matches!(err, TlsError::Pem { .. }), "{err}");
    }
}
