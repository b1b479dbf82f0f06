//! Image references parsed the way Docker parses them (`distribution/reference` rules).

use std::fmt;

use crate::Error;

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// The host Docker Hub's registry API actually answers on.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A parsed image reference: `[host[:port]/]path[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageReference {
    /// Registry as written (after normalisation): `docker.io`, `127.0.0.1:5000`, ...
    pub registry: String,
    /// Repository path, with `library/` added for single-name Docker Hub images.
    pub repository: String,
    /// Tag; `latest` when neither tag nor digest was given.
    pub tag: Option<String>,
    /// Digest pinned in the reference, if any.
    pub digest: Option<String>,
}

impl ImageReference {
    /// Parses `input` as Docker would; the error names the input and what is wrong.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let bad = |reason: &str| Error::InvalidReference {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(bad("empty reference"));
        }
        if input.len() > 4096 || input.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("contains whitespace or control characters"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((r, d)) => {
                if !valid_digest(d) {
                    return Err(bad("digest must be sha256:<64 hex> or sha512:<128 hex>"));
                }
                (r, Some(d.to_string()))
            }
            None => (input, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if !valid_tag(tag) {
                    return Err(bad("tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"));
                }
                (&rest[..last_slash + i], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(bad("missing repository name"));
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.chars().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_string(), remainder.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        if !valid_host(&registry) {
            return Err(bad(
                "registry host must be a hostname or IP with an optional :port",
            ));
        }
        let registry = if registry == "index.docker.io" {
            DOCKER_HUB.to_string()
        } else {
            registry
        };
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(bad("repository name must be lowercase"));
        }
        if !path.split('/').all(valid_path_component) {
            return Err(bad(
                "repository path components must match [a-z0-9]+ separated by '.', '_', '__' or '-'",
            ));
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        if registry.len() + 1 + repository.len() > 255 {
            return Err(bad("name longer than 255 characters"));
        }
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(ImageReference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The host the registry API answers on (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// What to put after `/manifests/`: the digest when pinned, else the tag.
    pub fn manifest_ref(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// `registry/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ImageReference {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        ImageReference::parse(s)
    }
}

impl TryFrom<String> for ImageReference {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        ImageReference::parse(&s)
    }
}

impl From<ImageReference> for String {
    fn from(r: ImageReference) -> String {
        r.to_string()
    }
}

fn valid_digest(d: &str) -> bool {
    let hex_ok = |h: &str, n: usize| {
        h.len() == n
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match d.split_once(':') {
        Some(("sha256", h)) => hex_ok(h, 64),
        Some(("sha512", h)) => hex_ok(h, 128),
        _ => false,
    }
}

fn valid_tag(t: &str) -> bool {
    let mut chars = t.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    first_ok
        && t.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn valid_host(h: &str) -> bool {
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || h.starts_with('[') => (host, Some(port)),
        _ => (h, None),
    };
    if let Some(p) = port
        && (p.is_empty() || p.parse::<u16>().is_err())
    {
        return false;
    }
    if host.starts_with('[') {
        return host.ends_with(']')
            && host[1..host.len() - 1]
                .parse::<std::net::Ipv6Addr>()
                .is_ok();
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn valid_path_component(c: &str) -> bool {
    // [a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_alphanumeric() {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ImageReference {
        ImageReference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn docker_hub_defaults() {
        let r = p("ubuntu");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("docker.io", "library/ubuntu", Some("latest"))
        );
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.to_string(), "docker.io/library/ubuntu:latest");
        let r = p("bitnami/nginx:1.25");
        assert_eq!(
            (r.repository.as_str(), r.tag.as_deref()),
            ("bitnami/nginx", Some("1.25"))
        );
        assert_eq!(p("index.docker.io/library/alpine:3").registry, "docker.io");
        assert_eq!(p("docker.io/alpine").repository, "library/alpine");
    }

    #[test]
    fn hosts_ports_tags_digests() {
        let r = p("docker.wso2.com/wso2micro-gw:3.0.1");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.wso2.com", "wso2micro-gw")
        );
        let r = p("127.0.0.1:5000/acme/petstore");
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()),
            ("127.0.0.1:5000", "acme/petstore", Some("latest"))
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r = p(&format!("localhost:5000/x/y:v1@{d}"));
        assert_eq!(
            (r.tag.as_deref(), r.digest.as_deref()),
            (Some("v1"), Some(d.as_str()))
        );
        assert_eq!(r.manifest_ref(), d);
        let r = p(&format!("alpine@{d}"));
        assert_eq!(r.tag, None);
        assert_eq!(p("localhost/foo").registry, "localhost");
        assert_eq!(p("a.b-c/d__e--f.g").repository, "d__e--f.g");
    }

    #[test]
    fn malformed_references_are_named() {
        for bad in [
            "",
            "Ubuntu",
            "a/b:",
            "a/b@sha256:abc",
            "a//b",
            "-a/b",
            "a/b:-tag",
            "host:99999/x",
            "a b",
            "a/b_",
        ] {
            let err = ImageReference::parse(bad).expect_err(bad).to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
    }

    #[test]
    fn round_trips_through_serde() {
        let r: ImageReference = serde_json::from_str("\"nginx:1.27\"").unwrap();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            "\"docker.io/library/nginx:1.27\""
        );
        assert!(serde_json::from_str::<ImageReference>("\"Bad Ref\"").is_err());
    }
}
