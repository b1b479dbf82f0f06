//! Delivery verified, apply-then-wait and notifications (issue 16 items 3, 4), end to end: the
//! daemon through its library entry point, `baton pipelines apply` as the real binary, the
//! Spinnaker stand-in modelling Echo's pipeline cache, and a local receiver for notifications.
//! No rig needed: image events come from `POST /built`. [`triggers`]: every other
//! notification kind, each told once in each target's format.

use baton_harness::flow;
mod support;
mod triggers;

use std::path::Path;

use flow::{Daemon, wait_for};
use serde_json::{Value, json};
use support::{Receiver, Setup, config};
use testkit::spinnaker::FakeSpinnaker;

const APP: &str = "micro-gw";
const PIPELINE: &str = "micro-gw-image-petstore";
const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// `baton pipelines apply` (the real binary) against the config's Gate; it blocks this thread,
/// so the tests run on a multi-thread runtime where the stand-ins keep answering.
fn apply(config: &Path) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["pipelines", "apply", "--config"])
        .arg(config)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("{APP}/{PIPELINE}: created")),
        "{text}"
    );
    assert!(!text.contains("warning"), "{text}");
}

/// Jenkins' `/built` report of image `digest`; returns its event id.
async fn built(d: &Daemon, digest: &str) -> String {
    let (s, v) = d
        .api()
        .post(
            &format!("/v1/products/{APP}/images/petstore/built"),
            json!({"reference": format!("registry.internal:5000/acme/petstore@{digest}")}),
        )
        .await;
    assert_eq!(s, 202, "{v}");
    v["event_id"].as_str().unwrap().to_owned()
}

async fn event(d: &Daemon, id: &str) -> Value {
    d.api()
        .events(APP)
        .await
        .into_iter()
        .find(|e| e["id"] == id)
        .unwrap_or(Value::Null)
}

/// The Spinnaker stand-in at its defaults (Echo's pipeline cache refreshed every 30 s).
async fn spinnaker() -> FakeSpinnaker {
    FakeSpinnaker::builder()
        .application(APP)
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_apply_the_event_waits_for_echos_cache_and_its_pipeline_starts() {
    let dir = tempfile::tempdir().unwrap();
    // At the defaults a user gets: Echo's cache refreshes every 30 s (the stand-in's default,
    // as Echo's), baton waits 35 s after a save and expects the pipeline within 60 s.
    let fake = spinnaker().await;
    let file = config(
        dir.path(),
        &Setup {
            gate: fake.url(),
            ..Setup::new()
        },
    );
    let d = Daemon::start(&file).await;
    apply(&file);
    let ev = built(&d, D).await;

    let waiting = wait_for(
        "the image event's record to wait for Echo's cache",
        30,
        || async {
            d.api().outbox().await.into_iter().find(|r| {
                r["event_id"] == ev.as_str()
                    && r["state"] == "pending"
                    && r["last_error"].as_str().is_some_and(|e| {
                        e.starts_with(
                            "waiting: `baton pipelines apply` saved pipelines of micro-gw",
                        )
                    })
            })
        },
    )
    .await;
    assert_eq!(
        waiting["attempts"], 0,
        "a wait is not an attempt: {waiting}"
    );

    let e = wait_for("the event to be verified", 120, || async {
        let e = event(&d, &ev).await;
        (e["delivery"] == "verified").then_some(e)
    })
    .await;
    let runs = fake.executions(APP);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].name.as_deref(), Some(PIPELINE));
    assert_eq!(e["execution_id"], runs[0].id.as_str(), "{e}");
    assert_eq!(
        d.api()
            .metric("baton_verifications_total{product=\"micro-gw\",outcome=\"verified\"}")
            .await,
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_starts_nothing_is_unmatched_counted_and_notified_once_per_format() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::default();
    let hooks = receiver.start().await;
    std::fs::write(dir.path().join("slack-url"), format!("{hooks}/slack\n")).unwrap();
    // Echo's default 30 s cache, and baton told not to wait: the pipeline saved just before
    // the webhook is not in the cache, so nothing starts; the default 60 s deadline then
    // makes the event unmatched.
    let fake = spinnaker().await;
    let notify = format!(
        "notifications:\n  targets:\n    - {{name: ops, kind: webhook, url: \"{hooks}/generic\", events: [event_unmatched]}}\n    - {{name: chat, kind: slack, url_file: slack-url, events: [event_unmatched]}}"
    );
    let file = config(
        dir.path(),
        &Setup {
            gate: fake.url(),
            spinnaker: ", echo_cache_wait: 0s",
            top: &notify,
            ..Setup::new()
        },
    );
    let d = Daemon::start(&file).await;
    apply(&file);
    let ev = built(&d, D).await;

    // The verifier records the outcome and its note together, then counts it: the event is
    // never seen unmatched without its note.
    let metric = "baton_verifications_total{product=\"micro-gw\",outcome=\"unmatched\"}";
    let note = format!("unmatched: {PIPELINE} did not start");
    let e = wait_for(
        "the event to be unmatched, noted and counted",
        120,
        || async {
            let e = event(&d, &ev).await;
            let noted = e["detail"].as_str().is_some_and(|t| t.contains(&note));
            assert!(
                e["delivery"] != "unmatched" || noted,
                "unmatched without its note: {e}"
            );
            let counted = d.api().metric(metric).await == 1.0;
            (noted && counted).then_some(e)
        },
    )
    .await;
    assert_eq!(e["delivery"], "unmatched", "{e}");
    assert!(
        fake.executions(APP).is_empty(),
        "Echo's cache did not have the pipeline yet"
    );
    assert_eq!(e["delivery_missing"], PIPELINE, "{e}");

    // Each receiver failed once, then got its notification: exactly one 200 each.
    for hook in ["generic", "slack"] {
        wait_for(&format!("the {hook} notification"), 60, || async {
            receiver
                .of(hook)
                .iter()
                .any(|(s, _)| *s == 200)
                .then_some(())
        })
        .await;
    }
    let records = d.api().outbox().await;
    let notes: Vec<&Value> = records
        .iter()
        .filter(|r| r["kind"] == "notify.webhook")
        .collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    wait_for("both notification records delivered", 30, || async {
        let all = d.api().outbox().await;
        (all.iter()
            .filter(|r| r["kind"] == "notify.webhook" && r["state"] == "delivered")
            .count()
            == 2)
            .then_some(())
    })
    .await;
    let generic = receiver.of("generic");
    assert_eq!(
        generic.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [500, 200]
    );
    let body = &generic[1].1;
    assert_eq!(body["kind"], "event_unmatched");
    assert_eq!(body["product"], APP);
    assert_eq!(body["event"], ev.as_str());
    assert_eq!(body["fields"]["missing"], PIPELINE);
    let slack = receiver.of("slack");
    assert_eq!(
        slack.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [500, 200]
    );
    assert!(
        slack[1].1["text"]
            .as_str()
            .unwrap()
            .contains(&format!("started no {PIPELINE}")),
        "{}",
        slack[1].1
    );
    // The Slack URL is a secret: it is in no record.
    assert!(!serde_json::to_string(&records).unwrap().contains("/slack"));
}

fn baton(args: &[&str], config: Option<&Path>) -> (bool, String) {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_baton"));
    c.args(args).env_remove("BATON_CONFIG");
    if let Some(f) = config {
        c.arg("--config").arg(f);
    }
    let out = c.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn the_documented_defaults_are_60s_to_start_and_35s_after_apply() {
    let (ok, docs) = baton(&["config", "docs"], None);
    assert!(ok, "{docs}");
    let row = |key: &str| {
        docs.lines()
            .find(|l| l.starts_with(&format!("| `{key}` |")))
            .unwrap_or_else(|| panic!("no row for {key} in:\n{docs}"))
            .to_owned()
    };
    assert!(row("spinnaker.verify_deadline").contains("| duration | `1m` |"));
    assert!(row("spinnaker.echo_cache_wait").contains("| duration | `35s` |"));
    assert!(docs.contains("`notifications.targets"), "{docs}");
}

#[test]
fn a_bad_receiver_url_is_a_config_error_naming_the_key_and_not_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("slack-url"),
        "hooks.slack.example/T000/SECRET123\n",
    )
    .unwrap();
    let check = |top: &str| {
        let file = config(
            dir.path(),
            &Setup {
                top,
                ..Setup::new()
            },
        );
        baton(&["check", "--offline"], Some(&file))
    };
    let (ok, text) = check(
        "notifications:\n  targets:\n    - {name: ops, kind: webhook, url: \"ftp://hooks.example\"}\n    - {name: chat, kind: slack, url_file: slack-url}",
    );
    assert!(!ok, "{text}");
    assert!(
        text.contains("notifications.targets[0].url ")
            && text.contains("\"ftp://hooks.example\" is not an http:// or https:// URL"),
        "{text}"
    );

    // Fix the inline URL: now the secret file's URL is the problem, named by key, not shown.
    let (ok, text) =
        check("notifications:\n  targets:\n    - {name: chat, kind: slack, url_file: slack-url}");
    assert!(!ok, "{text}");
    assert!(text.contains("notifications.targets[0].url_file"), "{text}");
    assert!(text.contains("the URL in"), "{text}");
    assert!(text.contains("it is a secret"), "{text}");
    assert!(!text.contains("SECRET123"), "{text}");
}
