//! The config -> Spinnaker documents: one application, one deploy pipeline per environment and
//! one image pipeline per image of each product (shapes in `spinnaker/README.md`).

use serde_json::{Map, Value, json};
use spinnaker_client::model::artifact::{
    DOCKER_IMAGE, EMBEDDED_BASE64, ExpectedArtifact, HELM_CHART,
};
use spinnaker_client::model::pipeline::{PipelineConfig, Trigger};
use spinnaker_client::model::stage::{
    BakeManifest, DeployManifest, InputArtifact, ManualJudgment, Stage, StageKind,
};

use crate::config::model::{Chart, ChartDelivery, Config, Image, Product, Spinnaker};

/// Clouddriver's artifact account for `embedded/base64` content.
const EMBEDDED_ACCOUNT: &str = "embedded-artifact";

/// What `render` produces for one product (a Spinnaker application).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedApp {
    /// The application (`application.json`): front50's application fields.
    pub application: Value,
    /// Deploy pipelines in environment order, then image pipelines in config order.
    pub pipelines: Vec<PipelineConfig>,
}

impl RenderedApp {
    /// The application name.
    pub fn name(&self) -> &str {
        self.application["name"].as_str().unwrap_or_default()
    }
}

/// Renders every product that has a chart or images; the config must have a `spinnaker:`
/// section (validation already demands it for such products).
pub fn render(config: &Config) -> anyhow::Result<Vec<RenderedApp>> {
    let Some(spin) = &config.spinnaker else {
        anyhow::bail!(
            "the config has no spinnaker: section; add one (gate_url, webhook_source) to render pipelines"
        );
    };
    let mut apps = Vec::new();
    for p in &config.products {
        if p.chart.is_none() && p.images.is_empty() {
            continue;
        }
        let mut pipelines = Vec::new();
        if let Some(chart) = &p.chart {
            for (i, env) in p.environments.iter().enumerate() {
                pipelines.push(deploy_pipeline(spin, p, chart, env, i > 0));
            }
        }
        for image in &p.images {
            pipelines.push(image_pipeline(spin, p, image));
        }
        apps.push(RenderedApp {
            application: application(p),
            pipelines,
        });
    }
    Ok(apps)
}

/// The names of the pipelines [`render`] writes for `config`, without building them: the
/// daemon's delivery checks need only the names, and rendering the documents of 10,000 image
/// pipelines at start peaked at ~100 MB of heap (bench/README.md "Scale").
pub fn names(config: &Config) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for p in &config.products {
        if p.chart.is_some() {
            out.extend(p.environments.iter().map(|env| deploy_id(&p.name, env)));
        }
        out.extend(p.images.iter().map(|i| image_id(&p.name, &i.name)));
    }
    out
}

/// The id (and name) of the deploy pipeline of `env`.
pub fn deploy_id(app: &str, env: &str) -> String {
    format!("{app}-deploy-{env}")
}

/// The id (and name) of the pipeline that rolls out image events of `image`.
pub fn image_id(app: &str, image: &str) -> String {
    format!("{app}-image-{image}")
}

fn application(p: &Product) -> Value {
    json!({
        "name": p.name,
        "cloudProviders": "kubernetes",
        "description": format!("{}: deployed by baton-rendered pipelines", p.name),
    })
}

fn description() -> Value {
    "Rendered by `baton pipelines render` from baton's config. Change the config and run \
     `baton pipelines apply`; edits made here are reported as drift and kept until \
     `apply --force`."
        .into()
}

/// The Kubernetes namespace of `env`: `<app>-<env>`.
pub fn namespace(app: &str, env: &str) -> String {
    format!("{app}-{env}")
}

fn exact(text: &str) -> String {
    regex::escape(text)
}

fn chart_expected(id: &str, chart: &Chart) -> ExpectedArtifact {
    let mut e = match chart.delivery {
        ChartDelivery::Embedded => ExpectedArtifact::matching(
            id,
            EMBEDDED_BASE64,
            format!("{}-.*\\.tgz", exact(&chart.name)),
        ),
        ChartDelivery::Reference => {
            let mut e = ExpectedArtifact::matching(id, HELM_CHART, exact(&chart.name));
            if let Some(m) = e.match_artifact.as_mut() {
                // An exact version pins the chart; a range lets any version baton resolved in.
                m.version = chart.version.exact().map(|_| exact(chart.version.as_str()));
                m.artifact_account = chart.artifact_account.clone();
            }
            e
        }
    };
    e.display_name = Some("chart".into());
    e
}

fn input(id: &str, account: Option<&str>) -> InputArtifact {
    InputArtifact {
        id: Some(id.to_owned()),
        account: account.map(str::to_owned),
        ..InputArtifact::default()
    }
}

fn deploy_pipeline(
    spin: &Spinnaker,
    p: &Product,
    chart: &Chart,
    env: &str,
    judgment: bool,
) -> PipelineConfig {
    let app = p.name.as_str();
    let (chart_id, values_id, baked_id) = (
        format!("{app}-{env}-chart"),
        format!("{app}-{env}-values"),
        format!("{app}-{env}-manifest"),
    );
    let mut constraints = Map::new();
    constraints.insert("application".into(), format!("^{}$", exact(app)).into());
    constraints.insert(
        "environments".into(),
        format!("(^|,){}(,|$)", exact(env)).into(),
    );
    let mut values = ExpectedArtifact::matching(
        &values_id,
        EMBEDDED_BASE64,
        format!("values-{}\\.yaml", exact(env)),
    );
    values.display_name = Some(format!("values-{env}.yaml"));
    let chart_account = match chart.delivery {
        ChartDelivery::Embedded => Some(EMBEDDED_ACCOUNT),
        ChartDelivery::Reference => chart.artifact_account.as_deref(),
    };
    let mut stages = Vec::new();
    if judgment {
        stages.push(Stage::new(
            "judge",
            format!("Promote to {env}?"),
            StageKind::ManualJudgment(ManualJudgment {
                instructions: Some(format!(
                    "Deploy {} to {env}: `baton promote {app} {env}` (or `--stop`).",
                    chart.name
                )),
                fail_pipeline: Some(true),
                judgment_inputs: Some(Vec::new()),
                extra: judgment_extra(spin),
            }),
        ));
    }
    let mut baked = ExpectedArtifact::matching(&baked_id, EMBEDDED_BASE64, &baked_id);
    baked.display_name = Some(baked_id.clone());
    let bake = Stage::new(
        "bake",
        format!("Bake {} for {env}", chart.name),
        StageKind::BakeManifest(BakeManifest {
            template_renderer: Some("HELM3".into()),
            input_artifacts: Some(vec![
                input(&chart_id, chart_account),
                input(&values_id, Some(EMBEDDED_ACCOUNT)),
            ]),
            expected_artifacts: Some(vec![baked]),
            output_name: Some(app.to_owned()),
            namespace: Some(namespace(app, env)),
            overrides: Some(Map::new()),
            ..BakeManifest::default()
        }),
    );
    stages.push(if judgment {
        bake.after(&["judge"])
    } else {
        bake
    });
    stages.push(
        Stage::new(
            "deploy",
            format!("Deploy to {env}"),
            StageKind::DeployManifest(deploy_fields(spin, app, env, &baked_id)),
        )
        .after(&["bake"]),
    );
    stages.push(super::verify::stage(p, env).after(&["deploy"]));
    let id = deploy_id(app, env);
    pipeline(
        spin,
        app,
        &id,
        Trigger::webhook(
            &spin.webhook_source,
            constraints,
            vec![chart_id.clone(), values_id.clone()],
        ),
        vec![chart_expected(&chart_id, chart), values],
        stages,
    )
}

fn deploy_fields(spin: &Spinnaker, app: &str, env: &str, manifest: &str) -> DeployManifest {
    let mut extra = Map::new();
    extra.insert("cloudProvider".into(), "kubernetes".into());
    extra.insert("skipExpressionEvaluation".into(), true.into());
    DeployManifest {
        source: Some("artifact".into()),
        manifest_artifact_id: Some(manifest.to_owned()),
        namespace_override: Some(namespace(app, env)),
        account: Some(spin.deploy_account.clone()),
        moniker: Some(json!({"app": app}).as_object().cloned().unwrap_or_default()),
        extra,
        ..DeployManifest::default()
    }
}

/// The image pipeline: an image event of `image` rolls the pushed digest into the first
/// environment's Deployment named after the image (a strategic-merge patchManifest, whose
/// `requiredArtifactIds` make Spinnaker swap the image reference for the exact digest), then
/// verifies that environment like a deploy pipeline does.
fn image_pipeline(spin: &Spinnaker, p: &Product, image: &Image) -> PipelineConfig {
    let app = p.name.as_str();
    let env = p.environments.first().map(String::as_str).unwrap_or("dev");
    let image_art = format!("{app}-{}-image", image.name);
    let mut constraints = Map::new();
    constraints.insert("application".into(), format!("^{}$", exact(app)).into());
    constraints.insert(
        "$.parameters.image".into(),
        format!("^{}$", exact(&image.name)).into(),
    );
    let mut expected = ExpectedArtifact::matching(&image_art, DOCKER_IMAGE, exact(&image.target));
    expected.display_name = Some(image.target.clone());
    let patch = json!({
        "type": "patchManifest",
        "account": spin.deploy_account,
        "cloudProvider": "kubernetes",
        "location": namespace(app, env),
        "manifestName": format!("deployment {}", image.name),
        "mode": "static",
        "source": "text",
        "options": {"mergeStrategy": "strategic", "record": true},
        "patchBody": [{"spec": {"template": {"spec": {"containers": [
            {"name": image.name, "image": image.target}
        ]}}}}],
        "requiredArtifactIds": [image_art],
        "skipExpressionEvaluation": true,
    });
    let stage = Stage::new(
        "patch",
        format!("Roll {} into {env}", image.name),
        StageKind::Other(patch.as_object().cloned().unwrap_or_default()),
    );
    let id = image_id(app, &image.name);
    pipeline(
        spin,
        app,
        &id,
        Trigger::webhook(
            &spin.image_webhook_source,
            constraints,
            vec![image_art.clone()],
        ),
        vec![expected],
        vec![stage, super::verify::stage(p, env).after(&["patch"])],
    )
}

/// A judgment stage's timeout (it fails the stage, and with `failPipeline` the pipeline, rather
/// than waiting forever) and its notifications, when the config names any.
fn judgment_extra(spin: &Spinnaker) -> Map<String, Value> {
    let mut extra = Map::new();
    extra.insert("overrideTimeout".into(), true.into());
    let ms = u64::try_from(spin.judgment_timeout.as_millis()).unwrap_or(u64::MAX);
    extra.insert("stageTimeoutMs".into(), ms.into());
    if !spin.judgment_notifications.is_empty() {
        let notifications: Vec<Value> = spin
            .judgment_notifications
            .iter()
            .map(|n| {
                json!({
                    "type": n.kind,
                    "address": n.address,
                    "level": "stage",
                    "when": ["manualJudgment", "manualJudgmentContinue", "manualJudgmentStop"],
                })
            })
            .collect();
        extra.insert("sendNotifications".into(), true.into());
        extra.insert("notifications".into(), notifications.into());
    }
    extra
}

/// A pipeline around `trigger`, which runs as the Fiat service account when one is configured.
fn pipeline(
    spin: &Spinnaker,
    app: &str,
    id: &str,
    mut trigger: Trigger,
    expected: Vec<ExpectedArtifact>,
    stages: Vec<Stage>,
) -> PipelineConfig {
    trigger.run_as_user.clone_from(&spin.run_as_user);
    let mut extra = Map::new();
    extra.insert("description".into(), description());
    extra.insert("spelEvaluator".into(), "v4".into());
    PipelineConfig {
        id: Some(id.to_owned()),
        application: app.to_owned(),
        name: id.to_owned(),
        keep_waiting_pipelines: Some(false),
        limit_concurrent: Some(true),
        parameter_config: Some(Vec::new()),
        triggers: Some(vec![trigger]),
        expected_artifacts: Some(expected),
        stages: Some(stages),
        extra,
    }
}
