//! The one redaction helper for anything baton shows: `check` tables, `status`, errors and
//! logs. A URL keeps its user name and loses its password (`https://bob:***@host/`), free text
//! (a git error, a transport error) has every `scheme://user:password@` in it masked, and the
//! values of headers that carry credentials are replaced.
//!
//! ```
//! use baton_http::redact;
//! assert_eq!(redact::url("https://bob:hunter2@git.example.com/c.git"), "https://bob:***@git.example.com/c.git");
//! assert_eq!(redact::text("fatal: unable to access 'https://bob:hunter2@h/c.git/'"), "fatal: unable to access 'https://bob:***@h/c.git/'");
//! assert_eq!(redact::header("Authorization", "Bearer abc"), "Bearer ***");
//! ```

/// What replaces a secret.
pub const MASK: &str = "***";

/// `url` with any password replaced by [`MASK`]; text that is not a URL is scanned as
/// [`text`], so nothing slips through a parse failure.
pub fn url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some(MASK));
            u.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => text(url),
    }
}

/// `text` with the password of every `scheme://user:password@` in it replaced by [`MASK`].
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first '/', whitespace, quote or bracket.
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || "'\"<>()[]{}`,;?#".contains(c))
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.find(':') {
                    Some(colon) => {
                        out.push_str(&userinfo[..colon]);
                        out.push(':');
                        out.push_str(MASK);
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Headers whose whole value is a credential.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-gitlab-token",
    "x-hub-signature",
    "x-hub-signature-256",
    "x-gitea-signature",
    "x-jenkins-crumb",
    "jenkins-crumb",
    "x-api-key",
];

/// The value of header `name` as it may be shown: credentials masked (an `Authorization`
/// keeps its scheme word, `Bearer ***`), URLs in other headers (`Location`) redacted.
pub fn header(name: &str, value: &str) -> String {
    let name = name.to_ascii_lowercase();
    if SECRET_HEADERS.contains(&name.as_str()) {
        return match value.split_once(' ') {
            Some((scheme, _)) if name.ends_with("authorization") => format!("{scheme} {MASK}"),
            _ => MASK.to_owned(),
        };
    }
    text(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_and_the_rest_is_kept() {
        assert_eq!(url("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(url("sqlite://a.db"), "sqlite://a.db");
        assert_eq!(url("https://tok@h/x"), "https://tok@h/x");
        assert_eq!(url("not a url user:pw@x"), "not a url user:pw@x");
        assert_eq!(
            text("GET https://u:p@a/b failed; retry http://x:y@c:8080"),
            "GET https://u:***@a/b failed; retry http://x:***@c:8080"
        );
        assert_eq!(text("'https://u:p:q@h/'"), "'https://u:***@h/'");
        assert_eq!(text("no urls here"), "no urls here");
        assert_eq!(text("a://"), "a://");
        assert_eq!(header("X-Gitlab-Token", "s3cret"), MASK);
        assert_eq!(header("cookie", "a=b"), MASK);
        assert_eq!(header("Location", "https://u:p@h/"), "https://u:***@h/");
        assert_eq!(header("Content-Type", "text/plain"), "text/plain");
    }
}
