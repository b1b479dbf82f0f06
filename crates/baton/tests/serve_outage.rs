//! Outage (issue 6 proof): the real `baton serve` binary while Gate answers 503 for a while and
//! then recovers. Every record is delivered once, in order per target (the failing head holds
//! its target back), and the retries are spaced by the configured backoff, measured on the
//! stand-in's arrival times.

mod daemon;

use std::time::{Duration, SystemTime};

use daemon::{digest, digest_of, post_built, write_config};
use testkit::spinnaker::{FakeSpinnaker, Fault, FaultKind};
use tokio::net::TcpListener;

const CHANGES: u32 = 5;
const OUTAGE: u32 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_delays_but_loses_and_reorders_nothing() {
    baton::install_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gate = FakeSpinnaker::builder()
        .application("micro-gw")
        .start(listener)
        .await
        .unwrap();
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
    tokio::time::sleep(Duration::from_millis(300)).await;
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
