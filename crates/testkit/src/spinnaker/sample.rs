//! Pipelines and events shaped like baton's (docs/wire.md "Chart event", "Image event" and
//! "Spinnaker pipelines"), for tests and demos that need realistic input.

use serde_json::{Map, Value, json};
use spinnaker_client::model::artifact::{
    Artifact, DOCKER_IMAGE, EMBEDDED_BASE64, ExpectedArtifact,
};
use spinnaker_client::model::pipeline::{PipelineConfig, Trigger};
use spinnaker_client::model::stage::{
    BakeManifest, DeployManifest, InputArtifact, ManualJudgment, Stage, StageKind,
};

/// `<app>-deploy-<env>`: webhook trigger on `source` with constraints `application` = app and
/// `$.parameters.environments` containing env (a JsonPath: `environments` sits under
/// `parameters` in baton's payload); expected artifacts chart `<chart>-.*\.tgz` and
/// `values-<env>.yaml`; [manualJudgment ->] bakeManifest HELM3 -> deployManifest into
/// namespace `<app>-<env>` on account `k8s`.
pub fn deploy_pipeline(
    app: &str,
    env: &str,
    chart: &str,
    source: &str,
    judgment: bool,
) -> PipelineConfig {
    let chart_id = format!("{app}-{env}-chart");
    let values_id = format!("{app}-{env}-values");
    let baked_id = format!("{app}-{env}-baked");
    let mut constraints = Map::new();
    constraints.insert("application".into(), format!("^{app}$").into());
    constraints.insert("$.parameters.environments".into(), env.into());
    let mut stages = Vec::new();
    let mut previous: Option<&str> = None;
    if judgment {
        stages.push(Stage::new(
            "judge",
            format!("Promote to {env}?"),
            StageKind::ManualJudgment(ManualJudgment {
                fail_pipeline: Some(true),
                judgment_inputs: Some(Vec::new()),
                ..ManualJudgment::default()
            }),
        ));
        previous = Some("judge");
    }
    let input = |id: &str| InputArtifact {
        id: Some(id.to_owned()),
        ..InputArtifact::default()
    };
    let bake = Stage::new(
        "bake",
        format!("Bake {chart} for {env}"),
        StageKind::BakeManifest(BakeManifest {
            template_renderer: Some("HELM3".into()),
            input_artifacts: Some(vec![input(&chart_id), input(&values_id)]),
            expected_artifacts: Some(vec![ExpectedArtifact::matching(
                &baked_id,
                EMBEDDED_BASE64,
                format!("{app}-{env}-manifest"),
            )]),
            output_name: Some(app.to_owned()),
            namespace: Some(format!("{app}-{env}")),
            ..BakeManifest::default()
        }),
    );
    stages.push(match previous {
        Some(p) => bake.after(&[p]),
        None => bake,
    });
    stages.push(
        Stage::new(
            "deploy",
            format!("Deploy to {env}"),
            StageKind::DeployManifest(DeployManifest {
                source: Some("artifact".into()),
                manifest_artifact_id: Some(baked_id),
                namespace_override: Some(format!("{app}-{env}")),
                account: Some("k8s".into()),
                ..DeployManifest::default()
            }),
        )
        .after(&["bake"]),
    );
    PipelineConfig {
        application: app.to_owned(),
        name: format!("{app}-deploy-{env}"),
        keep_waiting_pipelines: Some(false),
        limit_concurrent: Some(true),
        triggers: Some(vec![Trigger::webhook(
            source,
            constraints,
            vec![chart_id.clone(), values_id.clone()],
        )]),
        expected_artifacts: Some(vec![
            ExpectedArtifact::matching(&chart_id, EMBEDDED_BASE64, format!("{chart}-.*\\.tgz")),
            ExpectedArtifact::matching(
                &values_id,
                EMBEDDED_BASE64,
                format!("values-{}\\.yaml", regex::escape(env)),
            ),
        ]),
        stages: Some(stages),
        ..PipelineConfig::default()
    }
}

/// A pipeline that rolls baton's image events in: webhook trigger on source `image` with
/// constraint `application` = app, a `docker/image` expected artifact matching
/// `repository` (a regex), [manualJudgment ->] patchManifest on account `k8s`. Named
/// `<app>-image-<image>` it is what the first environment runs; named `<app>-deploy-<env>` with
/// a judgment, a later environment that waits before the image rolls in.
pub fn image_pipeline(app: &str, name: &str, repository: &str, judgment: bool) -> PipelineConfig {
    let mut constraints = Map::new();
    constraints.insert("application".into(), format!("^{app}$").into());
    let image = ExpectedArtifact::matching("img", DOCKER_IMAGE, repository);
    let patch = json!({"type": "patchManifest", "account": "k8s", "requiredArtifactIds": ["img"]});
    let mut stages = Vec::new();
    let mut roll = Stage::new(
        "patch",
        "Roll the image",
        StageKind::Other(patch.as_object().cloned().unwrap_or_default()),
    );
    if judgment {
        stages.push(Stage::new(
            "judge",
            format!("Roll into {name}?"),
            StageKind::ManualJudgment(ManualJudgment {
                fail_pipeline: Some(true),
                ..ManualJudgment::default()
            }),
        ));
        roll = roll.after(&["judge"]);
    }
    stages.push(roll);
    PipelineConfig {
        application: app.into(),
        name: name.into(),
        limit_concurrent: Some(true),
        keep_waiting_pipelines: Some(false),
        triggers: Some(vec![Trigger::webhook(
            "image",
            constraints,
            vec!["img".into()],
        )]),
        expected_artifacts: Some(vec![image]),
        stages: Some(stages),
        ..PipelineConfig::default()
    }
}

/// A chart event body as baton posts it: the chart `.tgz` and one values file per
/// environment, all `embedded/base64`.
pub fn chart_event(
    app: &str,
    chart: &str,
    version: &str,
    environments: &[&str],
    tgz: &[u8],
    values: &[(&str, &[u8])],
) -> Value {
    let mut artifacts = vec![Artifact::embedded_base64(
        format!("{chart}-{version}.tgz"),
        tgz,
    )];
    for (env, bytes) in values {
        artifacts.push(Artifact::embedded_base64(
            format!("values-{env}.yaml"),
            bytes,
        ));
    }
    json!({
        "application": app,
        "parameters": {
            "product": app,
            "chart": chart,
            "chartVersion": version,
            "environments": environments.join(","),
        },
        "artifacts": artifacts,
    })
}
