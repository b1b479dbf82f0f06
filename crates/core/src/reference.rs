//! Container image references (`host/repo:tag`, `host/repo@sha256:...`) for the config and
//! `/built` reports. Parsing is baton-sources' ([`ImageReference::parse`], Docker's rules);
//! this module adds baton's stricter rules on top: the registry host must be written out (a
//! typo must not silently mean Docker Hub), digests are sha256, and a tag is only what was
//! written (no implied `latest`).

use std::fmt;

use baton_sources::registry::ImageReference;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host with optional port.
    pub host: String,
    /// Repository path inside the registry.
    pub repository: String,
    /// Tag, if written.
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
        let (host, _) = s.split_once('/').ok_or_else(|| {
            format!("{s:?} has no registry host; write it as host/repository, e.g. registry.example.com/team/app")
        })?;
        if !(host.contains('.') || host.contains(':') || host == "localhost") {
            return Err(format!(
                "{s:?} starts with {host:?}, which is not a registry host; write host/repository"
            ));
        }
        let r = ImageReference::parse(s).map_err(|e| match e {
            baton_sources::Error::InvalidReference { reason, .. } => format!("{s:?}: {reason}"),
            other => format!("{s:?}: {other}"),
        })?;
        if let Some(d) = &r.digest {
            check_digest(d).map_err(|e| format!("{s:?}: {e}"))?;
        }
        let written = s.split('@').next().unwrap_or(s);
        let tag_written = written
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'));
        Ok(Self {
            host: r.registry,
            repository: r.repository,
            tag: r.tag.filter(|_| tag_written),
            digest: r.digest,
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
        let sha512 = format!("r.io/x@sha512:{}", "ab".repeat(64));
        assert!(ImageRef::parse(&sha512).unwrap_err().contains("sha256:"));
    }

    #[test]
    fn a_tag_is_only_what_was_written() {
        assert_eq!(ImageRef::parse("r.io:5000/acme/x").unwrap().tag, None);
        assert_eq!(
            ImageRef::parse(&format!("r.io:5000/acme/x@{D}"))
                .unwrap()
                .tag,
            None
        );
        assert_eq!(
            ImageRef::parse("r.io:5000/acme/x:latest")
                .unwrap()
                .tag
                .as_deref(),
            Some("latest")
        );
    }
}
