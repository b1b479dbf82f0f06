//! Outages, against the real `baton serve` binary.
//!
//! - Gate (issue 6 proof) answers 503 for a while and then recovers: every record is delivered
//!   once, in order per target (the failing head holds its target back), and the retries are
//!   spaced by the configured backoff, measured on the stand-in's arrival times.
//! - PostgreSQL (issue 12) is restarted under the daemon: `/healthz` keeps answering, `/readyz`
//!   says not ready while it is down, a values commit pushed during the outage is delivered
//!   after it, and the log says what happened. It runs a PostgreSQL of its own
//!   (`testkit::rig::postgres`), not the rig's shared one. (Down at start: `ha_guards`.)

use baton_harness::daemon;
use baton_harness::ha;

use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use baton_harness::deliver::gate;
use daemon::{digest, digest_of, post_built, write_config};
use testkit::baton::BatonProcess;
use testkit::rig::Rig;
use testkit::rig::postgres::OwnPostgres;
use testkit::spinnaker::{FakeSpinnaker, Fault, FaultKind};

const CHANGES: u32 = 5;
const OUTAGE: u32 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_delays_but_loses_and_reorders_nothing() {
    baton_daemon::install_crypto_provider();
    let gate = gate().await;
    // The outage: the next OUTAGE webhooks answer 503, then Gate is back.
    gate.set_fault(Fault {
        times: Some(OUTAGE),
        ..Fault::on("/webhooks/", FaultKind::Status(503))
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(
        dir.path(),
        gate.url(),
        "lease: 10s, initial_delay: 200ms, max_delay: 800ms, jitter: none, max_attempts: 20",
    );
    let daemon = daemon::start(&file);
    let http = reqwest::Client::new();
    for n in 0..CHANGES {
        post_built(&http, &daemon.url, n).await.unwrap();
    }

    let posts = |gate: &FakeSpinnaker| {
        gate.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/webhooks/webhook/image")
            .collect::<Vec<_>>()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while posts(&gate).iter().filter(|r| r.status == 200).count() < CHANGES as usize {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all delivered: {:?}\n{}",
            posts(&gate)
                .iter()
                .map(|r| (digest_of(&r.body), r.status))
                .collect::<Vec<_>>(),
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    daemon::until_nothing_left_to_send(&http, &daemon.url, Duration::from_secs(30)).await;
    let got = posts(&gate);
    let seen: Vec<(String, u16)> = got.iter().map(|r| (digest_of(&r.body), r.status)).collect();

    // The head (change 0) takes the whole outage; nothing overtakes it; each change once.
    let mut expected = vec![(digest(0), 503); OUTAGE as usize];
    expected.extend((0..CHANGES).map(|n| (digest(n), 200)));
    assert_eq!(seen, expected);

    // Retries of the head are spaced by the backoff: 200, 400, 800 (cap), 800, 800 ms.
    let at: Vec<SystemTime> = got.iter().map(|r| r.received_at).collect();
    let wanted = [200u64, 400, 800, 800, 800];
    let mut gaps = Vec::new();
    for (i, want) in wanted.iter().enumerate() {
        let gap = at[i + 1].duration_since(at[i]).unwrap();
        gaps.push(gap.as_millis());
        let want = Duration::from_millis(*want);
        assert!(
            gap + Duration::from_millis(20) >= want && gap <= want + Duration::from_millis(500),
            "gap after attempt {} is {gap:?}, want {want:?} (all gaps ms: {gaps:?})",
            i + 1
        );
    }
    println!(
        "outage: {OUTAGE} x 503 then recovery; retry gaps (ms) {gaps:?}; {CHANGES} delivered in order"
    );
    let outbox = daemon::outbox_json(&http, &daemon.url).await;
    let records = outbox.as_array().expect("outbox list");
    assert_eq!(records.len(), CHANGES as usize);
    let head = records
        .iter()
        .find(|r| r["payload"]["body"]["parameters"]["digest"] == digest(0).as_str())
        .expect("head record");
    assert_eq!(head["attempts"], OUTAGE + 1);
    assert!(
        records.iter().all(|r| r["state"] == "delivered"),
        "{outbox}"
    );
}

/// The password in the URL of `pg`.
fn password(pg: &OwnPostgres) -> &str {
    let creds = pg.url().split('@').next().unwrap();
    creds.rsplit(':').next().unwrap()
}

/// The status of `GET path`, or `None` without an answer within `secs`.
async fn status_of(http: &reqwest::Client, d: &BatonProcess, path: &str, secs: u64) -> Option<u16> {
    let r = http
        .get(format!("{}{path}", d.url))
        .timeout(Duration::from_secs(secs))
        .send()
        .await;
    r.ok().map(|r| r.status().as_u16())
}

/// Waits (at most `secs`) until `GET path` answers `status`; every `/healthz` on the way must
/// answer 200 within 2 s.
async fn wait_status(http: &reqwest::Client, d: &BatonProcess, path: &str, status: u16, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let health = status_of(http, d, "/healthz", 2).await;
        assert_eq!(
            health,
            Some(200),
            "/healthz stopped answering:\n{}",
            d.log()
        );
        let got = status_of(http, d, path, 5).await;
        if got == Some(status) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} is {got:?}, not {status}, after {secs} s:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (at most `secs`) until the daemon's log holds `text`.
async fn wait_log(d: &BatonProcess, text: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !d.log().contains(text) {
        assert!(
            Instant::now() < deadline,
            "no {text:?} in the log:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (at most `secs`) until Gate accepted a chart event carrying revision `n`.
async fn wait_chart(gate: &FakeSpinnaker, n: u32, secs: u64, d: &BatonProcess) {
    let values = base64::engine::general_purpose::STANDARD.encode(ha::dev_values(n));
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !gate.requests().iter().any(|r| {
        r.path == "/webhooks/webhook/chart"
            && r.status == 200
            && String::from_utf8_lossy(&r.body).contains(&values)
    }) {
        assert!(
            Instant::now() < deadline,
            "revision {n} not delivered in {secs} s:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_loses_nothing_and_the_daemon_resumes() {
    let Some(rig) = Rig::for_test() else { return };
    baton_daemon::install_crypto_provider();
    let mut pg = OwnPostgres::start_new().unwrap();
    let (repo, helm, _) = ha::chart_fixtures(&rig, "db-outage");
    let gate = gate().await;
    let dir = tempfile::tempdir().unwrap();
    let file = ha::write_config(
        dir.path(),
        pg.url(),
        gate.url(),
        &repo.http_url,
        &helm.url,
        "1s",
    );
    let d = daemon::start(&file);
    let http = reqwest::Client::new();
    let commit = |n: u32| {
        repo.commit(
            "main",
            &[("mgw/values-dev.yaml", Some(&ha::dev_values(n)))],
            "values",
        )
        .unwrap()
    };
    // Revision 0 is the baseline (first_seen: baseline); revision 1 is sent.
    let store = baton_daemon::store::Store::open(pg.url()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.delivered().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no baseline:\n{}", d.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    store.close().await;
    commit(1);
    wait_chart(&gate, 1, 30, &d).await;

    // The outage: alive, not ready, and a commit pushed meanwhile.
    pg.stop().unwrap();
    wait_status(&http, &d, "/readyz", 503, 15).await;
    commit(2);
    wait_log(&d, "state store unreachable: /readyz answers 503", 30).await;
    wait_status(&http, &d, "/readyz", 503, 1).await;

    // PostgreSQL returns: ready again, and the commit of the outage reaches Spinnaker.
    pg.start().unwrap();
    wait_status(&http, &d, "/readyz", 200, 30).await;
    wait_chart(&gate, 2, 60, &d).await;
    wait_log(&d, "state store reachable again", 10).await;
    let log = d.log();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ")).collect();
    println!(
        "database outage: {} warnings:\n{}",
        warnings.len(),
        warnings.join("\n")
    );
    assert!(
        !log.contains(password(&pg)),
        "the password reached the log:\n{log}"
    );
}
