//! `baton pipelines apply` against the Spinnaker stand-in, then baton's events run the applied
//! pipelines: dev deploys the exact bytes, staging and prod wait in judgment, the image event
//! reaches the image pipeline. Also: idempotent apply, config changes, edits made in Spinnaker.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use baton_core::config::{self, Loaded};
use baton_core::pipelines::{RenderedApp, render};
use baton_core::wire;
use baton_daemon::pipelines::apply::{self, Applied, Options, Outcome};
use spinnaker_client::Client;
use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use testkit::spinnaker::FakeSpinnaker;

const APP: &str = "micro-gw";
const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

fn example(gate: &str, extra: &[(&str, &str)]) -> Loaded {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/baton.yaml");
    let mut env = HashMap::from([("BATON__SPINNAKER__GATE_URL".to_owned(), gate.to_owned())]);
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    config::load_with_env(&file, env).expect("example config loads")
}

async fn start(with_app: bool) -> (FakeSpinnaker, Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut b = FakeSpinnaker::builder().match_delay(Duration::from_millis(10));
    if with_app {
        b = b.application(APP);
    }
    let fake = b.start(listener).await.unwrap();
    let loaded = example(fake.url(), &[]);
    let gate = apply::gate_client(&loaded, Duration::from_secs(5)).unwrap();
    (fake, gate)
}

fn apps(fake: &FakeSpinnaker, extra: &[(&str, &str)]) -> Vec<RenderedApp> {
    render(&example(fake.url(), extra).config).unwrap()
}

fn saves(fake: &FakeSpinnaker) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/pipelines")
        .count()
}

/// Applies `rendered` with the default options; asserts that every pipeline came out `want`.
async fn apply_all(gate: &Client, rendered: &[RenderedApp], want: Outcome) {
    let report = apply::apply(gate, rendered, Options::default())
        .await
        .unwrap();
    assert!(report.iter().all(|r| r.outcome == want), "{report:#?}");
}

fn outcome<'a>(report: &'a [Applied], name: &str) -> &'a Outcome {
    &report
        .iter()
        .find(|r| r.pipeline == format!("{APP}/{name}"))
        .unwrap_or_else(|| panic!("{name} not in {report:#?}"))
        .outcome
}

fn chart_body() -> serde_json::Value {
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let tgz = b64(b"\x1f\x8bmicrogateway chart");
    let event = wire::ChartEvent {
        product: APP,
        commit: "0123456789abcdef0123456789abcdef01234567",
        chart: "microgateway",
        version: "3.0.1-1",
        artifact: wire::ChartArtifact::Embedded { base64: &tgz },
        environments: vec!["dev", "staging", "prod"],
        values: ["dev", "staging", "prod"]
            .iter()
            .map(|e| (*e, b64(format!("replicas: {}\n", e.len()).as_bytes())))
            .collect(),
        event_id: "evt-1",
    };
    let mut body = wire::chart_event(&event);
    // The chart event carries `environments` at the top level too (WAVE2 decision; the flow
    // helper adds it to wire.rs). Built here so this test holds before and after that merge.
    body["environments"] = "dev,staging,prod".into();
    body
}

async fn executions_of(gate: &Client, event_id: &str, n: usize) -> Vec<Execution> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let found = gate.find_executions_by_event(APP, event_id).await.unwrap();
        if found.len() >= n || tokio::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(POLL).await;
    }
}

fn by_name<'a>(execs: &'a [Execution], name: &str) -> &'a Execution {
    execs
        .iter()
        .find(|e| e.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no execution of {name}"))
}

#[tokio::test]
async fn applied_pipelines_run_chart_and_image_events() {
    let (fake, gate) = start(true).await;
    let rendered = apps(&fake, &[]);
    apply_all(&gate, &rendered, Outcome::Created).await;
    assert_eq!(saves(&fake), 4);
    assert_eq!(fake.pipelines(APP).len(), 4);
    // Echo matches against its pipeline cache, which sees the saved pipelines at its next
    // poll (every 30 s by default): let that poll happen before posting.
    fake.advance(testkit::spinnaker::DEFAULT_CACHE_REFRESH);

    let event_id = gate.post_webhook("chart", &chart_body()).await.unwrap();
    let execs = executions_of(&gate, &event_id, 3).await;
    assert_eq!(execs.len(), 3, "{execs:#?}");
    fake.settle();
    let dev = gate
        .wait_for_execution(&by_name(&execs, "micro-gw-deploy-dev").id, WAIT, POLL)
        .await
        .unwrap();
    assert_eq!(dev.status, ExecutionStatus::Succeeded);
    let deployed = fake.deployed(APP, "micro-gw-dev").expect("dev deployed");
    assert_eq!(deployed.account, "kubernetes");
    let chart = deployed.chart.expect("baked from the chart");
    assert_eq!(
        chart.bytes.as_deref(),
        Some(&b"\x1f\x8bmicrogateway chart"[..])
    );
    assert_eq!(deployed.values.len(), 1);
    assert_eq!(
        deployed.values[0].artifact.name.as_deref(),
        Some("values-dev.yaml")
    );
    assert_eq!(
        deployed.values[0].bytes.as_deref(),
        Some(&b"replicas: 3\n"[..])
    );
    for env in ["staging", "prod"] {
        let id = &by_name(&execs, &format!("micro-gw-deploy-{env}")).id;
        let e = gate.wait_for_judgment(id, WAIT, POLL).await.unwrap();
        assert_eq!(e.status, ExecutionStatus::Running, "{env}");
        let judge = e.pending_judgment().expect("waits in judgment");
        assert_eq!(judge.stage_type, "manualJudgment");
        assert!(fake.deployed(APP, &format!("micro-gw-{env}")).is_none());
    }

    let digest = format!("sha256:{}", "ab".repeat(32));
    let image = wire::image_event(&wire::ImageEvent {
        product: APP,
        image: "petstore",
        repository: "registry.internal:5000/acme/petstore",
        digest: &digest,
        tag: Some("3.0.1-abcdef0-42"),
        event_id: "evt-2",
    });
    let event_id = gate.post_webhook("image", &image).await.unwrap();
    let execs = executions_of(&gate, &event_id, 1).await;
    assert_eq!(execs.len(), 1, "{execs:#?}");
    assert_eq!(execs[0].name.as_deref(), Some("micro-gw-image-petstore"));
    fake.settle();
    let done = gate
        .wait_for_execution(&execs[0].id, WAIT, POLL)
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let bound: Vec<String> = done
        .trigger
        .resolved_expected_artifacts
        .iter()
        .flatten()
        .filter_map(|e| e.bound_artifact.as_ref()?.reference.clone())
        .collect();
    assert_eq!(
        bound,
        [format!("registry.internal:5000/acme/petstore@{digest}")]
    );
    assert!(fake.unexpected_requests().is_empty());
}

#[tokio::test]
async fn apply_saves_only_what_changed_and_reports_edits_made_in_spinnaker() {
    let (fake, gate) = start(true).await;
    apply::apply(&gate, &apps(&fake, &[]), Options::default())
        .await
        .unwrap();
    assert_eq!(saves(&fake), 4);

    // Same config again: nothing saved.
    apply_all(&gate, &apps(&fake, &[]), Outcome::Unchanged).await;
    assert_eq!(saves(&fake), 4);

    // A config change re-saves only the pipeline it touches.
    let changed = apps(
        &fake,
        &[("BATON__SPINNAKER__IMAGE_WEBHOOK_SOURCE", "images")],
    );
    let report = apply::apply(&gate, &changed, Options::default())
        .await
        .unwrap();
    assert_eq!(
        *outcome(&report, "micro-gw-image-petstore"),
        Outcome::Updated
    );
    assert_eq!(*outcome(&report, "micro-gw-deploy-dev"), Outcome::Unchanged);
    assert_eq!(saves(&fake), 5);
    let stored = fake.pipelines(APP);
    let image = stored
        .iter()
        .find(|p| p.name == "micro-gw-image-petstore")
        .unwrap();
    assert_eq!(image.triggers()[0].source.as_deref(), Some("images"));

    // Someone edits staging in Deck: front50 stamps its fields, the content changes.
    let mut edited = stored
        .iter()
        .find(|p| p.name == "micro-gw-deploy-staging")
        .unwrap()
        .clone();
    edited.limit_concurrent = Some(false);
    edited
        .extra
        .insert("updateTs".into(), "1764400000000".into());
    edited.extra.insert("lastModifiedBy".into(), "alice".into());
    gate.save_pipeline(&edited).await.unwrap();
    let before = saves(&fake);
    let report = apply::apply(&gate, &changed, Options::default())
        .await
        .unwrap();
    let Outcome::Drifted(diff) = outcome(&report, "micro-gw-deploy-staging") else {
        panic!("{report:#?}");
    };
    assert_eq!(
        *diff,
        ["limitConcurrent: in Spinnaker false, rendered true"]
    );
    let line = report
        .iter()
        .find(|r| r.pipeline.ends_with("staging"))
        .unwrap()
        .to_string();
    assert!(
        line.contains("NOT saved") && line.contains("--force"),
        "{line}"
    );
    assert_eq!(saves(&fake), before, "a drifted pipeline is not saved");
    let kept = fake
        .pipelines(APP)
        .into_iter()
        .find(|p| p.name == "micro-gw-deploy-staging")
        .unwrap();
    assert_eq!(kept.limit_concurrent, Some(false));

    // --dry-run --force says it would overwrite, and saves nothing.
    let dry = Options {
        force: true,
        dry_run: true,
    };
    let report = apply::apply(&gate, &changed, dry).await.unwrap();
    assert!(matches!(
        outcome(&report, "micro-gw-deploy-staging"),
        Outcome::Overwritten(_)
    ));
    assert_eq!(saves(&fake), before);

    // --force overwrites it, and the next apply sees it as baton's again.
    let forced = Options {
        force: true,
        dry_run: false,
    };
    apply::apply(&gate, &changed, forced).await.unwrap();
    assert_eq!(saves(&fake), before + 1);
    let report = apply::apply(&gate, &changed, Options::default())
        .await
        .unwrap();
    assert!(
        report.iter().all(|r| r.outcome == Outcome::Unchanged),
        "{report:#?}"
    );
}

#[tokio::test]
async fn apply_without_the_application_says_how_to_create_it() {
    let (fake, gate) = start(false).await;
    let err = apply::apply(&gate, &apps(&fake, &[]), Options::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Spinnaker has no application \"micro-gw\"")
            && err.contains("spinnaker/micro-gw/application.json"),
        "{err}"
    );
    assert_eq!(saves(&fake), 0);
}

/// `baton pipelines apply` as a user runs it: output lines and exit codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apply_command_reports_and_exits_nonzero_on_drift() {
    let (fake, gate) = start(true).await;
    let url = fake.url().to_owned();
    let run = |args: &'static [&'static str]| {
        let url = url.clone();
        tokio::task::spawn_blocking(move || {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_baton"))
                .env("BATON__SPINNAKER__GATE_URL", url)
                .env("RUST_LOG", "warn")
                .arg("--config")
                .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/baton.yaml"))
                .args(["pipelines", "apply"])
                .args(args)
                .output()
                .unwrap();
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.code(), text)
        })
    };
    let (code, out) = run(&["--dry-run"]).await.unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.matches("(dry run) micro-gw/").count(), 4, "{out}");
    assert_eq!(saves(&fake), 0);
    let (code, out) = run(&[]).await.unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("micro-gw/micro-gw-deploy-prod: created"),
        "{out}"
    );
    let (code, out) = run(&[]).await.unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.matches(": unchanged").count(), 4, "{out}");

    let mut edited = fake
        .pipelines(APP)
        .into_iter()
        .find(|p| p.name == "micro-gw-deploy-prod")
        .unwrap();
    edited.stages.as_mut().unwrap().remove(0);
    gate.save_pipeline(&edited).await.unwrap();
    let (code, out) = run(&[]).await.unwrap();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("micro-gw/micro-gw-deploy-prod: NOT saved")
            && out.contains(
                "stages[0].type: in Spinnaker \"bakeManifest\", rendered \"manualJudgment\""
            )
            && out.contains("1 pipeline(s) edited in Spinnaker were not overwritten"),
        "{out}"
    );
    let (code, out) = run(&["--force"]).await.unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("micro-gw/micro-gw-deploy-prod: overwritten (--force)"),
        "{out}"
    );
    let prod = fake
        .pipelines(APP)
        .into_iter()
        .find(|p| p.name == "micro-gw-deploy-prod")
        .unwrap();
    assert_eq!(prod.stages()[0].stage_type, "manualJudgment");
}
