//! Every notification trigger end to end, each told exactly once to a local receiver in each
//! target's format (a generic webhook at `/ops`, a Slack-compatible one at `/chat`, whose first
//! request fails so each is retried): a judgment that waits (with its artifact and the `baton
//! promote` command line), is past its `judgment_deadline`, is given or stopped (by the real
//! `baton promote` binary); a rebuild whose Jenkins build ends FAILURE, as a failing image smoke
//! test ends it, and one that succeeds; a delivery Echo refuses with a 4xx (dead).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use testkit::jenkins::BuildScript;
use testkit::rig::Rig;
use testkit::spinnaker::sample::image_pipeline;
use testkit::spinnaker::{FakeSpinnaker, Fault, FaultKind};

use super::support::{Receiver, Setup, config};
use super::{APP, built};
use baton_harness::flow::{Daemon, TOKEN, fake_jenkins, wait_for};

const JOB: &str = "micro-gw/petstore-image";
const D2: &str = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/// `notifications:` with both targets wanting `events`, looking every second.
fn notifications(dir: &std::path::Path, hooks: &str, events: &str) -> String {
    std::fs::write(dir.join("chat-url"), format!("{hooks}/chat\n")).unwrap();
    format!(
        "notifications:\n  check_every: 1s\n  targets:\n    - {{name: ops, kind: webhook, url: \"{hooks}/ops\", events: {events}}}\n    - {{name: chat, kind: slack, url_file: chat-url, events: {events}}}"
    )
}

/// The generic notice of `kind` about baton event `event`, once `/ops` accepted it.
async fn told(r: &Receiver, kind: &str, event: &str) -> Value {
    wait_for(&format!("a {kind} notice about {event}"), 60, || async {
        r.of("ops")
            .into_iter()
            .find(|(s, b)| *s == 200 && b["kind"] == kind && b["event"] == event)
            .map(|(_, b)| b)
    })
    .await
}

/// After every queued notification went out: each notice reached `/ops` once (by kind and
/// event), and `/chat` once in Slack's format with the same summary.
async fn each_told_once(d: &Daemon, r: &Receiver) -> BTreeMap<(String, String), usize> {
    wait_for("every notification delivered", 60, || async {
        let all = d.api().outbox().await;
        all.iter()
            .filter(|x| x["kind"] == "notify.webhook")
            .all(|x| x["state"] == "delivered")
            .then_some(())
    })
    .await;
    let ok = |hook: &str| -> Vec<Value> {
        let all = r.of(hook).into_iter();
        all.filter(|(s, _)| *s == 200).map(|(_, b)| b).collect()
    };
    let mut once = BTreeMap::new();
    for b in ok("ops") {
        let key = (
            b["kind"].as_str().unwrap().to_owned(),
            b["event"].to_string(),
        );
        *once.entry(key).or_insert(0) += 1;
    }
    assert!(once.values().all(|n| *n == 1), "{once:?}");
    let mut ops: Vec<String> = ok("ops")
        .iter()
        .map(|b| format!("baton: {APP} · {}", b["summary"].as_str().unwrap()))
        .collect();
    let mut chat: Vec<String> = ok("chat")
        .iter()
        .map(|b| b["text"].as_str().unwrap().to_owned())
        .collect();
    ops.sort();
    chat.sort();
    assert_eq!(ops, chat, "the Slack target got the same notices");
    once
}

async fn promote(d: &Daemon, args: &[&str]) -> String {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["promote", APP, "staging"])
        .args(args)
        .env("BATON_SERVER", &d.url)
        .env("BATON_TOKEN", TOKEN)
        .env_remove("BATON_CONFIG")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn judgments_waiting_past_deadline_given_and_stopped_are_told_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::default();
    let hooks = r.start().await;
    let repository = "registry\\.internal:5000/acme/petstore";
    let fake = FakeSpinnaker::builder()
        .application(APP)
        .match_delay(Duration::from_millis(20))
        .stage_duration(Duration::from_millis(20))
        .pipeline(image_pipeline(
            APP,
            "micro-gw-image-petstore",
            repository,
            false,
        ))
        .pipeline(image_pipeline(
            APP,
            "micro-gw-deploy-staging",
            repository,
            true,
        ))
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let events = "[judgment_waiting, judgment_given, judgment_stopped, judgment_deadline]";
    let file = config(
        dir.path(),
        &Setup {
            gate: fake.url(),
            top: &notifications(dir.path(), &hooks, events),
            environments: "[dev, staging]",
            product: "    judgments:\n      staging: {judgment_deadline: 1s, on_deadline: remind}",
            ..Setup::new()
        },
    );
    let d = Daemon::start(&file).await;

    // An image event rolls into dev, then waits for the staging judgment.
    let first = built(&d, super::D).await;
    let waiting = told(&r, "judgment_waiting", &first).await;
    let f = &waiting["fields"];
    assert_eq!(f["environment"], "staging", "{waiting}");
    assert_eq!(f["command"], "baton promote micro-gw staging", "{waiting}");
    assert_eq!(f["artifact"], format!("image petstore@{}", super::D));
    let execution = f["execution"].as_str().unwrap().to_owned();
    // Past the 1 s deadline (remind): a judgment_deadline event, told as itself.
    let reminder = wait_for("the judgment_deadline notice", 60, || async {
        let found = r.of("ops").into_iter().find(|(s, b)| {
            *s == 200 && b["kind"] == "judgment_deadline" && b["summary"].as_str().is_some()
        });
        found.map(|(_, b)| b)
    })
    .await;
    let summary = reminder["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("reminder: micro-gw/staging waits for a judgment"),
        "{reminder}"
    );

    // dev ran that image: promoted without --force, told with the artifact, not forced.
    let out = promote(&d, &["--input", "ship it"]).await;
    assert!(out.contains(&execution), "{out}");
    let promoted = d.api().events(APP).await;
    let given_event = promoted.iter().find(|e| e["kind"] == "promote").unwrap();
    let given = told(&r, "judgment_given", given_event["id"].as_str().unwrap()).await;
    assert_eq!(given["summary"], "micro-gw/staging continued by alice");
    let f = &given["fields"];
    assert_eq!(f["execution"], execution.as_str());
    assert_eq!(f["input"], "ship it");
    assert_eq!(f["started_by"], first.as_str());
    let artifact = f["artifact"].as_str().unwrap();
    assert!(
        artifact.starts_with("image registry.internal:5000/acme/petstore@sha256:0123456789ab"),
        "{given}"
    );
    assert!(f.get("forced").is_none(), "{given}");

    // A second image waits too; `--stop` ends it, told as stopped.
    let second = built(&d, D2).await;
    told(&r, "judgment_waiting", &second).await;
    promote(&d, &["--stop"]).await;
    let stop_event = wait_for("the stop event", 30, || async {
        let all = d.api().events(APP).await;
        all.into_iter().find(|e| {
            e["kind"] == "promote" && e["detail"].as_str().is_some_and(|t| t.starts_with("stop"))
        })
    })
    .await;
    let stopped = told(&r, "judgment_stopped", stop_event["id"].as_str().unwrap()).await;
    assert_eq!(stopped["summary"], "micro-gw/staging stopped by alice");

    let once = each_told_once(&d, &r).await;
    let kinds: Vec<&str> = once.keys().map(|(k, _)| k.as_str()).collect();
    for kind in [
        "judgment_waiting",
        "judgment_deadline",
        "judgment_given",
        "judgment_stopped",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing: {once:?}");
    }
    assert_eq!(
        kinds.iter().filter(|k| **k == "judgment_waiting").count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_results_and_a_dead_delivery_are_told_once_each() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::default();
    let hooks = r.start().await;
    let repo = format!("notify-{:08x}/base", rand::random::<u32>());
    rig.push_image(&rig.registry, &repo, "1.0", "seed-n")
        .await
        .unwrap();
    let jenkins = fake_jenkins(JOB, Duration::from_millis(300)).await;
    // The first build fails as the image job's smoke test makes it fail; later ones succeed.
    let smoke = [
        "smoke test: docker run petstore --health",
        "smoke test failed: exit 1",
    ];
    let failing = BuildScript::new(Duration::from_millis(300), "FAILURE").console(&smoke);
    jenkins.push_script(JOB, failing);
    // Echo refuses image webhooks with 400: the record is dead at once.
    let fake = FakeSpinnaker::builder()
        .application(APP)
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    fake.set_fault(Fault::on("/webhooks/webhook/image", FaultKind::Status(400)));
    let events = "[rebuild_failed, build_succeeded, delivery_dead]";
    let top = format!(
        "first_seen: baseline\nregistries:\n  - {{host: \"{}\", insecure: true}}\n{}",
        rig.registry,
        notifications(dir.path(), &hooks, events)
    );
    let base = format!("{}/{repo}:1.0", rig.registry);
    let jenkins_url = jenkins.url();
    let file = config(
        dir.path(),
        &Setup {
            gate: fake.url(),
            top: &top,
            jenkins: &jenkins_url,
            base: &base,
            ..Setup::new()
        },
    );
    let d = Daemon::start(&file).await;
    let rebuild = || async {
        let path = format!("/v1/products/{APP}/images/petstore/rebuild");
        let (s, v) = d.api().post(&path, json!({})).await;
        assert_eq!(s, 202, "{v}");
        v["event_id"].as_str().unwrap().to_owned()
    };

    let failed = rebuild().await;
    let n = told(&r, "rebuild_failed", &failed).await;
    assert_eq!(n["summary"], "rebuild of petstore ended FAILURE", "{n}");
    assert_eq!(n["fields"]["result"], "FAILURE");
    assert_eq!(n["fields"]["image"], "petstore");
    let build = n["fields"]["build"].as_str().unwrap();
    assert!(build.contains("/job/micro-gw/job/petstore-image/1/"), "{n}");

    let ok = rebuild().await;
    let n = told(&r, "build_succeeded", &ok).await;
    assert_eq!(n["summary"], "rebuild of petstore ended SUCCESS", "{n}");
    assert_eq!(jenkins.builds_of(JOB).len(), 2);

    let image = built(&d, super::D).await;
    let n = told(&r, "delivery_dead", &image).await;
    let record = n["fields"]["record"].as_str().unwrap();
    assert_eq!(n["fields"]["retry"], format!("baton outbox retry {record}"));
    let summary = n["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!(
            "outbox record {record} (spinnaker.webhook:image:micro-gw) is dead"
        )) && summary.contains("400"),
        "{n}"
    );

    let once = each_told_once(&d, &r).await;
    assert_eq!(once.len(), 3, "{once:?}");
}
