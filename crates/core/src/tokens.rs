//! API tokens and caller identity, shared by the config check (which names the callers
//! `api.rights` may list) and the API's bearer-token middleware. Tokens are kept as SHA-256
//! digests and compared in constant time against every configured token, so neither content
//! nor position leaks through timing.
//!
//! Caller identity: a line of `api_tokens_file` may be `NAME:TOKEN`, where NAME is 1-64 of
//! `A-Z a-z 0-9 . _ @ -` starting with a letter or digit (e.g. `alice:6f1c...`); the caller is
//! then `NAME`. Any other line is the token as a whole and the caller is `token-` + the first 8
//! hex digits of the token's SHA-256 (e.g. `token-3f2a9c01`). The identity is what promotion
//! records as "by"; tokens themselves are never recorded or logged. A token that itself
//! looks like `word:rest` must be written with a name in front (`name:word:rest`).

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The accepted API tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    digests: Vec<[u8; 32]>,
    names: Vec<String>,
}

/// Who called: the name of the matching `api_tokens_file` line or the token's fingerprint
/// (see the module docs). Handlers behind the API's token middleware can extract it as an
/// extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller(pub String);

fn split_name(line: &str) -> (Option<&str>, &str) {
    if let Some((name, token)) = line.split_once(':') {
        let ok = !token.is_empty()
            && (1..=64).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
        if ok {
            return (Some(name), token);
        }
    }
    (None, line)
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} configured)", self.digests.len())
    }
}

impl Tokens {
    /// Accepts exactly `tokens`.
    /// Lines of the form `NAME:TOKEN` accept TOKEN and name the caller NAME.
    pub fn new(tokens: &[SecretString]) -> Self {
        let mut t = Self::default();
        for line in tokens {
            let (name, token) = split_name(line.expose_secret());
            let d = digest(token);
            t.names.push(match name {
                Some(n) => n.to_owned(),
                None => format!("token-{}", hex::encode(&d[..4])),
            });
            t.digests.push(d);
        }
        t
    }

    /// Whether `presented` is one of the tokens.
    pub fn accepts(&self, presented: &str) -> bool {
        self.identify(presented).is_some()
    }

    /// The caller `presented` identifies, if it is one of the tokens. Every token is compared
    /// in constant time.
    pub fn identify(&self, presented: &str) -> Option<Caller> {
        let d = digest(presented);
        let mut ok = subtle::Choice::from(0);
        let mut index = 0u32;
        for (i, known) in self.digests.iter().enumerate() {
            let eq = known.ct_eq(&d);
            ok |= eq;
            index = subtle::ConditionallySelectable::conditional_select(
                &index,
                &u32::try_from(i).unwrap_or(u32::MAX),
                eq,
            );
        }
        bool::from(ok).then(|| Caller(self.names[index as usize].clone()))
    }

    /// The callers the tokens identify, in file order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether any token is configured.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
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

    #[test]
    fn names_come_from_the_line_or_a_fingerprint() {
        let t = Tokens::new(&[
            "alice:s3cret-token-value".to_owned().into(),
            "plain-token".to_owned().into(),
            "bad name:tok".to_owned().into(),
        ]);
        assert_eq!(
            t.identify("s3cret-token-value"),
            Some(Caller("alice".into()))
        );
        assert!(t.identify("alice:s3cret-token-value").is_none());
        let fp = format!("token-{}", &hex::encode(digest("plain-token"))[..8]);
        assert_eq!(t.identify("plain-token"), Some(Caller(fp)));
        // not a valid name: the whole line is the token
        assert!(t.identify("bad name:tok").is_some());
        assert!(t.identify("tok").is_none());
        assert!(t.identify("nope").is_none());
    }
}
