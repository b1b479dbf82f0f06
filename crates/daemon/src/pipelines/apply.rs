//! `baton pipelines apply`: save the rendered pipelines through Gate (`POST /pipelines`),
//! idempotently, without silently overwriting edits made in Spinnaker.
//!
//! For each rendered pipeline the stored one (`GET /applications/{app}/pipelineConfigs`, by id,
//! else by name) is compared without the fields front50 manages ([`compare::MANAGED_FIELDS`]):
//! - absent: created;
//! - same content: left alone (not re-saved);
//! - different, and the stored [`compare::HASH_FIELD`] equals the stored content's hash: baton
//!   saved it last and the config changed, so it is updated;
//! - different otherwise: someone edited it in Spinnaker; the difference is reported and the
//!   pipeline kept, unless `--force`.

use std::fmt;
use std::time::Duration;

use anyhow::Context as _;
use secrecy::{ExposeSecret as _, SecretString};
use spinnaker_client::model::pipeline::PipelineConfig;
use spinnaker_client::{Auth, Client};

use baton_core::config::Loaded;
use baton_core::config::model::GateAuth;
use baton_core::config::secrets::read_secret;
use baton_core::pipelines::compare;
use baton_core::pipelines::render::RenderedApp;

/// What apply did (or, with `dry_run`, would do) to one pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It did not exist; saved.
    Created,
    /// baton saved it last and the config changed; saved.
    Updated,
    /// Stored content equals the rendered one; not saved.
    Unchanged,
    /// Edited in Spinnaker; kept. The lines say what differs.
    Drifted(Vec<String>),
    /// Edited in Spinnaker and overwritten because of `--force`.
    Overwritten(Vec<String>),
}

/// One line of the apply report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `application/name`.
    pub pipeline: String,
    /// What happened.
    pub outcome: Outcome,
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.pipeline;
        match &self.outcome {
            Outcome::Created => write!(f, "{p}: created"),
            Outcome::Updated => write!(f, "{p}: updated (config changed)"),
            Outcome::Unchanged => write!(f, "{p}: unchanged"),
            Outcome::Drifted(d) | Outcome::Overwritten(d) => {
                if matches!(self.outcome, Outcome::Drifted(_)) {
                    write!(
                        f,
                        "{p}: NOT saved: it was edited in Spinnaker since baton saved it; \
                         move the change into baton's config, or run `baton pipelines apply --force` to overwrite it"
                    )?;
                } else {
                    write!(f, "{p}: overwritten (--force); the Spinnaker edit is gone")?;
                }
                for line in d {
                    write!(f, "\n    {line}")?;
                }
                Ok(())
            }
        }
    }
}

/// Options of one apply run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Overwrite pipelines edited in Spinnaker.
    pub force: bool,
    /// Save nothing; report what would happen.
    pub dry_run: bool,
}

/// Applies every rendered pipeline of `apps` through `gate`.
pub async fn apply(
    gate: &Client,
    apps: &[RenderedApp],
    opts: Options,
) -> anyhow::Result<Vec<Applied>> {
    let mut report = Vec::new();
    for app in apps {
        let name = app.name();
        if gate
            .application(name)
            .await
            .with_context(|| format!("looking up application {name:?} in Gate"))?
            .is_none()
        {
            anyhow::bail!(
                "Spinnaker has no application {name:?}; create it first (Deck: Applications -> \
                 Create Application, or `spin application save --file spinnaker/{name}/application.json`)"
            );
        }
        let live = gate
            .pipeline_configs(name)
            .await
            .with_context(|| format!("reading the pipelines of {name:?} from Gate"))?;
        for rendered in &app.pipelines {
            let mut desired = rendered.clone();
            compare::stamp(&mut desired);
            let stored = live
                .iter()
                .find(|p| p.id.is_some() && p.id == desired.id)
                .or_else(|| live.iter().find(|p| p.name == desired.name));
            let outcome = decide(stored, &mut desired, opts.force);
            let save = matches!(
                outcome,
                Outcome::Created | Outcome::Updated | Outcome::Overwritten(_)
            );
            if save && !opts.dry_run {
                gate.save_pipeline(&desired)
                    .await
                    .with_context(|| format!("saving {name}/{} through Gate", desired.name))?;
            }
            report.push(Applied {
                pipeline: format!("{name}/{}", desired.name),
                outcome,
            });
        }
    }
    Ok(report)
}

/// Records in the state store when pipelines of each application were saved, so the daemon
/// holds that application's webhooks until Echo's pipeline cache can have them
/// (`spinnaker.echo_cache_wait`). Returns a warning when it could not (the pipelines are saved
/// either way): a SQLite state file that does not exist here is not created.
pub async fn record_saves(loaded: &Loaded, report: &[Applied]) -> Option<String> {
    let mut apps: Vec<&str> = report
        .iter()
        .filter(|r| {
            matches!(
                r.outcome,
                Outcome::Created | Outcome::Updated | Outcome::Overwritten(_)
            )
        })
        .filter_map(|r| r.pipeline.split('/').next())
        .collect();
    apps.dedup();
    if apps.is_empty() {
        return None;
    }
    let state = &loaded.config.state;
    let unwaited = "the daemon may send this application's events before Echo's pipeline cache \
        has the saved pipelines (they can start nothing or the old version)";
    if let Some(file) = state.sqlite_file()
        && !file.exists()
    {
        return Some(format!(
            "state: no SQLite file at {}, so the saves are not recorded; {unwaited}",
            file.display()
        ));
    }
    let store = match crate::store::Store::open(&state.connect_url()).await {
        Ok(s) => s,
        Err(e) => {
            return Some(format!(
                "state: {e}; the saves are not recorded; {unwaited}"
            ));
        }
    };
    let now = time::OffsetDateTime::now_utc();
    let mut warning = None;
    for app in apps {
        if let Err(e) = store.record_pipeline_save(app, now).await {
            warning = Some(format!(
                "state: cannot record the save of {app}: {e}; {unwaited}"
            ));
        }
    }
    store.close().await;
    warning
}

/// The decision for one pipeline; may adopt the stored id (front50 refuses a second pipeline
/// of the same name with another id).
fn decide(stored: Option<&PipelineConfig>, desired: &mut PipelineConfig, force: bool) -> Outcome {
    let Some(stored) = stored else {
        return Outcome::Created;
    };
    let stored_hash = compare::content_hash(stored);
    if stored_hash == compare::content_hash(desired) {
        return Outcome::Unchanged;
    }
    if compare::recorded_hash(stored) == Some(stored_hash.as_str()) && stored.id == desired.id {
        return Outcome::Updated;
    }
    let d = compare::diff(&compare::content(stored), &compare::content(desired));
    if force {
        desired.id = stored.id.clone().or(desired.id.take());
        compare::stamp(desired);
        Outcome::Overwritten(d)
    } else {
        Outcome::Drifted(d)
    }
}

/// A Gate client from the config's `spinnaker:` section (reads only the Gate secret files).
pub fn gate_client(loaded: &Loaded, timeout: Duration) -> anyhow::Result<Client> {
    let Some(spin) = &loaded.config.spinnaker else {
        anyhow::bail!(
            "{}: has no spinnaker: section; add gate_url to apply pipelines",
            loaded.file.display()
        );
    };
    let file = loaded.file.display();
    let read = |key: &str, path: &std::path::Path| {
        read_secret(path).map_err(|e| anyhow::anyhow!("{file}: {key}: {e}"))
    };
    let auth = match &spin.auth {
        GateAuth::None => Auth::None,
        GateAuth::Basic {
            user,
            password_file,
        } => Auth::Basic {
            user: user.clone(),
            password: read("spinnaker.auth.password_file", password_file)?,
        },
        GateAuth::Bearer { token_file } => Auth::Bearer {
            token: read("spinnaker.auth.token_file", token_file)?,
        },
        GateAuth::X509 {
            cert_file,
            key_file,
        } => {
            let cert = read("spinnaker.auth.cert_file", cert_file)?;
            let key = read("spinnaker.auth.key_file", key_file)?;
            let pem = format!("{}\n{}\n", cert.expose_secret(), key.expose_secret());
            Auth::X509 {
                pem: SecretString::from(pem),
            }
        }
    };
    Client::builder(spin.gate_url.as_str())
        .auth(auth)
        .timeout(timeout)
        .build()
        .with_context(|| format!("{file}: spinnaker.gate_url: cannot build a Gate client"))
}
