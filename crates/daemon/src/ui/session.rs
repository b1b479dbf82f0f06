//! Dashboard sessions, kept in no store so that any replica sharing the config accepts them.
//!
//! Logging in exchanges an API token (a line of `api_tokens_file`) for a cookie
//! `CALLER.EXPIRES.MAC`: the caller's name (base64url), the expiry (Unix seconds) and an
//! HMAC-SHA256 over both. The HMAC key is derived from the whole token file, so every replica
//! reading the same file computes the same key, and changing the file (rotating or removing a
//! token) changes the key and ends every session. The token itself is never in the cookie.
//!
//! CSRF: every form that acts carries `csrf`, an HMAC of the session cookie under the same
//! key (a synchronizer token that needs no storage). A cross-site page can neither read the
//! cookie (HttpOnly) nor compute the token; SameSite=Strict keeps the cookie off cross-site
//! requests besides.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The session cookie's name.
pub const COOKIE: &str = "baton_session";
/// How long a session lasts after login.
pub const TTL: Duration = Duration::from_secs(12 * 3600);

/// The key sessions and CSRF tokens are signed with; `None` when no token is configured
/// (nobody can log in).
#[derive(Clone)]
pub struct SessionKey(Option<[u8; 32]>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

/// A valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who logged in, as the API names the caller.
    pub caller: String,
    /// The cookie value, which the CSRF token is derived from.
    pub cookie: String,
}

impl SessionKey {
    /// Derives the key from the lines of `api_tokens_file` (as [`baton_core::config::secrets`]
    /// read them).
    pub fn from_tokens(lines: &[SecretString]) -> Self {
        if lines.is_empty() {
            return Self(None);
        }
        let mut mac = mac(b"baton dashboard session key v1");
        for line in lines {
            mac.update(line.expose_secret().as_bytes());
            mac.update(b"\n");
        }
        Self(Some(mac.finalize().into_bytes().into()))
    }

    /// Whether anyone can log in.
    pub fn usable(&self) -> bool {
        self.0.is_some()
    }

    fn mac(&self) -> Option<HmacSha256> {
        self.0.as_ref().map(|k| mac(k))
    }

    /// A cookie value for `caller`, valid until `now_s + TTL` (Unix seconds).
    pub fn issue(&self, caller: &str, now_s: i64) -> Option<String> {
        let expires = now_s + TTL.as_secs() as i64;
        let name = B64.encode(caller);
        let mut m = self.mac()?;
        m.update(format!("session\n{name}\n{expires}").as_bytes());
        let tag = B64.encode(m.finalize().into_bytes());
        Some(format!("{name}.{expires}.{tag}"))
    }

    /// The session `cookie` carries, if its MAC holds and it has not expired at `now_s`.
    pub fn verify(&self, cookie: &str, now_s: i64) -> Option<Session> {
        let mut parts = cookie.split('.');
        let (name, expires, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let mut m = self.mac()?;
        m.update(format!("session\n{name}\n{expires}").as_bytes());
        m.verify_slice(&B64.decode(tag).ok()?).ok()?;
        if expires.parse::<i64>().ok()? <= now_s {
            return None;
        }
        let caller = String::from_utf8(B64.decode(name).ok()?).ok()?;
        Some(Session {
            caller,
            cookie: cookie.to_owned(),
        })
    }

    /// The CSRF token of `session`.
    pub fn csrf(&self, session: &Session) -> String {
        match self.mac() {
            Some(mut m) => {
                m.update(format!("csrf\n{}", session.cookie).as_bytes());
                B64.encode(m.finalize().into_bytes())
            }
            None => String::new(),
        }
    }

    /// Whether `presented` is the CSRF token of `session` (constant-time comparison).
    pub fn check_csrf(&self, session: &Session, presented: &str) -> bool {
        let (Some(mut m), Ok(tag)) = (self.mac(), B64.decode(presented)) else {
            return false;
        };
        m.update(format!("csrf\n{}", session.cookie).as_bytes());
        m.verify_slice(&tag).is_ok()
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(lines: &[&str]) -> SessionKey {
        let lines: Vec<SecretString> = lines.iter().map(|l| (*l).to_owned().into()).collect();
        SessionKey::from_tokens(&lines)
    }

    #[test]
    fn a_session_holds_until_it_expires_and_names_the_caller() {
        let k = key(&["alice:tok-a", "tok-b"]);
        let c = k.issue("alice", 1_000).unwrap();
        assert!(!c.contains("tok-a"), "the token is not in the cookie");
        let s = k.verify(&c, 1_001).unwrap();
        assert_eq!(s.caller, "alice");
        assert!(k.verify(&c, 1_000 + TTL.as_secs() as i64).is_none());
    }

    #[test]
    fn tampering_or_another_token_file_ends_the_session() {
        let k = key(&["alice:tok-a"]);
        let c = k.issue("alice", 1_000).unwrap();
        let (_, rest) = c.split_once('.').unwrap();
        let forged = format!("{}.{rest}", B64.encode("root"));
        assert!(k.verify(&forged, 1_001).is_none());
        let longer = c.replacen(".", ".9", 1);
        assert!(k.verify(&longer, 1_001).is_none());
        // The same file on another replica accepts it; a rotated file does not.
        assert!(key(&["alice:tok-a"]).verify(&c, 1_001).is_some());
        assert!(key(&["alice:tok-new"]).verify(&c, 1_001).is_none());
        assert!(key(&[]).verify(&c, 1_001).is_none());
        assert!(!key(&[]).usable());
    }

    #[test]
    fn csrf_tokens_belong_to_one_session() {
        let k = key(&["alice:tok-a", "bob:tok-b"]);
        let a = k.verify(&k.issue("alice", 1_000).unwrap(), 1_001).unwrap();
        let b = k.verify(&k.issue("bob", 1_000).unwrap(), 1_001).unwrap();
        let ta = k.csrf(&a);
        assert!(k.check_csrf(&a, &ta));
        assert!(!k.check_csrf(&b, &ta));
        assert!(!k.check_csrf(&a, ""));
        assert!(!k.check_csrf(&a, "not base64!"));
        assert!(!format!("{k:?}").contains(&ta));
    }
}
