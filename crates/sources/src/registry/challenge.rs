//! `WWW-Authenticate` challenges (RFC 7235) as registries send them.

use std::collections::BTreeMap;

/// One parsed challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="..."`.
    Basic,
    /// `Bearer realm="...",service="...",scope="..."`.
    Bearer {
        /// Token endpoint.
        realm: String,
        /// `service` parameter, if sent.
        service: Option<String>,
        /// `scope` parameter, if sent.
        scope: Option<String>,
    },
}

/// Parses the first challenge of a `WWW-Authenticate` value we can answer (Bearer or Basic).
/// Returns `None` for schemes we do not speak or malformed values.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header
        .split_once(char::is_whitespace)
        .unwrap_or((header, ""));
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => {
            let mut params = parse_params(rest)?;
            let realm = params.remove("realm")?;
            if realm.is_empty() {
                return None;
            }
            Some(Challenge::Bearer {
                realm,
                service: params.remove("service"),
                scope: params.remove("scope"),
            })
        }
        _ => None,
    }
}

/// `key=value` or `key="quoted, value"` pairs separated by commas; keys lowercased.
fn parse_params(s: &str) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= b.len() {
            return Some(out);
        }
        let key_start = i;
        while i < b.len() && b[i] != b'=' && b[i] != b',' {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            return None;
        }
        let key = s[key_start..i].trim().to_ascii_lowercase();
        i += 1;
        let mut value = String::new();
        if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut closed = false;
            while i < b.len() {
                match b[i] {
                    b'\\' if i + 1 < b.len() => {
                        // The escaped character may be several bytes long (found by the
                        // property tests: slicing at i + 2 panicked inside a character).
                        let ch = s[i + 1..].chars().next()?;
                        value.push(ch);
                        i += 1 + ch.len_utf8();
                    }
                    b'"' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    _ => {
                        let ch = s[i..].chars().next()?;
                        value.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            if !closed {
                return None;
            }
        } else {
            let start = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            value = s[start..i].trim().to_string();
        }
        out.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escaped_multibyte_character_is_kept_whole() {
        assert_eq!(
            parse_challenge("Bearer realm=\"a\\Ⱥb\""),
            Some(Challenge::Bearer {
                realm: "aȺb".into(),
                service: None,
                scope: None
            })
        );
        assert_eq!(parse_challenge("Bearer A𑼋𐠸ଳ=\"\\Ⱥ~=?&="), None);
    }

    #[test]
    fn docker_hub_style_bearer() {
        let h = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#;
        assert_eq!(
            parse_challenge(h),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/ubuntu:pull".into()),
            })
        );
    }

    #[test]
    fn scopes_with_commas_spaces_and_unquoted_values() {
        let h = r#"bearer  service=reg, realm="http://127.0.0.1:1/t?x=1",scope="repository:a:pull,push repository:b:pull""#;
        let Some(Challenge::Bearer {
            realm,
            service,
            scope,
        }) = parse_challenge(h)
        else {
            panic!("no parse")
        };
        assert_eq!(realm, "http://127.0.0.1:1/t?x=1");
        assert_eq!(service.as_deref(), Some("reg"));
        assert_eq!(
            scope.as_deref(),
            Some("repository:a:pull,push repository:b:pull")
        );
    }

    #[test]
    fn basic_unknown_and_malformed() {
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(
            parse_challenge(r#"Bearer service="x""#),
            None,
            "realm is required"
        );
        assert_eq!(parse_challenge(r#"Bearer realm="unterminated"#), None);
        assert_eq!(parse_challenge("Bearer realm"), None);
    }
}
