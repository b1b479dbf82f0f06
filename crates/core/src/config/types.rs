//! Config values parsed once, at load: the state-store URL, HTTP base URLs, the chart version
//! and the image-check cron. Each decodes from the string users write, with an error that says
//! what is wrong and how to write it (the loader adds the file and the key path), and
//! serializes back to that string for the generated reference. Users hold typed values and
//! never parse the text again.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use baton_sources::helm::VersionSpec;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Implements `Deserialize` through `TryFrom<String>`, `Serialize` as the written text and a
/// string JSON Schema for a config value type.
/// A value that does not parse is deferred ([`super::layer::defer`]) with `$placeholder`, so the
/// load goes on to report every problem.
macro_rules! text_value {
    ($t:ty, $placeholder:expr) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                <$t>::try_from(text).or_else(|message| super::layer::defer(message, $placeholder))
            }
        }

        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                "String".into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "string"})
            }
        }
    };
}

pub(super) use text_value;

/// Where baton keeps its state. `Display` and `Debug` hide a PostgreSQL password.
#[derive(Clone, PartialEq, Eq)]
pub enum StateUrl {
    /// `sqlite://FILE[?QUERY]`; a relative FILE is resolved against the config's folder.
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// Connection options after `?`, if any.
        query: Option<String>,
    },
    /// `postgres://USER[:PASSWORD]@HOST/DB` (or `postgresql://`).
    Postgres(url::Url),
}

impl StateUrl {
    /// The URL to connect with, password included: only for the store's connection.
    pub fn connect_url(&self) -> String {
        match self {
            StateUrl::Sqlite { path, query } => match query {
                Some(q) => format!("sqlite://{}?{q}", path.display()),
                None => format!("sqlite://{}", path.display()),
            },
            StateUrl::Postgres(u) => u.to_string(),
        }
    }

    /// The SQLite database file, if the state is SQLite.
    pub fn sqlite_file(&self) -> Option<&Path> {
        match self {
            StateUrl::Sqlite { path, .. } => Some(path),
            StateUrl::Postgres(_) => None,
        }
    }

    /// Makes a relative SQLite file relative to `base` (the config's folder).
    pub(super) fn resolve(&mut self, base: &Path) {
        if let StateUrl::Sqlite { path, .. } = self
            && !path.as_os_str().is_empty()
            && path.is_relative()
        {
            *path = base.join(&*path);
        }
    }
}

impl TryFrom<String> for StateUrl {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let rest = rest.trim_start_matches("//");
            let (path, query) = rest
                .split_once('?')
                .map_or((rest, None), |(p, q)| (p, Some(q.to_owned())));
            return Ok(StateUrl::Sqlite {
                path: PathBuf::from(path),
                query,
            });
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return url::Url::parse(&text).map(StateUrl::Postgres).map_err(|e| {
                format!(
                    "{:?} is not a PostgreSQL URL ({e}); write postgres://USER@HOST/DB",
                    baton_http::redact::url(&text)
                )
            });
        }
        Err(format!(
            "{:?} is not a state store URL; use sqlite://FILE or postgres://USER@HOST/DB",
            baton_http::redact::url(&text)
        ))
    }
}

impl fmt::Display for StateUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&baton_http::redact::url(&self.connect_url()))
    }
}

impl fmt::Debug for StateUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateUrl({self})")
    }
}

text_value!(StateUrl, || StateUrl::Sqlite {
    path: PathBuf::new(),
    query: None
});

/// An absolute `http://` or `https://` URL with a host.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpUrl(url::Url);

impl HttpUrl {
    /// The parsed URL.
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The URL as written after normalisation (`https://host/`).
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for HttpUrl {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match url::Url::parse(&text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(HttpUrl(u)),
            _ => Err(format!(
                "{:?} is not an http:// or https:// URL",
                baton_http::redact::url(&text)
            )),
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", baton_http::redact::url(self.0.as_str()))
    }
}

text_value!(HttpUrl, || HttpUrl(
    url::Url::parse("http://invalid.invalid/").expect("a valid URL")
));

/// A chart version as written: an exact version or a SemVer range ([`VersionSpec`]).
#[derive(Clone, PartialEq, Eq)]
pub struct ChartVersion {
    text: String,
    spec: VersionSpec,
}

impl ChartVersion {
    /// The text as written (what the Helm watch selects with).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed version or range.
    pub fn spec(&self) -> &VersionSpec {
        &self.spec
    }

    /// The exact version, if this is one rather than a range.
    pub fn exact(&self) -> Option<semver::Version> {
        match &self.spec {
            VersionSpec::Exact(v) => semver::Version::parse(v.trim_start_matches('v')).ok(),
            VersionSpec::Range(_) => None,
        }
    }
}

impl TryFrom<String> for ChartVersion {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match VersionSpec::parse(&text) {
            Ok(spec) => Ok(ChartVersion { text, spec }),
            Err(_) => Err(format!(
                "{text:?} is not a version or range (e.g. \"3.0.1-1\" or \"^3.0\")"
            )),
        }
    }
}

impl fmt::Display for ChartVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for ChartVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

text_value!(ChartVersion, || ChartVersion {
    text: "*".to_owned(),
    spec: VersionSpec::Range(semver::VersionReq::STAR),
});

/// A 5- or 6-field cron, parsed once. Images with the same expression share one parsed
/// pattern (10,000 images usually name a few expressions).
#[derive(Clone)]
pub struct Cron {
    text: Arc<str>,
    cron: Arc<croner::Cron>,
}

impl Cron {
    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed pattern, shared.
    pub fn pattern(&self) -> &Arc<croner::Cron> {
        &self.cron
    }
}

/// Each distinct expression and what it parsed to.
type CronCache = HashMap<Arc<str>, Result<Cron, String>>;

thread_local! {
    /// Crons parsed by the load running on this thread ([`share_crons`]).
    static CRONS: RefCell<Option<CronCache>> =
        const { RefCell::new(None) };
}

/// Runs `f` (one config load) with a cache that parses each distinct cron once and shares it.
pub(super) fn share_crons<T>(f: impl FnOnce() -> T) -> T {
    CRONS.with(|c| *c.borrow_mut() = Some(HashMap::new()));
    let out = f();
    CRONS.with(|c| *c.borrow_mut() = None);
    out
}

impl TryFrom<String> for Cron {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let parse = |text: &str| {
            super::validate::parse_cron(text).map(|cron| Cron {
                text: Arc::from(text),
                cron: Arc::new(cron),
            })
        };
        CRONS.with(|cache| match cache.borrow_mut().as_mut() {
            Some(cache) => cache
                .entry(Arc::from(text.as_str()))
                .or_insert_with(|| parse(&text))
                .clone(),
            None => parse(&text),
        })
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.text)
    }
}

text_value!(Cron, || Cron {
    text: Arc::from("* * * * *"),
    cron: Arc::new(super::validate::parse_cron("* * * * *").expect("a valid cron")),
});

/// Decodes `listen`: `IP:PORT`.
pub(super) fn socket_addr<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<std::net::SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.trim().parse().or_else(|_| {
        super::layer::defer(
            format!("{text:?} is not an address; write IP:PORT, e.g. 0.0.0.0:8080"),
            || std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
        )
    })
}
