//! The verification stage that ends every rendered deploy and image pipeline, and its lint.
//!
//! Why a stage of the pipeline and not a check in baton: `baton promote` allows an environment
//! only when the earlier environment's execution SUCCEEDED, so a verification inside that
//! execution gates promotion without baton tracking test results of its own, and Spinnaker shows
//! it where operators already look. The stage is Spinnaker's `jenkins` stage (orca-igor
//! `CIStage`: start the job through igor, wait for it to leave the queue, then, with
//! `waitForCompletion`, `MonitorJenkinsJobTask` polls the build: SUCCESS -> SUCCEEDED, FAILURE and
//! UNSTABLE -> TERMINAL unless `markUnstableAsSuccessful`, ABORTED -> CANCELED; default timeout
//! 2 h, overridden here). With `failPipeline` a failed verification ends the execution TERMINAL.

use serde_json::{Value, json};
use spinnaker_client::lint::Finding;
use spinnaker_client::model::pipeline::PipelineConfig;
use spinnaker_client::model::stage::{Stage, StageKind};

use super::render::{deploy_id, image_id, namespace};
use crate::config::model::{Config, Product};

/// `refId` of the verification stage.
pub const REF_ID: &str = "verify";

/// Orca's type of the Jenkins stage.
pub const JENKINS_STAGE: &str = "jenkins";

/// The verification stage of `env`: runs the product's verification job with `ENVIRONMENT` and
/// `NAMESPACE`, waits for it, and fails the pipeline unless it ends SUCCESS.
pub fn stage(p: &Product, env: &str) -> Stage {
    let v = &p.verification;
    let ms = u64::try_from(v.timeout.as_millis()).unwrap_or(u64::MAX);
    let fields = json!({
        "type": JENKINS_STAGE,
        "master": v.master,
        "job": v.job_for(&p.name),
        "parameters": {"ENVIRONMENT": env, "NAMESPACE": namespace(&p.name, env)},
        "waitForCompletion": true,
        "markUnstableAsSuccessful": false,
        "failPipeline": true,
        "continuePipeline": false,
        "overrideTimeout": true,
        "stageTimeoutMs": ms,
    });
    Stage::new(
        REF_ID,
        format!("Verify {env}"),
        StageKind::Other(fields.as_object().cloned().unwrap_or_default()),
    )
}

/// Findings for the deploy and image pipelines of `config` (found among `pipelines` by id or
/// name) whose verification is missing, not last, or would not gate the execution.
pub fn lint(config: &Config, pipelines: &[PipelineConfig]) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &config.products {
        let mut wanted: Vec<(String, &str)> = Vec::new();
        if p.chart.is_some() {
            wanted.extend(
                p.environments
                    .iter()
                    .map(|e| (deploy_id(&p.name, e), e.as_str())),
            );
        }
        // Image pipelines roll into the first environment.
        if let Some(first) = p.environments.first() {
            wanted.extend(
                p.images
                    .iter()
                    .map(|i| (image_id(&p.name, &i.name), first.as_str())),
            );
        }
        for (id, env) in wanted {
            let found = pipelines
                .iter()
                .find(|x| x.application == p.name && (x.id.as_ref() == Some(&id) || x.name == id));
            if let Some(pipeline) = found {
                out.extend(check(p, env, pipeline));
            }
        }
    }
    out
}

fn check(p: &Product, env: &str, pipeline: &PipelineConfig) -> Vec<Finding> {
    let job = p.verification.job_for(&p.name);
    let finding = |path: String, message: String, fix: &str| Finding {
        pipeline: format!("{}/{}", pipeline.application, pipeline.name),
        path,
        message,
        fix: fix.to_owned(),
    };
    let rerender = "run `baton pipelines render` (products[].verification sets the job) and \
                    `baton pipelines apply`";
    let stages = pipeline.stages();
    let Some((i, stage)) = stages.iter().enumerate().find(|(_, s)| {
        s.stage_type == JENKINS_STAGE && field(s, "job").and_then(Value::as_str) == Some(&job)
    }) else {
        return vec![finding(
            "stages".into(),
            format!(
                "no verification stage: no `jenkins` stage runs {job}, so the execution can \
                 succeed, and the next environment be promoted, without any test"
            ),
            rerender,
        )];
    };
    let at = format!("stages[{i}]");
    let mut out = Vec::new();
    if let Some(after) = stages
        .iter()
        .find(|s| s.requisites().contains(&stage.ref_id))
    {
        out.push(finding(
            at.clone(),
            format!(
                "the verification is not last: stage {} runs after it",
                after.ref_id
            ),
            rerender,
        ));
    }
    let rollout = |s: &&Stage| matches!(s.stage_type.as_str(), "deployManifest" | "patchManifest");
    if !stages
        .iter()
        .filter(rollout)
        .any(|s| stage.requisites().contains(&s.ref_id))
    {
        out.push(finding(
            format!("{at}.requisiteStageRefIds"),
            "the verification does not wait for the deployManifest (or patchManifest) stage".into(),
            rerender,
        ));
    }
    let flag = |key: &str| field(stage, key).and_then(Value::as_bool);
    for (key, bad, why) in [
        (
            "waitForCompletion",
            Some(false),
            "the stage would not wait for the job's result",
        ),
        (
            "failPipeline",
            Some(false),
            "a failed verification would not fail the execution",
        ),
        (
            "continuePipeline",
            Some(true),
            "a failed verification would not fail the execution",
        ),
        (
            "markUnstableAsSuccessful",
            Some(true),
            "an UNSTABLE verification would count as success",
        ),
    ] {
        if flag(key) == bad {
            out.push(finding(format!("{at}.{key}"), why.into(), rerender));
        }
    }
    let sent = field(stage, "parameters").and_then(|m| m.get("ENVIRONMENT"));
    if sent.and_then(Value::as_str) != Some(env) {
        out.push(finding(
            format!("{at}.parameters.ENVIRONMENT"),
            format!("the verification must be told the environment {env:?} (got {sent:?})"),
            rerender,
        ));
    }
    out
}

fn field<'a>(stage: &'a Stage, key: &str) -> Option<&'a Value> {
    match &stage.kind {
        StageKind::Other(m) => m.get(key),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use spinnaker_client::model::stage::StageKind;

    use crate::config;
    use crate::pipelines::{lint::lint_against, render};

    fn example() -> config::Loaded {
        let file =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../baton/examples/baton.yaml");
        config::load_with_env(&file, Default::default()).unwrap()
    }

    /// Lint findings (as text) for the example's staging pipeline after `edit`.
    fn findings_after(
        edit: impl FnOnce(&mut Vec<spinnaker_client::model::stage::Stage>),
    ) -> Vec<String> {
        let loaded = example();
        let mut p = render(&loaded.config).unwrap()[0].pipelines[1].clone();
        edit(p.stages.as_mut().unwrap());
        lint_against(&loaded.config, &[p])
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn set(stage: &mut spinnaker_client::model::stage::Stage, key: &str, value: Value) {
        match &mut stage.kind {
            StageKind::Other(m) => {
                m.insert(key.into(), value);
            }
            _ => panic!("the verification stage is not a jenkins stage"),
        }
    }

    #[test]
    fn every_deploy_pipeline_ends_with_a_jenkins_verification_of_its_environment() {
        let apps = render(&example().config).unwrap();
        for (p, env) in apps[0].pipelines.iter().zip(["dev", "staging", "prod"]) {
            let last = serde_json::to_value(p.stages().last().unwrap()).unwrap();
            assert_eq!(
                last,
                json!({
                    "refId": "verify", "type": "jenkins", "name": format!("Verify {env}"),
                    "requisiteStageRefIds": ["deploy"],
                    "master": "jenkins", "job": "micro-gw/verify",
                    "parameters": {"ENVIRONMENT": env, "NAMESPACE": format!("micro-gw-{env}")},
                    "waitForCompletion": true, "markUnstableAsSuccessful": false,
                    "failPipeline": true, "continuePipeline": false,
                    "overrideTimeout": true, "stageTimeoutMs": 1_800_000,
                })
            );
        }
        // The image pipeline rolls into dev and verifies dev after its patch.
        let image = &apps[0].pipelines[3];
        let last = serde_json::to_value(image.stages().last().unwrap()).unwrap();
        assert_eq!(last["type"], "jenkins");
        assert_eq!(last["requisiteStageRefIds"], json!(["patch"]));
        assert_eq!(last["parameters"]["ENVIRONMENT"], "dev");
    }

    #[test]
    fn lint_finds_a_missing_or_toothless_verification() {
        assert_eq!(findings_after(|_| {}), Vec::<String>::new());
        let missing = findings_after(|s| {
            s.pop();
        });
        assert_eq!(missing.len(), 1, "{missing:#?}");
        assert!(
            missing[0].starts_with(
                "micro-gw/micro-gw-deploy-staging: stages: no verification stage: no `jenkins` \
                 stage runs micro-gw/verify"
            ),
            "{}",
            missing[0]
        );
        let toothless = findings_after(|s| {
            let v = s.last_mut().unwrap();
            set(v, "failPipeline", json!(false));
            set(v, "waitForCompletion", json!(false));
            set(v, "parameters", json!({"ENVIRONMENT": "dev"}));
        });
        let paths: Vec<&str> = toothless
            .iter()
            .map(|f| f.split(": ").nth(1).unwrap())
            .collect();
        assert_eq!(
            paths,
            [
                "stages[3].waitForCompletion",
                "stages[3].failPipeline",
                "stages[3].parameters.ENVIRONMENT"
            ],
            "{toothless:#?}"
        );
        // A stage after the verification makes it not the last word.
        let not_last = findings_after(|s| {
            let extra = s[0].clone().after(&["verify"]);
            s.push(spinnaker_client::model::stage::Stage {
                ref_id: "late".into(),
                ..extra
            });
        });
        assert!(
            not_last
                .iter()
                .any(|f| f.contains("the verification is not last: stage late runs after it")),
            "{not_last:#?}"
        );
    }

    #[test]
    fn verification_job_and_master_come_from_the_config_and_are_checked() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../baton/examples/baton.yaml"),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("baton.yaml");
        let with = |extra: &str| {
            let t = text.replacen(
                "    environments:",
                &format!("    verification: {extra}\n    environments:"),
                1,
            );
            assert_ne!(t, text, "the example has no `    environments:` line");
            std::fs::write(&file, t).unwrap();
            config::load_with_env(&file, Default::default())
        };
        let loaded = with("{master: ci, job: qa/smoke-gw, timeout: 5m}").unwrap();
        let p = render(&loaded.config).unwrap()[0].pipelines[0].clone();
        let last = serde_json::to_value(p.stages().last().unwrap()).unwrap();
        assert_eq!(last["master"], "ci");
        assert_eq!(last["job"], "qa/smoke-gw");
        assert_eq!(last["stageTimeoutMs"], 300_000);
        let err = format!("{:#}", with("{job: 'qa//smoke'}").unwrap_err());
        assert!(
            err.contains("products[0].verification.job") && err.contains("must be a job path"),
            "{err}"
        );
    }
}
