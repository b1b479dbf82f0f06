//! Rendering from the shipped example config, the committed files, and the lint.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use spinnaker_client::model::stage::StageKind;

use super::{compare, drift, files, lint, render, to_json};
use crate::config::{self, model::ChartDelivery};

/// The `baton` crate, which holds the example config.
fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../baton")
}

fn example() -> config::Loaded {
    config::load(&crate_dir().join("examples/baton.yaml")).expect("examples/baton.yaml loads")
}

fn committed() -> PathBuf {
    crate_dir().join("../../spinnaker")
}

#[test]
fn committed_files_match_what_render_writes_for_the_example() {
    let apps = render(&example().config).unwrap();
    let d = drift(&committed(), &apps).unwrap();
    assert!(
        d.is_empty(),
        "spinnaker/ is out of date; run `cargo run -p baton -- --config crates/baton/examples/baton.yaml pipelines render --out spinnaker`:\n{}",
        d.join("\n")
    );
}

#[test]
fn names_are_those_of_the_rendered_pipelines() {
    let config = &example().config;
    let rendered: std::collections::HashSet<String> = render(config)
        .unwrap()
        .iter()
        .flat_map(|a| a.pipelines.iter().map(|p| p.name.clone()))
        .collect();
    assert!(rendered.len() > 3, "{rendered:?}");
    assert_eq!(super::render::names(config), rendered);
}

#[test]
fn drift_names_a_changed_and_an_extra_file() {
    let apps = render(&example().config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    super::write(dir.path(), &apps).unwrap();
    assert!(drift(dir.path(), &apps).unwrap().is_empty());
    let staging = dir.path().join("micro-gw/micro-gw-deploy-staging.json");
    let text = std::fs::read_to_string(&staging).unwrap();
    std::fs::write(&staging, text.replace("HELM3", "HELM2")).unwrap();
    std::fs::write(dir.path().join("micro-gw/old.json"), "{}").unwrap();
    let d = drift(dir.path(), &apps).unwrap();
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(
        d[0].ends_with("micro-gw-deploy-staging.json differs"),
        "{d:#?}"
    );
    assert!(
        d[1].ends_with("old.json is not rendered from the config"),
        "{d:#?}"
    );
    // write() removes what the config no longer renders.
    super::write(dir.path(), &apps).unwrap();
    assert!(drift(dir.path(), &apps).unwrap().is_empty());
    assert!(!Path::new(&dir.path().join("micro-gw/old.json")).exists());
}

#[test]
fn deploy_pipelines_have_the_documented_shape() {
    let apps = render(&example().config).unwrap();
    assert_eq!(apps.len(), 1);
    let names: Vec<&str> = apps[0].pipelines.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "micro-gw-deploy-dev",
            "micro-gw-deploy-staging",
            "micro-gw-deploy-prod",
            "micro-gw-image-petstore"
        ]
    );
    for (p, env) in apps[0].pipelines.iter().zip(["dev", "staging", "prod"]) {
        assert_eq!(p.id.as_deref(), Some(p.name.as_str()));
        assert_eq!(p.limit_concurrent, Some(true));
        let t = &p.triggers()[0];
        assert_eq!(t.source.as_deref(), Some("chart"));
        let c = t.payload_constraints.as_ref().unwrap();
        assert_eq!(c["application"], "^micro\\-gw$");
        assert_eq!(c["environments"], json!(format!("(^|,){env}(,|$)")));
        let names: Vec<&str> = p
            .expected_artifacts()
            .iter()
            .map(|e| e.match_artifact.as_ref().unwrap().name.as_deref().unwrap())
            .collect();
        assert_eq!(
            names,
            ["microgateway-.*\\.tgz", &format!("values-{env}\\.yaml")]
        );
        let ids: Vec<&str> = p
            .expected_artifacts()
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(t.expected_artifact_ids(), ids);
        let kinds: Vec<&str> = p.stages().iter().map(|s| s.stage_type.as_str()).collect();
        if env == "dev" {
            assert_eq!(kinds, ["bakeManifest", "deployManifest", "jenkins"]);
        } else {
            assert_eq!(
                kinds,
                [
                    "manualJudgment",
                    "bakeManifest",
                    "deployManifest",
                    "jenkins"
                ]
            );
        }
        let bake = p.stages().iter().find_map(|s| match &s.kind {
            StageKind::BakeManifest(b) => Some(b),
            _ => None,
        });
        let inputs: Vec<&str> = bake
            .unwrap()
            .input_artifacts
            .iter()
            .flatten()
            .filter_map(|i| i.id.as_deref())
            .collect();
        assert_eq!(inputs, ids, "bake inputs are [chart, values-{env}]");
    }
    let image = &apps[0].pipelines[3];
    let t = &image.triggers()[0];
    assert_eq!(t.source.as_deref(), Some("image"));
    assert_eq!(
        t.payload_constraints.as_ref().unwrap()["$.parameters.image"],
        "^petstore$"
    );
    let m = image.expected_artifacts()[0]
        .match_artifact
        .as_ref()
        .unwrap();
    assert_eq!(m.artifact_type.as_deref(), Some("docker/image"));
    assert_eq!(
        m.name.as_deref(),
        Some("registry\\.internal:5000/acme/petstore")
    );
}

#[test]
fn reference_delivery_expects_a_helm_chart_by_name_and_version() {
    let mut loaded = example();
    let chart = loaded.config.products[0].chart.as_mut().unwrap();
    chart.delivery = ChartDelivery::Reference;
    chart.artifact_account = Some("wso2-helm".into());
    let apps = render(&loaded.config).unwrap();
    let m = apps[0].pipelines[0].expected_artifacts()[0]
        .match_artifact
        .clone()
        .unwrap();
    assert_eq!(m.artifact_type.as_deref(), Some("helm/chart"));
    assert_eq!(m.name.as_deref(), Some("microgateway"));
    assert_eq!(m.version.as_deref(), Some("3\\.0\\.1\\-1"));
    assert_eq!(m.artifact_account.as_deref(), Some("wso2-helm"));
    let findings = lint::lint_against(&loaded.config, &apps[0].pipelines).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn rendered_pipelines_lint_clean_against_the_events_baton_posts() {
    let loaded = example();
    let apps = render(&loaded.config).unwrap();
    let events = lint::sample_events(&loaded.config).unwrap();
    // all environments, each one alone, and the image event
    assert_eq!(events.len(), 5);
    let findings = lint::lint_against(&loaded.config, &apps[0].pipelines).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn output_is_deterministic_sorted_pretty_json_with_a_final_newline() {
    let loaded = example();
    let a = files(&render(&loaded.config).unwrap());
    let b = files(&render(&loaded.config).unwrap());
    assert_eq!(a, b);
    for (path, text) in &a {
        assert!(text.ends_with("}\n"), "{}", path.display());
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            to_json(&v),
            *text,
            "{} is not in canonical form",
            path.display()
        );
    }
    assert_eq!(
        to_json(&json!({"b": 1, "a": 2})),
        "{\n  \"a\": 2,\n  \"b\": 1\n}\n"
    );
}

#[test]
fn content_hash_ignores_managed_fields_and_sees_real_changes() {
    let apps = render(&example().config).unwrap();
    let mut p = apps[0].pipelines[0].clone();
    compare::stamp(&mut p);
    let h = compare::content_hash(&p);
    assert_eq!(compare::recorded_hash(&p), Some(h.as_str()));
    let mut stored = p.clone();
    for (k, v) in [
        ("index", json!(2)),
        ("updateTs", json!("1764400000000")),
        ("lastModifiedBy", json!("anonymous")),
        ("schema", json!("1")),
    ] {
        stored.extra.insert(k.into(), v);
    }
    assert_eq!(compare::content_hash(&stored), h);
    stored.limit_concurrent = Some(false);
    assert_ne!(compare::content_hash(&stored), h);
    let d = compare::diff(&compare::content(&stored), &compare::content(&p));
    assert_eq!(d, ["limitConcurrent: in Spinnaker false, rendered true"]);
}

#[test]
fn a_pipeline_no_baton_event_starts_is_found() {
    let loaded = example();
    let mut p = render(&loaded.config).unwrap()[0].pipelines[1].clone();
    // A constraint on a key baton does not post at the top level.
    let t = &mut p.triggers.as_mut().unwrap()[0];
    let c = t.payload_constraints.as_mut().unwrap();
    c.remove("environments");
    c.insert("chartName".into(), json!("microgateway"));
    let findings = lint::lint_against(&loaded.config, &[p]).unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].pipeline, "micro-gw/micro-gw-deploy-staging");
    assert!(
        findings[0]
            .message
            .starts_with("no event baton posts for this config starts this pipeline"),
        "{}",
        findings[0]
    );
}

#[test]
fn deploy_account_defaults_to_kubernetes_and_must_not_be_empty() {
    let file = crate_dir().join("examples/baton.yaml");
    let apps = render(&example().config).unwrap();
    let deploy = &apps[0].pipelines[0].stages()[1];
    let StageKind::DeployManifest(d) = &deploy.kind else {
        panic!("{deploy:?}")
    };
    assert_eq!(d.account.as_deref(), Some("kubernetes"));
    let env = |v: &str| {
        std::collections::HashMap::from([(
            "BATON__SPINNAKER__DEPLOY_ACCOUNT".to_owned(),
            v.to_owned(),
        )])
    };
    let other = config::load_with_env(&file, env("prod-cluster")).unwrap();
    let apps = render(&other.config).unwrap();
    let StageKind::DeployManifest(d) = &apps[0].pipelines[0].stages()[1].kind else {
        panic!()
    };
    assert_eq!(d.account.as_deref(), Some("prod-cluster"));
    let err = config::load_with_env(&file, env(" "))
        .unwrap_err()
        .to_string();
    assert!(err.contains("spinnaker.deploy_account: is empty"), "{err}");
}

#[test]
fn judgments_time_out_and_notify_and_triggers_run_as_the_fiat_account() {
    let mut config = example().config;
    let apps = render(&config).unwrap();
    let judge = |apps: &[super::RenderedApp], id: &str| {
        let p = apps[0].pipelines.iter().find(|p| p.name == id).unwrap();
        let v = serde_json::to_value(p).unwrap();
        let stage = v["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["type"] == "manualJudgment")
            .cloned();
        (v["triggers"][0].clone(), stage)
    };
    // Defaults: 72 h, no notifications, no runAsUser (Fiat off).
    let (trigger, stage) = judge(&apps, "micro-gw-deploy-prod");
    let stage = stage.expect("prod is judged");
    assert_eq!(stage["overrideTimeout"], true);
    assert_eq!(stage["stageTimeoutMs"], 72 * 3600 * 1000);
    assert!(stage.get("notifications").is_none());
    assert!(trigger.get("runAsUser").is_none());
    assert!(
        judge(&apps, "micro-gw-deploy-dev").1.is_none(),
        "dev is not judged"
    );

    let spin = config.spinnaker.as_mut().unwrap();
    spin.run_as_user = Some("baton-pipelines@example.com".into());
    spin.judgment_timeout = std::time::Duration::from_secs(8 * 3600);
    spin.judgment_notifications = vec![config::model::JudgmentNotification {
        kind: "slack".into(),
        address: "#deploys".into(),
    }];
    let apps = render(&config).unwrap();
    let (trigger, stage) = judge(&apps, "micro-gw-deploy-staging");
    let stage = stage.unwrap();
    assert_eq!(stage["stageTimeoutMs"], 8 * 3600 * 1000);
    assert_eq!(stage["sendNotifications"], true);
    assert_eq!(stage["notifications"][0]["type"], "slack");
    assert_eq!(stage["notifications"][0]["address"], "#deploys");
    assert_eq!(stage["notifications"][0]["when"][0], "manualJudgment");
    assert_eq!(trigger["runAsUser"], "baton-pipelines@example.com");
    let (image_trigger, _) = judge(&apps, "micro-gw-image-petstore");
    assert_eq!(image_trigger["runAsUser"], "baton-pipelines@example.com");
}
