//! End to end on the rig: a values change pushed to the chart source becomes exactly one
//! webhook at the Spinnaker stand-in naming only that environment, and that environment's
//! pipeline deploys it; docs-only and same-content commits send nothing; invalid YAML is
//! rejected with file and line; a newer chart the range selects goes to every environment.
//! SQLite and PostgreSQL.

use baton_harness::config::{Config, FAST_OUTBOX};
use baton_harness::flow;

use std::path::Path;

use flow::{Api, Daemon, TOKEN, artifact_bytes, chart_webhooks, wait_for};
use serde_json::Value;
use testkit::rig::Rig;
use testkit::spinnaker::FakeSpinnaker;
use testkit::spinnaker::sample::deploy_pipeline;

const APP: &str = "micro-gw";
const SOURCE: &str = "chart-source:micro-gw";
const DEV: &[u8] = b"replicas: 1\nlog: debug\n";
const DEV2: &[u8] = b"replicas: 2\nlog: debug\n";
const STAGING: &[u8] = b"replicas: 2\n";
const PROD: &[u8] = b"replicas: 3\nresources: {cpu: 2}\n";
const BAD_PROD: &[u8] = b"replicas: 3\nresources:\n  cpu: [2\n  memory: 1Gi\n";

fn config(dir: &Path, state: &str, gate: &str, git: &str, helm: &str) -> std::path::PathBuf {
    Config::new(TOKEN)
        .state(state)
        .jenkins(None)
        .gate(gate)
        .line("first_seen: baseline")
        .line(FAST_OUTBOX)
        .products(&format!(
            r#"  - name: {APP}
    environments: [dev, staging, prod]
    chart: {{repository: "{helm}", name: microgateway, version: "^3.0"}}
    chart_source: {{git: "{git}", branch: main, dir: mgw, poll: 1s}}
"#
        ))
        .write(dir)
}

/// The chart webhooks the Spinnaker stand-in received, as JSON.
async fn chart_events(api: &Api) -> Vec<Value> {
    api.outbox()
        .await
        .into_iter()
        .filter(|r| r["kind"] == "spinnaker.webhook")
        .collect()
}

async fn chart_flow(rig: &Rig, state: &str, dir: &Path) {
    let repo = rig.new_git_repo("flow-chart").unwrap();
    let values = |dev: &'static [u8], prod: &'static [u8]| {
        vec![
            ("mgw/values-dev.yaml", Some(dev)),
            ("mgw/values-staging.yaml", Some(STAGING)),
            ("mgw/values-prod.yaml", Some(prod)),
        ]
    };
    let mut first = values(DEV, PROD);
    first.push(("README.md", Some(b"# charts\n".as_slice())));
    repo.commit("main", &first, "initial values").unwrap();
    let helm = rig.new_helm_repo("flow").unwrap();
    let tgz_path = helm
        .publish("microgateway", "3.0.1", "replicas: 1\n")
        .unwrap();
    let tgz = std::fs::read(&tgz_path).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let spinnaker = FakeSpinnaker::builder()
        .pipeline(deploy_pipeline(APP, "dev", "microgateway", "chart", false))
        .pipeline(deploy_pipeline(APP, "prod", "microgateway", "chart", true))
        .start(listener)
        .await
        .unwrap();
    let file = config(dir, state, spinnaker.url(), &repo.http_url, &helm.url);
    let daemon = Daemon::start(&file).await;
    let api = daemon.api();

    // First sight is a baseline: recorded, nothing sent.
    wait_for("the baseline event", 60, || async {
        api.events(APP).await.into_iter().find(|e| {
            e["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("baseline"))
        })
    })
    .await;
    assert!(chart_events(&api).await.is_empty(), "{}", daemon.log());

    // values-dev.yaml changed and pushed -> exactly one chart event for dev.
    let commit = repo
        .commit("main", &values(DEV2, PROD), "dev: two replicas")
        .unwrap();
    let body = wait_for(
        "the chart webhook at the Spinnaker stand-in",
        60,
        || async { chart_webhooks(&spinnaker).into_iter().next() },
    )
    .await;
    let record = chart_events(&api).await.remove(0);
    assert_eq!(record["payload"]["body"], body, "sent as recorded");
    assert_eq!(body["application"], APP);
    assert_eq!(body["environments"], "dev");
    assert_eq!(body["parameters"]["environments"], "dev");
    assert_eq!(body["parameters"]["commit"], commit.as_str());
    assert_eq!(body["parameters"]["chartVersion"], "3.0.1");
    assert_eq!(body["parameters"]["batonEvent"], record["event_id"]);
    let artifacts = body["artifacts"].as_array().unwrap();
    let names: Vec<&str> = artifacts
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "microgateway-3.0.1.tgz",
            "values-dev.yaml",
            "values-staging.yaml",
            "values-prod.yaml"
        ]
    );
    assert_eq!(
        artifact_bytes(&artifacts[0]),
        tgz,
        "the chart, byte for byte"
    );
    assert_eq!(artifact_bytes(&artifacts[1]), DEV2);
    assert_eq!(artifact_bytes(&artifacts[2]), STAGING);
    assert_eq!(artifact_bytes(&artifacts[3]), PROD);
    // The dev pipeline runs (and only it): its bake got the chart and the dev values.
    let deployed = wait_for("the dev deployment", 60, || async {
        spinnaker.deployed(APP, "micro-gw-dev")
    })
    .await;
    assert_eq!(deployed.pipeline, "micro-gw-deploy-dev");
    assert_eq!(deployed.chart.and_then(|c| c.bytes), Some(tgz.clone()));
    let baked: Vec<_> = deployed
        .values
        .into_iter()
        .filter_map(|v| v.bytes)
        .collect();
    assert_eq!(baked, [DEV2.to_vec()]);
    let runs: Vec<_> = spinnaker
        .executions(APP)
        .into_iter()
        .filter_map(|e| e.name)
        .collect();
    assert_eq!(runs, ["micro-gw-deploy-dev"]);

    // A docs-only commit -> nothing.
    repo.commit("main", &[("README.md", Some(b"# charts, v2\n"))], "docs")
        .unwrap();
    api.wait_checks(SOURCE, "unchanged", 2.0).await;
    // The same content recommitted -> nothing.
    repo.commit("main", &values(DEV2, PROD), "same values again")
        .unwrap();
    api.wait_checks(SOURCE, "unchanged", 2.0).await;
    assert_eq!(chart_events(&api).await.len(), 1, "{}", daemon.log());
    assert_eq!(chart_webhooks(&spinnaker).len(), 1);

    // A chart version the range (^3.0) now selects appears in the Helm repo -> one event for
    // every environment, carrying the new chart.
    let newer = std::fs::read(
        helm.publish("microgateway", "3.0.2", "replicas: 2\n")
            .unwrap(),
    )
    .unwrap();
    let bump = wait_for("the chart-version event", 60, || async {
        chart_webhooks(&spinnaker).into_iter().nth(1)
    })
    .await;
    assert_eq!(bump["environments"], "dev,staging,prod");
    assert_eq!(bump["parameters"]["chartVersion"], "3.0.2");
    assert_eq!(bump["artifacts"][0]["name"], "microgateway-3.0.2.tgz");
    assert_eq!(artifact_bytes(&bump["artifacts"][0]), newer);
    api.wait_checks(SOURCE, "unchanged", 2.0).await;
    assert_eq!(chart_webhooks(&spinnaker).len(), 2);

    // Invalid YAML in values-prod.yaml -> rejected with file and line, nothing sent.
    repo.commit("main", &values(DEV2, BAD_PROD), "broken prod values")
        .unwrap();
    let detail = wait_for("the rejection in status", 60, || async {
        let status = api.get("/v1/status").await;
        let last = &status["products"][0]["last_chart_event"];
        last["detail"]
            .as_str()
            .filter(|d| d.contains("rejected"))
            .map(str::to_owned)
    })
    .await;
    assert!(
        detail.contains("mgw/values-prod.yaml line 4"),
        "names the file and line: {detail}"
    );
    api.wait_checks(SOURCE, "rejected", 2.0).await;
    assert_eq!(chart_events(&api).await.len(), 2, "{}", daemon.log());
    assert_eq!(
        chart_webhooks(&spinnaker).len(),
        2,
        "no webhook for the rejected commit"
    );
    assert!(spinnaker.unexpected_requests().is_empty());
    drop(daemon);
    spinnaker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_flow_sqlite() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = format!("sqlite://{}", dir.path().join("data/baton.db").display());
    chart_flow(&rig, &state, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_flow_postgres() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = rig.new_database("flow_chart").await.unwrap();
    chart_flow(&rig, &state, dir.path()).await;
}
