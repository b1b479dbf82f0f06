//! Latest wins and the guard rails of several replicas (issue 12 proof), on the real binary.
//!
//! - Spinnaker down, 10 commits to `values-dev.yaml`, Spinnaker back: exactly one chart event
//!   for dev is delivered, carrying the newest values; the older ones are `superseded` in the
//!   outbox and `explain` says why (PostgreSQL from the rig).
//! - A second `baton serve` on the same SQLite file is refused with an error naming the file
//!   and the fix; a PostgreSQL that does not answer at start is a clear error naming the URL.

use baton_harness::daemon;
use baton_harness::flow::wait_for;
use baton_harness::ha;

use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use daemon::TOKEN;
use ha::dev_values;
use testkit::rig::Rig;
use testkit::spinnaker::{FakeSpinnaker, Fault, FaultKind};

async fn outbox(http: &reqwest::Client, url: &str) -> Vec<serde_json::Value> {
    daemon::outbox_json(http, url)
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_an_outage_only_the_newest_chart_event_is_sent() {
    let Some(rig) = Rig::for_test() else { return };
    baton_daemon::install_crypto_provider();
    let (repo, helm, v0) = ha::chart_fixtures(&rig, "ha-latest");
    let gate = baton_harness::deliver::gate().await;
    gate.set_fault(Fault::on("/webhooks/", FaultKind::Status(503)));
    let db = rig.new_database("ha_latest").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = ha::write_config(dir.path(), &db, gate.url(), &repo.http_url, &helm.url, "1s");
    let d = daemon::start(&file);
    let http = reqwest::Client::new();

    // The first look records v0 as the baseline; the changes come after it.
    let baseline = format!("baseline at commit {v0}");
    let status = format!("{}/v1/status", d.url);
    wait_for(&baseline, 30, || async {
        let answer = daemon::get_json(&http, &status, TOKEN).await;
        answer.to_string().contains(&baseline).then_some(())
    })
    .await;
    // Ten commits, each seen by a poll (a new chart record) while Spinnaker answers 503.
    for n in 1..=10u32 {
        repo.commit(
            "main",
            &[("mgw/values-dev.yaml", Some(&dev_values(n)))],
            "values",
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while outbox(&http, &d.url).await.len() < n as usize {
            assert!(
                Instant::now() < deadline,
                "commit {n} not recorded:\n{}",
                d.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    gate.clear_faults();
    let newest = base64::engine::general_purpose::STANDARD.encode(dev_values(10));
    let delivered = |gate: &FakeSpinnaker| -> Vec<String> {
        gate.requests()
            .into_iter()
            .filter(|r| r.path == "/webhooks/webhook/chart" && r.status == 200)
            .map(|r| String::from_utf8_lossy(&r.body).into_owned())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while delivered(&gate).is_empty() {
        assert!(
            Instant::now() < deadline,
            "nothing delivered after the outage"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Anything else would be a pending record: count once none is.
    daemon::until_nothing_left_to_send(&http, &d.url, Duration::from_secs(30)).await;
    let sent = delivered(&gate);
    assert_eq!(sent.len(), 1, "exactly one chart event after the outage");
    assert!(sent[0].contains(&newest), "it carries the newest values");
    let records = outbox(&http, &d.url).await;
    let states: Vec<&str> = records
        .iter()
        .map(|r| r["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "delivered").count(),
        1,
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|s| **s == "superseded").count(),
        9,
        "{states:?}"
    );
    // Each older record names the newer one that replaced it while it waited.
    assert!(
        records[1..]
            .iter()
            .all(|r| r["superseded_by"].as_i64() > r["id"].as_i64()),
        "{records:?}"
    );
    let explain = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["explain", "micro-gw", "--server", &d.url])
        .env("BATON_TOKEN", TOKEN)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&explain.stdout);
    assert!(
        text.contains("latest wins: 9 older waiting change(s) replaced by this one, never sent"),
        "{text}"
    );
}

#[test]
fn a_second_serve_on_one_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = daemon::write_config(dir.path(), "http://127.0.0.1:9", "");
    let _first = daemon::start(&file);
    let (ok, err) = ha::serve_refused(&file);
    assert!(!ok);
    assert!(
        err.contains("another `baton serve` on this host is using the SQLite file"),
        "{err}"
    );
    assert!(
        err.contains("baton.db") && err.contains("postgres://"),
        "{err}"
    );
}

#[test]
fn a_postgresql_that_does_not_answer_at_start_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let file = ha::write_config(
        dir.path(),
        &format!("postgres://baton:secret@{closed}/baton"),
        "http://127.0.0.1:9",
        "http://127.0.0.1:9/c.git",
        "http://127.0.0.1:9/charts",
        "1s",
    );
    let (ok, err) = ha::serve_refused(&file);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "opening the state store postgres://baton:***@{closed}/baton"
        )),
        "{err}"
    );
    assert!(
        !err.contains("secret"),
        "the password stays out of errors: {err}"
    );
    // The cause, not the pool's "timed out", and what to check.
    assert!(
        err.contains("cannot reach the database") && err.contains("Connection refused"),
        "{err}"
    );
}
