//! Bearer-token checks for `/v1/*`. Tokens are kept as SHA-256 digests and compared in constant
//! time against every configured token, so neither content nor position leaks through timing.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;

/// The accepted API tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.digests.len())
    }
}

impl Tokens {
    /// Accepts exactly `tokens`.
    pub fn new(tokens: &[SecretString]) -> Self {
        Self {
            digests: tokens.iter().map(|t| digest(t.expose_secret())).collect(),
        }
    }

    /// Whether `presented` is one of the tokens.
    pub fn accepts(&self, presented: &str) -> bool {
        let d = digest(presented);
        let mut ok = subtle::Choice::from(0);
        for known in &self.digests {
            ok |= known.ct_eq(&d);
        }
        ok.into()
    }

    /// Whether any token is configured.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// Middleware: lets the request through only with a valid `Authorization: Bearer` header.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if state.tokens.is_empty() {
        return Err(ApiError::Unauthorized(
            "this daemon accepts no API tokens: set api_tokens_file in its config".into(),
        ));
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        });
    match presented {
        None => Err(ApiError::Unauthorized(
            "send Authorization: Bearer <token> (a line of the daemon's api_tokens_file)".into(),
        )),
        Some(t) if state.tokens.accepts(t) => Ok(next.run(request).await),
        Some(_) => Err(ApiError::Unauthorized(
            "the bearer token is not accepted".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_configured_tokens() {
        let t = Tokens::new(&["alpha".to_owned().into(), "beta".to_owned().into()]);
        assert!(t.accepts("alpha") && t.accepts("beta"));
        assert!(!t.accepts("alph") && !t.accepts("") && !t.accepts("alphaa"));
        assert!(Tokens::default().is_empty());
        assert!(!format!("{t:?}").contains("alpha"));
    }
}
