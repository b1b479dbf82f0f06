//! The chart sync job (issue 6 §4): read the values files at the chart-source head (or at the
//! commit a push or an operator names: `chart_at.rs`) and the chart the config selects, decide
//! with [`policy::chart`], and enqueue one Spinnaker chart event naming only the environments
//! whose values (or the chart) changed.

use anyhow::{Context as _, bail};
use base64::Engine as _;
use baton_sources::CheckOutcome;
use baton_sources::git::{FileState, Git, GitObservation, GitWatch};

#[path = "chart_at.rs"]
mod at;
pub use at::{Pushed, Verdict};
use baton_sources::helm::{ChartObservation, ChartWatch, RefusedArchive};

use super::context::JobContext;
use super::policy::{self, ChartFacts, Decision, ValuesFile};
use super::schedule::Repeated;
use crate::outbox::Effect;
use crate::store::events::{Correlation, Delivered};
use baton_core::config::model::{ChartDelivery, Product};
use baton_core::wire::{self, ChartArtifact, ChartEvent};

/// Why a chart sync runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartTrigger {
    /// The poll interval passed.
    Poll,
    /// A push webhook named the chart source (and, usually, its new head).
    Hook(Pushed),
    /// An operator asked (`baton sync`); the event was recorded by the API.
    Manual {
        /// Deliver even if unchanged.
        force: bool,
        /// The commit to sync at (on the branch); `None`: the branch head.
        commit: Option<String>,
        /// The `sync` event.
        event_id: String,
        /// Answered once `commit` was checked against the branch.
        verdict: Verdict,
    },
}

/// The observation source id of a product's chart source (also its webhook source id).
pub fn chart_source_id(product: &str) -> String {
    format!("chart-source:{product}")
}

/// The observation source id of a product's chart in its Helm repository.
pub fn chart_repo_id(product: &str) -> String {
    format!("chart:{product}")
}

/// The observation id of the chart archive a product's chart check refused (the negative
/// cache; JSON `null` when none).
pub fn chart_refused_id(product: &str) -> String {
    format!("chart-refused:{product}")
}

/// One product's chart sync: its git watch and chart watch.
#[derive(Debug)]
pub struct ChartSync {
    product: Product,
    watch: GitWatch,
    git: Git,
    chart: ChartWatch,
}

impl ChartSync {
    /// The sync of `product`; `None` when it has no chart or no chart source.
    pub fn new(ctx: &JobContext, product: &Product) -> anyhow::Result<Option<Self>> {
        let (Some(chart), Some(cs)) = (&product.chart, &product.chart_source) else {
            return Ok(None);
        };
        let envs: Vec<&str> = product.environments.iter().map(String::as_str).collect();
        let mut watch = GitWatch::for_values(
            cs.git.as_str(),
            &cs.branch,
            cs.dir.as_deref().unwrap_or("."),
            &envs,
            &ctx.cache_dir,
        )
        .with_context(|| format!("product {}: chart_source", product.name))?;
        watch.cache_dir = ctx.git_cache(&chart_source_id(&product.name));
        Ok(Some(Self {
            product: product.clone(),
            git: ctx.git_for(cs.git.as_str())?,
            watch,
            chart: ChartWatch {
                repository: chart.repository.to_string(),
                name: chart.name.clone(),
                version: chart.version.spec().clone(),
                prereleases: false,
            },
        }))
    }

    /// The product's name.
    pub fn product(&self) -> &str {
        &self.product.name
    }

    /// Checks both sources, decides, and enqueues the chart event when there is one to send.
    /// A failing source is an error (nothing decided, nothing recorded but the failure).
    pub async fn run(&self, ctx: &JobContext, trigger: &ChartTrigger) -> anyhow::Result<Decision> {
        let name = &self.product.name;
        let git_id = chart_source_id(name);
        let repo_id = chart_repo_id(name);
        let last_git: Option<GitObservation> = ctx.last_json(&git_id).await?;
        let (git_obs, moved) = self.observe_git(ctx, trigger, last_git.as_ref()).await?;
        let last_chart: Option<ChartObservation> = ctx.last_json(&repo_id).await?;
        // The negative cache: an archive that failed the checks is not downloaded again while
        // the repository still offers it (kept in the store for restarts and replicas).
        let refused_id = chart_refused_id(name);
        let before: Option<RefusedArchive> = ctx
            .last_json::<Option<RefusedArchive>>(&refused_id)
            .await?
            .flatten();
        let mut refused = before.clone();
        let report = self
            .chart
            .check_remembering(&ctx.helm, last_chart.as_ref(), &mut refused)
            .await;
        if refused != before {
            ctx.observe(&refused_id, serde_json::to_string(&refused)?)
                .await?;
        }
        let chart_obs = match report.outcome {
            // Skipped again: the refusal was logged and recorded when it was made.
            CheckOutcome::Error { message, .. } if refused.is_some() && refused == before => {
                return Err(Repeated(format!("chart of {name}: {message}")).into());
            }
            CheckOutcome::Error { message, .. } => bail!("chart of {name}: {message}"),
            CheckOutcome::Changed { new, .. } | CheckOutcome::Unchanged { current: new } => new,
        };
        let delivered: Vec<Delivered> = ctx
            .store()
            .delivered()
            .await?
            .into_iter()
            .filter(|d| &d.product == name)
            .collect();
        let (manual, force, event_id) = match trigger {
            ChartTrigger::Manual {
                force, event_id, ..
            } => (true, *force, Some(event_id.as_str())),
            _ => (false, false, None),
        };
        let values: Vec<(&str, &str, ValuesFile)> = self
            .product
            .environments
            .iter()
            .zip(&self.watch.files)
            .map(|(env, path)| {
                let file = match git_obs.files.get(path) {
                    Some(FileState::Present { sha256, .. }) => ValuesFile::Valid(sha256.clone()),
                    Some(FileState::Invalid {
                        line,
                        column,
                        message,
                        ..
                    }) => ValuesFile::Invalid {
                        line: *line,
                        column: *column,
                        message: message.clone(),
                    },
                    Some(FileState::Absent) | None => ValuesFile::Absent,
                };
                (env.as_str(), path.as_str(), file)
            })
            .collect();
        let decision = policy::chart(&ChartFacts {
            values,
            chart_version: &chart_obs.version,
            chart_digest: &chart_obs.digest,
            delivered: &delivered,
            first_seen: ctx.config.config.first_seen,
            manual,
            force,
        });
        let commit = git_obs.commit.clone().unwrap_or_default();
        let mut note = String::new();
        match &decision {
            Decision::Rejected(why) => {
                if moved || manual || last_git.is_none() {
                    note.push_str(&format!("rejected at commit {commit}: {why}; nothing sent"));
                    self.note(ctx, event_id, &commit, &note).await?;
                    tracing::warn!(product = %name, %commit, "chart sync rejected: {why}");
                }
            }
            Decision::Baseline => {
                for d in self.rows(&git_obs, &chart_obs, &self.product.environments, None) {
                    ctx.store()
                        .record_delivered(&Delivered {
                            delivered_at: ctx.clock().now(),
                            ..d
                        })
                        .await?;
                }
                note.push_str(&format!(
                    "baseline at commit {commit}, chart {} {}: recorded as delivered, nothing sent (first_seen: baseline)",
                    chart_obs.name, chart_obs.version
                ));
                self.note(ctx, None, &commit, &note).await?;
            }
            Decision::Paused(_) => {}
            Decision::Unchanged => {
                if manual {
                    note.push_str("unchanged: this content was delivered already; nothing sent (sync --force sends anyway)");
                    self.note(ctx, event_id, &commit, &note).await?;
                }
            }
            Decision::Changed(envs) => {
                note.push_str(
                    &self
                        .deliver(ctx, &git_obs, &chart_obs, envs, &delivered, event_id, force)
                        .await?,
                );
                tracing::info!(product = %name, %commit, environments = ?envs, "chart event enqueued");
            }
        }
        ctx.observe(&git_id, serde_json::to_string(&git_obs)?)
            .await?;
        ctx.observe(&repo_id, serde_json::to_string(&chart_obs)?)
            .await?;
        Ok(decision)
    }

    /// Records `detail` on the operator's event, or on a new `chart` event.
    async fn note(
        &self,
        ctx: &JobContext,
        event_id: Option<&str>,
        commit: &str,
        detail: &str,
    ) -> anyhow::Result<String> {
        let c = Correlation {
            commit: (!commit.is_empty()).then(|| commit.to_owned()),
            detail: Some(detail.to_owned()),
            ..Default::default()
        };
        match event_id {
            Some(id) => {
                ctx.store().correlate(id, &c).await?;
                Ok(id.to_owned())
            }
            None => ctx.new_event(&self.product.name, "chart", None, c).await,
        }
    }

    fn rows(
        &self,
        git: &GitObservation,
        chart: &ChartObservation,
        envs: &[String],
        event_id: Option<&str>,
    ) -> Vec<Delivered> {
        self.product
            .environments
            .iter()
            .zip(&self.watch.files)
            .filter(|(env, _)| envs.contains(env))
            .filter_map(|(env, path)| {
                Some(Delivered {
                    product: self.product.name.clone(),
                    environment: env.clone(),
                    chart_version: chart.version.clone(),
                    chart_digest: chart.digest.clone(),
                    values_digest: git.files.get(path)?.sha256()?.to_owned(),
                    event_id: event_id.map(str::to_owned),
                    delivered_at: time::OffsetDateTime::UNIX_EPOCH,
                })
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    async fn deliver(
        &self,
        ctx: &JobContext,
        git: &GitObservation,
        chart: &ChartObservation,
        envs: &[String],
        delivered: &[Delivered],
        manual_event: Option<&str>,
        force: bool,
    ) -> anyhow::Result<String> {
        let name = &self.product.name;
        let cfg = self
            .product
            .chart
            .as_ref()
            .context("product has no chart")?;
        let spinnaker = ctx
            .config
            .config
            .spinnaker
            .as_ref()
            .context("the config has no spinnaker: section to send chart events to")?;
        let commit = git.commit.clone().unwrap_or_default();
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut values = Vec::new();
        let mut digests = Vec::new();
        for (env, path) in self.product.environments.iter().zip(&self.watch.files) {
            let Some(FileState::Present {
                content, sha256, ..
            }) = git.files.get(path)
            else {
                bail!("{path} is not a valid values file");
            };
            values.push((env.as_str(), b64.encode(content)));
            digests.push((env.as_str(), sha256.as_str()));
        }
        let tgz_b64;
        let artifact = match cfg.delivery {
            ChartDelivery::Embedded => {
                let loaded = match ChartWatch::load(&ctx.helm, chart) {
                    Ok(c) => c,
                    // The cache was lost (new cache folder, cleaned disk): download again.
                    Err(_) => {
                        let fresh = self.chart.observe(&ctx.helm, None).await?;
                        if fresh.digest != chart.digest {
                            bail!(
                                "chart {} changed while syncing; the next check picks it up",
                                chart.name
                            );
                        }
                        ChartWatch::load(&ctx.helm, &fresh)?
                    }
                };
                tgz_b64 = b64.encode(&loaded.tgz);
                ChartArtifact::Embedded { base64: &tgz_b64 }
            }
            ChartDelivery::Reference => ChartArtifact::Reference {
                account: cfg.artifact_account.as_deref().unwrap_or_default(),
                digest: &chart.digest,
            },
        };
        let detail = format!("environments {}", envs.join(","));
        let event_id = match manual_event {
            Some(id) => id.to_owned(),
            None => {
                let c = Correlation {
                    commit: Some(commit.clone()),
                    detail: Some(detail.clone()),
                    ..Default::default()
                };
                ctx.new_event(name, "chart", None, c).await?
            }
        };
        let body = wire::chart_event(&ChartEvent {
            product: name,
            commit: &commit,
            chart: &chart.name,
            version: &chart.version,
            artifact,
            environments: envs.iter().map(String::as_str).collect(),
            values,
            event_id: &event_id,
        });
        let content =
            crate::outbox::keys::chart(name, &chart.name, &chart.version, &chart.digest, &digests);
        let key = policy::chart_event_key(&content, delivered, force.then_some(event_id.as_str()));
        let effect = Effect::SpinnakerWebhook {
            source: spinnaker.webhook_source.clone(),
            body,
        };
        // Latest wins: this event replaces older chart events of these environments still
        // waiting (a Spinnaker outage ends with one delivery per environment).
        let latest = crate::store::outbox::Supersede {
            group: format!("chart:{name}"),
            scope: envs.to_vec(),
        };
        let (record, created) = ctx
            .outbox
            .enqueue_latest(&effect, name, &key, Some(&event_id), Some(latest))
            .await?;
        let detail = if created {
            for d in self.rows(git, chart, envs, Some(&event_id)) {
                ctx.store()
                    .record_delivered(&Delivered {
                        delivered_at: ctx.clock().now(),
                        ..d
                    })
                    .await?;
            }
            format!(
                "{detail}: chart {} {}, outbox record {}",
                chart.name, chart.version, record.id
            )
        } else {
            format!("{detail}: already enqueued as outbox record {}", record.id)
        };
        if manual_event.is_some() || !created {
            ctx.store()
                .correlate(
                    &event_id,
                    &Correlation {
                        commit: Some(commit.clone()),
                        detail: Some(detail.clone()),
                        ..Default::default()
                    },
                )
                .await?;
        }
        Ok(detail)
    }
}
