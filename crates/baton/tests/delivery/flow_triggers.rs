//! End to end on the rig: the chart job's other triggers. A signed push webhook checks the
//! chart source at once (the poll is an hour away); a manual sync of delivered content sends
//! nothing and says so; `sync --force` sends it again for every environment.

use baton_harness::flow;

use std::time::Duration;

use baton::hooks::{WebhookSecret, sign_sha256};
use flow::{Daemon, TOKEN, chart_webhooks, wait_for};
use secrecy::SecretString;
use serde_json::{Value, json};
use testkit::rig::Rig;
use testkit::spinnaker::FakeSpinnaker;

const APP: &str = "micro-gw";
const HOOK_SECRET: &str = "push-hook-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_webhook_manual_sync_and_force() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let repo = rig.new_git_repo("flow-hook").unwrap();
    let files = |dev: &'static [u8]| {
        vec![
            ("values-dev.yaml", Some(dev)),
            ("values-prod.yaml", Some(b"replicas: 3\n".as_slice())),
        ]
    };
    repo.commit("main", &files(b"replicas: 1\n"), "initial")
        .unwrap();
    let helm = rig.new_helm_repo("hook").unwrap();
    helm.publish("microgateway", "3.0.1", "replicas: 1\n")
        .unwrap();
    let spinnaker = FakeSpinnaker::builder()
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    std::fs::write(dir.path().join("api-tokens"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(dir.path().join("hook-secret"), format!("{HOOK_SECRET}\n")).unwrap();
    let file = dir.path().join("baton.yaml");
    std::fs::write(
        &file,
        format!(
            r#"
state: "sqlite://{db}"
listen: 127.0.0.1:0
api_tokens_file: api-tokens
spinnaker: {{gate_url: "{gate}"}}
git: {{webhook_secret_file: hook-secret}}
outbox: {{initial_delay: 100ms, max_delay: 1s, jitter: none}}
products:
  - name: {APP}
    environments: [dev, prod]
    chart: {{repository: "{helm}", name: microgateway, version: "3.0.1"}}
    chart_source: {{git: "{git}", branch: main, poll: 1h}}
"#,
            db = dir.path().join("data/baton.db").display(),
            gate = spinnaker.url(),
            helm = helm.url,
            git = repo.http_url,
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&file).await;
    let api = daemon.api();
    wait_for("the baseline", 60, || async {
        api.events(APP).await.into_iter().find(|e| {
            e["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("baseline"))
        })
    })
    .await;

    // A push, announced by a signed GitHub webhook: checked now, not in an hour.
    let commit = repo
        .commit("main", &files(b"replicas: 2\n"), "dev: 2")
        .unwrap();
    let body = serde_json::to_vec(&json!({
        "ref": "refs/heads/main", "after": commit, "deleted": false,
        "repository": {"clone_url": repo.http_url},
    }))
    .unwrap();
    let secret = WebhookSecret::new(SecretString::from(HOOK_SECRET.to_owned())).unwrap();
    baton::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let r = http
        .post(format!("{}/hooks/github", daemon.url))
        .header("X-GitHub-Event", "push")
        .header("X-GitHub-Delivery", "d-1")
        .header("X-Hub-Signature-256", sign_sha256(&secret, &body))
        .header("Content-Type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer["sources"],
        json!(["chart-source:micro-gw"]),
        "{answer}"
    );
    let sent = wait_for("the chart webhook after the push hook", 30, || async {
        chart_webhooks(&spinnaker).into_iter().next()
    })
    .await;
    eprintln!(
        "push hook -> chart webhook at the stand-in: {} ms",
        started.elapsed().as_millis()
    );
    assert_eq!(sent["environments"], "dev");
    assert_eq!(sent["parameters"]["commit"], commit.as_str());
    // A wrong signature is refused and checks nothing.
    let r = http
        .post(format!("{}/hooks/github", daemon.url))
        .header("X-GitHub-Event", "push")
        .header("X-GitHub-Delivery", "d-2")
        .header("X-Hub-Signature-256", format!("sha256={}", "0".repeat(64)))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    for (outcome, n) in [("triggered", 1.0), ("unauthorized", 1.0)] {
        let sample =
            format!("baton_webhook_requests_total{{provider=\"github\",outcome=\"{outcome}\"}}");
        assert_eq!(api.metric(&sample).await, n, "{sample}");
    }

    // A manual sync of content already delivered sends nothing and says why.
    let (status, v) = api.post("/v1/products/micro-gw/sync", json!({})).await;
    assert_eq!(status, 202);
    let id = v["event_id"].as_str().unwrap().to_owned();
    let detail = wait_for("the sync's outcome", 30, || async {
        let events = api.events(APP).await;
        let e = events.iter().find(|e| e["id"] == id.as_str())?;
        e["detail"].as_str().map(str::to_owned)
    })
    .await;
    assert!(detail.starts_with("unchanged"), "{detail}");
    // `sync --force` sends the same content again, for every environment.
    let (status, v) = api
        .post("/v1/products/micro-gw/sync", json!({"force": true}))
        .await;
    assert_eq!(status, 202);
    let forced = wait_for("the forced chart webhook", 30, || async {
        chart_webhooks(&spinnaker).into_iter().nth(1)
    })
    .await;
    assert_eq!(forced["environments"], "dev,prod");
    assert_eq!(forced["parameters"]["batonEvent"], v["event_id"]);
    assert_eq!(forced["artifacts"], sent["artifacts"], "same content");
    assert_eq!(chart_webhooks(&spinnaker).len(), 2);
    drop(daemon);
    spinnaker.shutdown().await;
}
