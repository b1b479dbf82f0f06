//! What every job needs: the config, the store and outbox, metrics, and the source clients
//! (registries, Helm, git) built once from the config.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use baton_sources::git::{Git, GitCredentialConfig, git_for};
use baton_sources::helm::HelmClient;
use baton_sources::registry::{Registries, RegistryConfig};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::store::Store;
use crate::store::events::{Event, Observation, new_event_id};
use baton_core::config::Loaded;

/// Shared by the source loops and the job intake; cheap to clone.
#[derive(Clone)]
pub struct JobContext {
    /// The validated config.
    pub config: Arc<Loaded>,
    /// The outbox (and through it the store and the clock).
    pub outbox: Outbox,
    /// Process metrics.
    pub metrics: Arc<Metrics>,
    /// Registry clients by host.
    pub registries: Arc<Registries>,
    /// Helm repositories (classic and OCI) with the chart cache.
    pub helm: HelmClient,
    /// Folder for git caches.
    pub cache_dir: PathBuf,
    /// Scheduled runs shared with other replicas (`None`: this process runs every one).
    pub turns: Option<crate::ha::turns::Turns>,
    git_credentials: Arc<Vec<GitCredentialConfig>>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("cache_dir", &self.cache_dir)
            .finish_non_exhaustive()
    }
}

/// Timeout of one Helm request, one registry request and one git command.
pub const SOURCE_TIMEOUT: Duration = Duration::from_secs(30);

impl JobContext {
    /// Builds the source clients from the config; credential files are read now so a bad one
    /// fails at start-up. Caches live under `cache_dir`.
    pub fn new(
        config: Arc<Loaded>,
        outbox: Outbox,
        metrics: Arc<Metrics>,
        cache_dir: PathBuf,
    ) -> anyhow::Result<Self> {
        crate::install_crypto_provider();
        let c = &config.config;
        let registries = registry_configs(c);
        let registries = Arc::new(Registries::new(registries).context("registries:")?);
        std::fs::create_dir_all(&cache_dir)
            .with_context(|| format!("creating the cache folder {}", cache_dir.display()))?;
        let helm = HelmClient::new(
            cache_dir.join("charts"),
            registries.clone(),
            &[],
            SOURCE_TIMEOUT,
        )
        .context("building the Helm client")?;
        let git_credentials = git_credentials(c);
        Ok(Self {
            config,
            outbox,
            metrics,
            registries,
            helm,
            cache_dir,
            turns: None,
            git_credentials: Arc::new(git_credentials),
        })
    }

    /// Shares scheduled runs with the other replicas through `turns`.
    pub fn with_turns(mut self, turns: crate::ha::turns::Turns) -> Self {
        self.turns = Some(turns);
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        self.outbox.store()
    }

    /// The clock.
    pub fn clock(&self) -> Clock {
        self.outbox.clock()
    }

    /// A git runner with the credentials configured for `url`.
    pub fn git_for(&self, url: &str) -> anyhow::Result<Git> {
        let mut base = Git::new();
        base.timeout = SOURCE_TIMEOUT;
        git_for(&self.git_credentials, url, base)
            .with_context(|| format!("git credentials for {url}"))
    }

    /// The git cache folder of one source.
    pub fn git_cache(&self, source: &str) -> PathBuf {
        self.cache_dir
            .join("git")
            .join(&sha256_hex(source.as_bytes())[..16])
    }

    /// The last observation of `source`, decoded from JSON (`None` if absent or unreadable).
    pub async fn last_json<T: serde::de::DeserializeOwned>(
        &self,
        source: &str,
    ) -> anyhow::Result<Option<T>> {
        let Some(o) = self.store().observation(source).await? else {
            return Ok(None);
        };
        Ok(serde_json::from_str(&o.value).ok())
    }

    /// Records `value` as the last observation of `source`.
    pub async fn observe(&self, source: &str, value: String) -> anyhow::Result<()> {
        self.store()
            .record_observation(&Observation {
                source: source.to_owned(),
                value,
                observed_at: self.clock().now(),
            })
            .await?;
        Ok(())
    }

    /// Records a new event and counts it.
    pub async fn new_event(
        &self,
        product: &str,
        kind: &str,
        image: Option<&str>,
        correlation: crate::store::events::Correlation,
    ) -> anyhow::Result<String> {
        let now: OffsetDateTime = self.clock().now();
        let event = Event {
            id: new_event_id(now),
            product: product.to_owned(),
            kind: kind.to_owned(),
            image: image.map(str::to_owned),
            created_at: now,
            correlation,
        };
        self.store().insert_event(&event).await?;
        self.metrics.event(product, kind);
        Ok(event.id)
    }
}

/// The registry clients' configs from `registries:` (credentials, `insecure`, the timeout).
pub fn registry_configs(c: &baton_core::config::Config) -> Vec<RegistryConfig> {
    c.registries
        .iter()
        .map(|r| {
            let mut rc = RegistryConfig::anonymous(&r.host);
            rc.username = r.username.clone();
            rc.password_file = r.password_file.clone();
            rc.insecure = r.insecure;
            rc.token_hosts = r.token_hosts.clone();
            rc.credentials_over_http = r.credentials_over_http;
            rc.timeout = SOURCE_TIMEOUT;
            rc
        })
        .collect()
}

/// The git credentials from `git.credentials`, by URL prefix.
pub fn git_credentials(c: &baton_core::config::Config) -> Vec<GitCredentialConfig> {
    c.git
        .as_ref()
        .map(|g| {
            g.credentials
                .iter()
                .map(|gc| GitCredentialConfig {
                    url_prefix: gc.url_prefix.clone(),
                    username: Some(gc.username.clone()),
                    password_file: Some(gc.password_file.clone()),
                    ssh_key_file: None,
                    known_hosts_file: None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The cache folder for a state store URL: next to a SQLite file, else a per-URL folder in the
/// system's temporary folder (the caches can always be rebuilt).
pub fn default_cache_dir(state: &str) -> PathBuf {
    if let Some(rest) = state.strip_prefix("sqlite:") {
        let path = rest
            .trim_start_matches("//")
            .split('?')
            .next()
            .unwrap_or("");
        if let Some(dir) = Path::new(path).parent() {
            return dir.join("cache");
        }
    }
    std::env::temp_dir().join(format!(
        "baton-cache-{}",
        &sha256_hex(crate::store::redact(state).as_bytes())[..16]
    ))
}
