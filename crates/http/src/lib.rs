//! The HTTP plumbing every outbound client of baton shares, written once: the Jenkins and
//! Spinnaker clients, the registry, Helm and git-over-HTTP sources, and the CLI's client of
//! the daemon all build on it.
//!
//! - [`client_builder`]: a `reqwest` builder with the TLS provider installed, the process's
//!   one TLS verifier, timeouts, no automatic redirects and a `baton` user agent; each client
//!   adds what is its own (cookies, a redirect policy).
//! - [`tls`]: the system's root certificates read once per process and shared by every
//!   client; a client's own CA or client certificate ([`tls::ClientTls`]).
//! - [`retry`]: reading `Retry-After` and the bounded, jittered exponential backoff (built on
//!   `backon`) for the loops that retry a request.
//! - [`body`]: reading a body with a size limit, and a short excerpt of it for error messages.
//! - [`RequestError`]: a request that got no usable answer (transport failure, answer too
//!   large), one type that the Jenkins and Spinnaker clients wrap.
//! - [`chain`]: an error with its causes, redacted, for messages that say *why*.
//! - [`redact`]: the one redaction helper for any URL, header or text baton shows.
//!
//! Which client does what with a failed answer (Jenkins' crumb retry, Gate's kork errors, a
//! registry's token dance) stays in that client: those are rules of the peer, not of HTTP.

pub mod body;
pub mod redact;
mod request;
pub mod retry;
pub mod tls;

pub use request::RequestError;

use std::time::Duration;

/// Installs rustls' ring crypto provider as the process default (needed before any
/// `reqwest::Client` is built); does nothing when one is installed already.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A `reqwest` client builder with the crypto provider installed, the shared TLS verifier
/// ([`tls::shared`]: the system's roots are read once per process, not once per client),
/// `timeout` per request (the whole exchange), a connect timeout of at most 10 s, redirects off
/// (a client that follows them says so) and `user_agent`. A client with a CA or a client
/// certificate of its own sets them with [`tls::ClientTls::apply`], not on the builder.
pub fn client_builder(user_agent: &str, timeout: Duration) -> reqwest::ClientBuilder {
    tls::shared(reqwest::Client::builder())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(user_agent)
}

/// `e` and its causes, `a: b: c`, so a transport error says why ("connection refused",
/// "certificate expired") and not only "error sending request". A cause whose text the chain
/// already ends with is not repeated; URLs in the text are redacted.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = cause.source();
    }
    redact::text(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct E(String, #[source] Option<Box<E>>);

    #[test]
    fn chain_names_each_cause_once_and_masks_passwords() {
        let root = E("connection refused".into(), None);
        let mid = E("connection refused".into(), Some(Box::new(root)));
        let top = E(
            "error sending request for https://u:pw@h/x".into(),
            Some(Box::new(mid)),
        );
        assert_eq!(
            chain(&top),
            "error sending request for https://u:***@h/x: connection refused"
        );
    }
}
