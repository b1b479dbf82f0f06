//! End to end on the rig: the chart job's other triggers. A signed push webhook checks the
//! chart source at once (the poll is an hour away) at the pushed commit, without listing the
//! remote's refs, reading only the files the push changed; a push naming a commit the remote
//! does not hold is refused with an event; a manual sync of delivered content sends nothing
//! and says so; `sync --force` sends it again for every environment; `sync --commit` syncs
//! at a commit of the branch and answers 422 for any other.

use baton_harness::flow;
use baton_harness::ha;

use std::time::Duration;

use baton_daemon::hooks::{WebhookSecret, sign_sha256};
use baton_harness::config::{Config, chart_product};
use flow::{Daemon, TOKEN, chart_webhooks, wait_for};
use secrecy::SecretString;
use serde_json::{Value, json};
use testkit::rig::{GitRepo, Rig};
use testkit::spinnaker::FakeSpinnaker;

const APP: &str = "micro-gw";
const HOOK_SECRET: &str = "push-hook-secret";

/// A daemon watching a fresh rig repo (through the forwarder at `via` when given), its baseline
/// taken.
struct Setup {
    _dir: tempfile::TempDir,
    repo: GitRepo,
    spinnaker: FakeSpinnaker,
    daemon: Daemon,
}

fn files(dev: &'static [u8], prod: &'static [u8]) -> Vec<(&'static str, Option<&'static [u8]>)> {
    vec![
        ("values-dev.yaml", Some(dev)),
        ("values-prod.yaml", Some(prod)),
    ]
}

async fn setup(rig: &Rig, prefix: &str, via: Option<&str>) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let repo = rig.new_git_repo(prefix).unwrap();
    repo.commit(
        "main",
        &files(b"replicas: 1\n", b"replicas: 3\n"),
        "initial",
    )
    .unwrap();
    let helm = rig.new_helm_repo(prefix).unwrap();
    helm.publish("microgateway", "3.0.1", "replicas: 1\n")
        .unwrap();
    let spinnaker = FakeSpinnaker::builder()
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    std::fs::write(dir.path().join("hook-secret"), format!("{HOOK_SECRET}\n")).unwrap();
    let git = match via {
        // http://host:port/git/... -> http://forwarder/git/...
        Some(base) => format!("{base}/git/{}", repo.name),
        None => repo.http_url.clone(),
    };
    let file = Config::new(TOKEN)
        .jenkins(None)
        .gate(spinnaker.url())
        .line("git: {webhook_secret_file: hook-secret}")
        .line("outbox: {initial_delay: 100ms, max_delay: 1s, jitter: none}")
        .products(&chart_product(APP, &helm.url, &git, "1h"))
        .write(dir.path());
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
    Setup {
        _dir: dir,
        repo,
        spinnaker,
        daemon,
    }
}

/// Posts a signed GitHub push webhook; returns the status.
async fn push(daemon: &Daemon, body: &Value, delivery: &str) -> u16 {
    let body = serde_json::to_vec(body).unwrap();
    let secret = WebhookSecret::new(SecretString::from(HOOK_SECRET.to_owned())).unwrap();
    baton_daemon::install_crypto_provider();
    let r = reqwest::Client::new()
        .post(format!("{}/hooks/github", daemon.url))
        .timeout(Duration::from_secs(30))
        .header("X-GitHub-Event", "push")
        .header("X-GitHub-Delivery", delivery)
        .header("X-Hub-Signature-256", sign_sha256(&secret, &body))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    r.status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_webhook_manual_sync_and_force() {
    let Some(rig) = Rig::for_test() else { return };
    let Setup {
        repo,
        spinnaker,
        daemon,
        ..
    } = setup(&rig, "flow-hook", None).await;
    let api = daemon.api();
    let files = |dev: &'static [u8]| files(dev, b"replicas: 3\n");

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
    baton_daemon::install_crypto_provider();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_reads_its_commit_and_sync_commit_must_be_on_the_branch() {
    let Some(rig) = Rig::for_test() else { return };
    let (base, seen) = ha::forwarder(&rig.git_http_base.replace("/git", "")).await;
    let s = setup(&rig, "flow-pushed", Some(&base)).await;
    let (api, url) = (s.daemon.api(), format!("{base}/git/{}", s.repo.name));
    let ls_refs = || ha::seen_count(&seen, "POST ls-refs");
    let fetches = || ha::seen_count(&seen, "POST fetch");
    let first = s.repo.head("main").unwrap().unwrap();
    let hub = |before: &str, after: &str, changed: &[&str]| {
        json!({
            "ref": "refs/heads/main", "before": before, "after": after,
            "commits": [{"added": [], "removed": [], "modified": changed}],
            "repository": {"clone_url": url},
        })
    };

    // Both files change, the push lists only dev: the daemon fetches the pushed commit by id
    // (no ls-refs), reads dev and sends dev only.
    let c2 = s
        .repo
        .commit(
            "main",
            &files(b"replicas: 2\n", b"replicas: 4\n"),
            "dev 2, prod 4",
        )
        .unwrap();
    let (ls_refs_before, fetches_before) = (ls_refs(), fetches());
    assert_eq!(
        push(&s.daemon, &hub(&first, &c2, &["values-dev.yaml"]), "p-1").await,
        202
    );
    let sent = wait_for("the chart webhook after the push", 30, || async {
        chart_webhooks(&s.spinnaker).into_iter().next()
    })
    .await;
    assert_eq!(sent["parameters"]["commit"], c2.as_str());
    assert_eq!(
        sent["environments"], "dev",
        "prod was not read: the push did not list it"
    );
    assert_eq!(ls_refs(), ls_refs_before, "the push path lists no refs");
    assert!(fetches() > fetches_before, "the commit was fetched");

    // A push naming a commit the remote does not hold is refused with an event, and the
    // branch head (already observed) is checked instead: nothing is sent.
    let bogus = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(push(&s.daemon, &hub(&c2, bogus, &[]), "p-2").await, 202);
    let refused = wait_for("the refused push's event", 30, || async {
        api.events(APP).await.into_iter().find_map(|e| {
            let d = e["detail"].as_str()?;
            d.contains("push p-2 refused").then(|| d.to_owned())
        })
    })
    .await;
    assert!(
        refused.contains(bogus) && refused.contains("is not on branch main"),
        "{refused}"
    );

    // `sync --commit` at an abbreviated commit of the branch: its files, under its id.
    let (status, v) = api
        .post(
            "/v1/products/micro-gw/sync",
            json!({"commit": &first[..10], "force": true}),
        )
        .await;
    assert_eq!(status, 202, "{v}");
    let pinned = wait_for("the chart webhook of the pinned sync", 30, || async {
        chart_webhooks(&s.spinnaker).into_iter().nth(1)
    })
    .await;
    assert_eq!(pinned["parameters"]["commit"], first.as_str());
    assert_eq!(pinned["parameters"]["batonEvent"], v["event_id"]);
    assert_eq!(pinned["environments"], "dev,prod");

    // A commit of another branch, or one the remote does not have: 422 naming the branch.
    let side = s
        .repo
        .commit("side", &files(b"replicas: 9\n", b"replicas: 9\n"), "side")
        .unwrap();
    for commit in [side.as_str(), bogus] {
        let (status, v) = api
            .post("/v1/products/micro-gw/sync", json!({"commit": commit}))
            .await;
        assert_eq!(status, 422, "{commit}: {v}");
        let text = v.to_string();
        assert!(
            text.contains(commit) && text.contains("is not on branch main"),
            "{text}"
        );
    }
    assert_eq!(
        chart_webhooks(&s.spinnaker).len(),
        2,
        "nothing more was sent"
    );
}
