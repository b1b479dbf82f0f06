//! Container image references (`host/repo:tag`, `host/repo@sha256:...`), parsed strictly enough
//! to catch typos in the config and in `/built` reports.

use std::fmt;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host with optional port.
    pub host: String,
    /// Repository path inside the registry.
    pub repository: String,
    /// Tag, if given.
    pub tag: Option<String>,
    /// Digest (`sha256:<64 hex>`), if given.
    pub digest: Option<String>,
}

impl ImageRef {
    /// `host/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.host, self.repository)
    }

    /// Parses `host/repo[:tag][@sha256:hex]`. The host must be explicit (contain a `.` or `:`,
    /// or be `localhost`).
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("is empty".to_owned());
        }
        if s.chars().any(|c| c.is_whitespace()) {
            return Err(format!("{s:?} contains whitespace"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => {
                check_digest(digest).map_err(|e| format!("{s:?}: {e}"))?;
                (rest, Some(digest.to_owned()))
            }
            None => (s, None),
        };
        let (host, path) = rest.split_once('/').ok_or_else(|| {
            format!("{s:?} has no registry host; write it as host/repository, e.g. registry.example.com/team/app")
        })?;
        if !(host.contains('.') || host.contains(':') || host == "localhost") {
            return Err(format!(
                "{s:?} starts with {host:?}, which is not a registry host; write host/repository"
            ));
        }
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repo, tag)) => (repo, Some(tag.to_owned())),
            None => (path, None),
        };
        if repository.is_empty()
            || repository.split('/').any(|c| {
                c.is_empty()
                    || !c.chars().all(|ch| {
                        ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch)
                    })
            })
        {
            return Err(format!(
                "{s:?}: repository {repository:?} must be lowercase path components of [a-z0-9._-]"
            ));
        }
        if let Some(tag) = &tag {
            let ok = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch));
            if !ok {
                return Err(format!("{s:?}: tag {tag:?} is not a valid tag"));
            }
        }
        Ok(Self {
            host: host.to_owned(),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Checks `sha256:<64 lowercase hex>`.
pub fn check_digest(digest: &str) -> Result<(), String> {
    let hex = digest
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("digest {digest:?} must start with sha256:"))?;
    if hex.len() != 64
        || !hex
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Err(format!(
            "digest {digest:?} must be sha256: followed by 64 lowercase hex digits"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_tag_and_digest_forms() {
        let r = ImageRef::parse("docker.wso2.com/wso2micro-gw:3.0.1").unwrap();
        assert_eq!(r.host, "docker.wso2.com");
        assert_eq!(r.repository, "wso2micro-gw");
        assert_eq!(r.tag.as_deref(), Some("3.0.1"));
        let r = ImageRef::parse(&format!("registry.internal:5000/acme/petstore@{D}")).unwrap();
        assert_eq!(r.host, "registry.internal:5000");
        assert_eq!(r.repository, "acme/petstore");
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.name(), "registry.internal:5000/acme/petstore");
        assert_eq!(
            r.to_string(),
            format!("registry.internal:5000/acme/petstore@{D}")
        );
    }

    #[test]
    fn rejects_bad_references_with_the_reason() {
        assert!(
            ImageRef::parse("petstore:1")
                .unwrap_err()
                .contains("no registry host")
        );
        assert!(
            ImageRef::parse("acme/petstore")
                .unwrap_err()
                .contains("not a registry host")
        );
        assert!(
            ImageRef::parse("r.io/Acme/x")
                .unwrap_err()
                .contains("lowercase")
        );
        assert!(
            ImageRef::parse("r.io/x@sha256:abc")
                .unwrap_err()
                .contains("64")
        );
        assert!(
            ImageRef::parse("r.io/x@md5:abc")
                .unwrap_err()
                .contains("sha256:")
        );
        assert!(ImageRef::parse("r.io/x:").unwrap_err().contains("tag"));
    }
}
