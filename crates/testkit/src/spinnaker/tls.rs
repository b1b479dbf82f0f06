//! HTTPS for the stand-in, optionally requiring client certificates (Gate's X.509 auth).

use std::io;
use std::sync::Arc;

use axum::Router;
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

/// TLS settings: the server's identity and, when set, the CA every client certificate must
/// chain to (connections without such a certificate fail the handshake).
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// PEM with the server certificate chain and its private key.
    pub server_identity_pem: Vec<u8>,
    /// PEM CA certificates for client certificates; `None` = no client certificates asked.
    pub client_ca_pem: Option<Vec<u8>>,
}

fn invalid(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {e}"))
}

/// Builds the acceptor; errors name the PEM that is wrong.
pub(crate) fn acceptor(settings: &TlsSettings) -> io::Result<TlsAcceptor> {
    spinnaker_client::install_crypto_provider();
    let pem = &settings.server_identity_pem;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid("server identity PEM (certificates)", e))?;
    let key = PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| invalid("server identity PEM (private key)", e))?;
    let builder = rustls::ServerConfig::builder();
    let builder = match &settings.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca) {
                let cert = cert.map_err(|e| invalid("client CA PEM", e))?;
                roots.add(cert).map_err(|e| invalid("client CA PEM", e))?;
            }
            let verifier = WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|e| invalid("client CA PEM", e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| invalid("server identity PEM", e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts TLS connections and serves `app` over HTTP/1.1 until `token` is cancelled.
pub(crate) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    app: Router,
    token: CancellationToken,
) {
    loop {
        let tcp = tokio::select! {
            _ = token.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(_) => continue,
            },
        };
        let (acceptor, app, token) = (acceptor.clone(), app.clone(), token.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| app.clone().oneshot(req));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service);
            tokio::select! {
                _ = conn => {}
                _ = token.cancelled() => {}
            }
        });
    }
}
