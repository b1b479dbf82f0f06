//! Remote locations in the config, checked once at load and kept as written: the Helm chart
//! repository and the git remotes of the chart and artifact sources. The text is kept (not
//! the normalised URL) because it travels on unchanged: into the chart watch, the observation
//! records and the artifacts Spinnaker receives, where a rewritten trailing slash would read
//! as a change. `Debug` hides a password written inside the URL.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::types::text_value;

/// Where a product's chart comes from: a classic Helm repository (`https://…`, `http://…`,
/// serving `index.yaml`) or an OCI registry path (`oci://host/path`).
#[derive(Clone, PartialEq, Eq)]
pub struct ChartRepository {
    text: String,
    oci: bool,
}

impl ChartRepository {
    /// The repository as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether charts are pulled from an OCI registry (`oci://`) rather than an index.
    pub fn is_oci(&self) -> bool {
        self.oci
    }
}

impl TryFrom<String> for ChartRepository {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let parsed = url::Url::parse(&text).ok();
        match parsed.as_ref().map(|u| (u.scheme(), u.host().is_some())) {
            Some(("https" | "http", true)) => Ok(ChartRepository { text, oci: false }),
            Some(("oci", true)) => Ok(ChartRepository { text, oci: true }),
            _ => Err(format!(
                "{:?} must be an https://, http:// or oci:// URL with a host, e.g. \
                 https://charts.example.com or oci://registry.example.com/charts",
                baton_http::redact::url(&text)
            )),
        }
    }
}

/// A git remote: `https://`, `http://`, `ssh://`, `git://` or `file://`. (The scp-like
/// `git@host:path` is not accepted: write `ssh://git@host/path`.)
#[derive(Clone, PartialEq, Eq)]
pub struct GitRemote(String);

impl GitRemote {
    /// The remote as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GitRemote {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        match url::Url::parse(&text) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "ssh" | "git" | "file") => {
                Ok(GitRemote(text))
            }
            _ => Err(format!(
                "{:?} is not a git URL (https://, ssh://, git:// or file://); for \
                 git@host:path write ssh://git@host/path",
                baton_http::redact::url(&text)
            )),
        }
    }
}

macro_rules! shown_as_written {
    ($t:ty, $text:expr) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", baton_http::redact::url(self.as_str()))
            }
        }

        text_value!($t, || <$t>::try_from($text.to_owned())
            .expect("a valid placeholder"));
    };
}

shown_as_written!(ChartRepository, "https://invalid.invalid");
shown_as_written!(GitRemote, "https://invalid.invalid/placeholder.git");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_repositories_are_index_or_oci_urls_kept_as_written() {
        let index = ChartRepository::try_from("https://charts.example.com".to_owned()).unwrap();
        assert_eq!(index.as_str(), "https://charts.example.com");
        assert!(!index.is_oci());
        let oci =
            ChartRepository::try_from("oci://registry.example.com/charts".to_owned()).unwrap();
        assert!(oci.is_oci());
        for bad in [
            "charts.example.com",
            "ftp://x/y",
            "oci:///nohost",
            "https://",
        ] {
            let e = ChartRepository::try_from(bad.to_owned()).unwrap_err();
            assert!(e.contains("oci://"), "{bad}: {e}");
        }
        let secret =
            ChartRepository::try_from("https://u:hunter2@charts.example.com".to_owned()).unwrap();
        assert!(!format!("{secret:?}").contains("hunter2"));
        let e = ChartRepository::try_from("ftp://u:hunter2@x/".to_owned()).unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn git_remotes_name_the_scp_form_fix_and_hide_passwords() {
        for ok in [
            "https://git.example.com/a/b.git",
            "ssh://git@git.example.com/a/b.git",
            "git://127.0.0.1:9418/b.git",
            "file:///srv/git/b.git",
        ] {
            assert_eq!(GitRemote::try_from(ok.to_owned()).unwrap().as_str(), ok);
        }
        let e = GitRemote::try_from("git@github.com:acme/b.git".to_owned()).unwrap_err();
        assert!(e.contains("ssh://git@host/path"), "{e}");
        let r =
            GitRemote::try_from("https://bob:hunter2@git.example.com/b.git".to_owned()).unwrap();
        assert!(!format!("{r:?}").contains("hunter2"));
        assert!(
            r.to_string().contains("hunter2"),
            "Display is the remote as written"
        );
    }
}
