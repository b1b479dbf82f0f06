//! The image jobs (issue 6 §5): a base image's digest moved, an artifact-source commit landed,
//! or an operator asked — each enqueues one Jenkins rebuild with the parameters in docs/wire.md.
//! The Jenkins deliverer follows the queue item to the build.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use baton_sources::git::{Git, GitObservation, GitWatch};
use baton_sources::registry::{ImageWatch, RegistryObservation};
use baton_sources::{CheckOutcome, ErrorKind};

use super::context::JobContext;
use super::policy::{self, Decision};
use crate::outbox::{Effect, keys};
use crate::store::events::{Correlation, base_image_source};
use baton_core::config::Loaded;
use baton_core::config::model::Image;
use baton_core::wire::{self, Cause, Rebuild};

/// The observation source id of an image's base digest.
pub fn base_id(product: &str, image: &str) -> String {
    format!("base-image:{product}/{image}")
}

/// The observation source id (and webhook source id) of an image's artifact source.
pub fn artifact_id(product: &str, image: &str) -> String {
    format!("artifact-source:{product}/{image}")
}

/// One image of one product: its place in the shared config and its parsed base reference.
/// It holds no copy of the image's config (with 10,000 watched tags the copies were 1.8 MB
/// of structs and 1.8 MB of strings; bench/README.md "Start-up and memory at 10,000 tags").
#[derive(Debug, Clone)]
pub struct ImageJob {
    config: Arc<Loaded>,
    product: usize,
    image: usize,
    base: ImageWatch,
}

impl ImageJob {
    /// The job of image `image` of product `product` (indices into `config`'s products and
    /// that product's images).
    pub fn new(config: Arc<Loaded>, product: usize, image: usize) -> anyhow::Result<Self> {
        let (p, img) = config
            .config
            .products
            .get(product)
            .and_then(|p| Some((p, p.images.get(image)?)))
            .context("no such image in the config")?;
        let base = ImageWatch::new(&img.base, None)
            .with_context(|| format!("product {}: image {}: base", p.name, img.name))?;
        Ok(Self {
            config,
            product,
            image,
            base,
        })
    }

    /// The job of the image named `image` in the product named `product`, if the config has it.
    pub fn find(config: &Arc<Loaded>, product: &str, image: &str) -> Option<anyhow::Result<Self>> {
        let (pi, p) =
            (config.config.products.iter().enumerate()).find(|(_, p)| p.name == product)?;
        let ii = p.images.iter().position(|i| i.name == image)?;
        Some(Self::new(config.clone(), pi, ii))
    }

    /// `product/image`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.product(), self.image().name)
    }

    /// The image's config.
    pub fn image(&self) -> &Image {
        &self.config.config.products[self.product].images[self.image]
    }

    /// The product's name.
    pub fn product(&self) -> &str {
        &self.config.config.products[self.product].name
    }

    /// HEADs the base digest; on a change (not on first sight unless `first_seen: deliver`)
    /// enqueues a rebuild with `CAUSE=base-image`.
    pub async fn check_base(&self, ctx: &JobContext) -> anyhow::Result<Decision> {
        let id = base_id(self.product(), &self.image().name);
        let previous = ctx.store().observation(&id).await?.map(|o| o.value);
        let last = previous.as_ref().map(|d| RegistryObservation {
            reference: self.base.reference.to_string(),
            digest: d.clone(),
            media_type: String::new(),
            platform: None,
            platform_digest: None,
            rate_limit_remaining: None,
        });
        let current = match self
            .base
            .check(&ctx.registries, last.as_ref())
            .await
            .outcome
        {
            CheckOutcome::Error {
                kind: ErrorKind::RateLimited,
                message,
            } => {
                tracing::debug!(base = %self.image().base, "not checked: {message}");
                return Ok(Decision::Paused(message));
            }
            CheckOutcome::Error { message, .. } => {
                bail!("base image {}: {message}", self.image().base)
            }
            CheckOutcome::Changed { new, .. } | CheckOutcome::Unchanged { current: new } => {
                new.tracked_digest().to_owned()
            }
        };
        let decision =
            policy::value_source(ctx.config.config.first_seen, previous.as_deref(), &current);
        if let Decision::Changed(_) = decision {
            let commit = self.artifact_commit(ctx).await?;
            let detail = format!(
                "base {} moved {} -> {current}",
                self.image().base,
                previous.as_deref().unwrap_or("(first sight)")
            );
            self.rebuild(
                ctx,
                Cause::BaseImage,
                &current,
                commit.as_deref(),
                None,
                &detail,
            )
            .await?;
        }
        // An unchanged digest costs no write: with 10,000 watched tags a cron cycle would
        // otherwise be 20,000 upserts that change nothing but a timestamp.
        if previous.as_deref() != Some(current.as_str()) {
            ctx.observe(&id, current.clone()).await?;
            ctx.observe(&base_image_source(&self.image().base), current)
                .await?;
        }
        Ok(decision)
    }

    /// Checks the artifact source; a new commit enqueues a rebuild with
    /// `CAUSE=artifact-source` and `GIT_COMMIT`.
    pub async fn check_artifact(
        &self,
        ctx: &JobContext,
        watch: &GitWatch,
        git: &Git,
    ) -> anyhow::Result<Decision> {
        let id = artifact_id(self.product(), &self.image().name);
        let last: Option<GitObservation> = ctx.last_json(&id).await?;
        let obs = match watch.check(git, last.as_ref()).await.outcome {
            CheckOutcome::Error { message, .. } => {
                bail!("artifact source of {}: {message}", self.name())
            }
            CheckOutcome::Changed { new, .. } | CheckOutcome::Unchanged { current: new } => new,
        };
        let Some(commit) = obs.commit.clone() else {
            // Branch deleted: nothing to build; keep watching.
            ctx.observe(&id, serde_json::to_string(&obs)?).await?;
            return Ok(Decision::Unchanged);
        };
        let previous = last.as_ref().and_then(|l| l.commit.as_deref());
        let decision = policy::value_source(ctx.config.config.first_seen, previous, &commit);
        if let Decision::Changed(_) = decision {
            let digest = self.base_digest(ctx).await?;
            let detail = format!(
                "artifact source {} moved to {commit}: {}",
                watch.branch,
                obs.subject.as_deref().unwrap_or("")
            );
            self.rebuild(
                ctx,
                Cause::ArtifactSource,
                &digest,
                Some(&commit),
                None,
                &detail,
            )
            .await?;
        }
        ctx.observe(&id, serde_json::to_string(&obs)?).await?;
        Ok(decision)
    }

    /// An operator's rebuild: the base digest now, the last artifact-source commit.
    pub async fn manual(&self, ctx: &JobContext, event_id: &str) -> anyhow::Result<()> {
        let digest = self
            .base
            .observe(&ctx.registries, None)
            .await
            .with_context(|| format!("reading the digest of {}", self.image().base))?;
        let digest = digest.tracked_digest().to_owned();
        let commit = self.artifact_commit(ctx).await?;
        self.rebuild(
            ctx,
            Cause::Manual,
            &digest,
            commit.as_deref(),
            Some(event_id),
            "manual rebuild",
        )
        .await
    }

    async fn artifact_commit(&self, ctx: &JobContext) -> anyhow::Result<Option<String>> {
        let last: Option<GitObservation> = ctx
            .last_json(&artifact_id(self.product(), &self.image().name))
            .await?;
        Ok(last.and_then(|l| l.commit))
    }

    /// The last recorded base digest, or a fresh HEAD when none is recorded.
    async fn base_digest(&self, ctx: &JobContext) -> anyhow::Result<String> {
        if let Some(o) = ctx
            .store()
            .observation(&base_id(self.product(), &self.image().name))
            .await?
        {
            return Ok(o.value);
        }
        let obs = self
            .base
            .observe(&ctx.registries, None)
            .await
            .with_context(|| format!("reading the digest of {}", self.image().base))?;
        Ok(obs.tracked_digest().to_owned())
    }

    async fn rebuild(
        &self,
        ctx: &JobContext,
        cause: Cause,
        digest: &str,
        commit: Option<&str>,
        manual_event: Option<&str>,
        detail: &str,
    ) -> anyhow::Result<()> {
        let c = Correlation {
            commit: commit.map(str::to_owned),
            base_digest: Some(digest.to_owned()),
            detail: Some(detail.to_owned()),
            ..Default::default()
        };
        let event_id = match manual_event {
            Some(id) => {
                ctx.store().correlate(id, &c).await?;
                id.to_owned()
            }
            None => {
                ctx.new_event(self.product(), "rebuild", Some(&self.image().name), c)
                    .await?
            }
        };
        let key = match cause {
            Cause::Manual => keys::manual_rebuild(self.product(), &self.image().name, &event_id),
            _ => keys::rebuild(self.product(), &self.image().name, digest, commit),
        };
        let params = wire::rebuild_params(&Rebuild {
            base_image: &self.image().base,
            base_digest: digest,
            target_image: &self.image().target,
            git_commit: commit,
            cause,
            event_id: &event_id,
        });
        let effect = Effect::JenkinsBuild {
            job: self.image().jenkins_job.clone(),
            params,
        };
        let (record, created) = ctx
            .outbox
            .enqueue(&effect, self.product(), &key, Some(&event_id))
            .await?;
        let note = if created {
            format!("{detail}; rebuild enqueued as outbox record {}", record.id)
        } else {
            format!("{detail}; already enqueued as outbox record {}", record.id)
        };
        ctx.store()
            .correlate(
                &event_id,
                &Correlation {
                    detail: Some(note),
                    ..Default::default()
                },
            )
            .await?;
        tracing::info!(image = %self.name(), ?cause, %digest, created, "rebuild enqueued");
        Ok(())
    }
}
