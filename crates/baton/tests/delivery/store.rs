//! The state store suite, run against SQLite always and against the rig's PostgreSQL.

use baton_harness::common;
use baton_harness::on_both_backends;

use std::time::Duration;

use baton_daemon::store::events::{Correlation, Delivered, Event, Observation, new_event_id};
use baton_daemon::store::outbox::{NewRecord, State};
use baton_daemon::store::{Store, StoreError, latest_version};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-29 12:00:00 UTC);

fn rec(target: &str, key: &str) -> NewRecord {
    NewRecord {
        kind: "spinnaker.webhook".into(),
        target: target.into(),
        payload: json!({"source": "chart", "body": {"k": key}}),
        key: key.into(),
        event_id: Some(format!("ev-{key}")),
        supersede: None,
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

on_both_backends!(
    schema_is_current_and_reopening_is_harmless,
    observations_keep_the_latest,
    concurrent_observations_are_committed_together,
    a_cancelled_batch_writer_leaves_no_writer_waiting,
    deliveries_are_one_row_per_product_and_environment,
    events_collect_correlation_ids,
    enqueue_is_idempotent_by_key,
    heads_are_per_target_and_filtered_by_kind,
    a_lease_is_exclusive_until_it_expires,
    a_restart_frees_work_leases_but_keeps_turns,
    outcomes_need_the_lease_and_set_the_state,
    manual_retry_and_drop,
    counts_and_retention,
);

async fn schema_is_current_and_reopening_is_harmless(store: Store) {
    assert_eq!(store.schema_version().await.unwrap(), latest_version());
    store.ping().await.unwrap();
}

async fn observations_keep_the_latest(store: Store) {
    let src = "registry:docker.wso2.com/wso2micro-gw:3.0.1";
    assert_eq!(store.observation(src).await.unwrap(), None);
    for (value, at) in [("sha256:aa", T0), ("sha256:bb", T0 + secs(60))] {
        store
            .record_observation(&Observation {
                source: src.into(),
                value: value.into(),
                observed_at: at,
            })
            .await
            .unwrap();
    }
    let o = store.observation(src).await.unwrap().unwrap();
    assert_eq!(
        (o.value.as_str(), o.observed_at),
        ("sha256:bb", T0 + secs(60))
    );
}

fn obs(source: &str, value: &str) -> Observation {
    Observation {
        source: source.into(),
        value: value.into(),
        observed_at: T0,
    }
}

/// 300 writers at once (the start-up baselines of many sources): each returns once its row
/// is committed, and every row is there, the last value of a source winning.
async fn concurrent_observations_are_committed_together(store: Store) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..300 {
        let store = store.clone();
        tasks.spawn(async move {
            let o = obs(&format!("base-image:p/i{i}"), &format!("sha256:{i}"));
            store.record_observation(&o).await
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().expect("every batched write is committed");
    }
    for i in [0, 150, 299] {
        let o = store
            .observation(&format!("base-image:p/i{i}"))
            .await
            .unwrap()
            .expect("committed");
        assert_eq!(o.value, format!("sha256:{i}"));
    }
    for v in ["sha256:1", "sha256:2"] {
        store
            .record_observation(&obs("base-image:p/i0", v))
            .await
            .unwrap();
    }
    let o = store.observation("base-image:p/i0").await.unwrap().unwrap();
    assert_eq!(o.value, "sha256:2");
}

/// The leader of a batch is dropped mid-write (its caller was cancelled): the writer queued
/// behind it gets an answer instead of waiting for ever, and the next write leads anew.
async fn a_cancelled_batch_writer_leaves_no_writer_waiting(store: Store) {
    use std::future::Future as _;
    let first = obs("base-image:p/a", "sha256:a");
    let mut leader = Box::pin(store.record_observation(&first));
    std::future::poll_fn(|cx| {
        let _ = leader.as_mut().poll(cx);
        std::task::Poll::Ready(())
    })
    .await;
    let queued = {
        let store = store.clone();
        tokio::spawn(async move { store.record_observation(&obs("base-image:p/b", "x")).await })
    };
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    drop(leader);
    let r = tokio::time::timeout(secs(10), queued)
        .await
        .expect("the queued writer is answered")
        .unwrap();
    assert!(matches!(r, Ok(()) | Err(StoreError::Interrupted)), "{r:?}");
    store
        .record_observation(&obs("base-image:p/c", "sha256:c"))
        .await
        .expect("the next write leads a batch of its own");
    assert_eq!(
        store
            .observation("base-image:p/c")
            .await
            .unwrap()
            .unwrap()
            .value,
        "sha256:c"
    );
}

async fn deliveries_are_one_row_per_product_and_environment(store: Store) {
    let d = |env: &str, v: &str| Delivered {
        product: "micro-gw".into(),
        environment: env.into(),
        chart_version: v.into(),
        chart_digest: format!("sha256:c{v}"),
        values_digest: format!("sha256:v{env}"),
        event_id: Some("ev-1".into()),
        delivered_at: T0,
    };
    store.record_delivered(&d("dev", "3.0.1-1")).await.unwrap();
    store.record_delivered(&d("prod", "3.0.1-1")).await.unwrap();
    store.record_delivered(&d("dev", "3.0.2")).await.unwrap();
    let all = store.delivered().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        (all[0].environment.as_str(), all[0].chart_version.as_str()),
        ("dev", "3.0.2")
    );
    assert_eq!(
        (all[1].environment.as_str(), all[1].chart_version.as_str()),
        ("prod", "3.0.1-1")
    );
}

async fn events_collect_correlation_ids(store: Store) {
    let id = new_event_id(T0);
    assert!(id.starts_with("ev-"));
    let e = Event {
        id: id.clone(),
        product: "micro-gw".into(),
        kind: "rebuild".into(),
        image: Some("petstore".into()),
        created_at: T0,
        correlation: Correlation {
            base_digest: Some("sha256:base".into()),
            ..Default::default()
        },
    };
    store.insert_event(&e).await.unwrap();
    store
        .correlate(
            &id,
            &Correlation {
                jenkins_queue_id: Some(42),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .correlate(
            &id,
            &Correlation {
                build_number: Some(7),
                build_result: Some("SUCCESS".into()),
                spinnaker_event_id: Some("echo-1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let got = store.event(&id).await.unwrap().unwrap();
    let c = &got.correlation;
    assert_eq!(c.base_digest.as_deref(), Some("sha256:base"));
    assert_eq!(c.jenkins_queue_id, Some(42));
    assert_eq!(c.build_number, Some(7));
    assert_eq!(c.spinnaker_event_id.as_deref(), Some("echo-1"));
    assert_eq!(got.created_at, T0);

    let later = Event {
        id: "ev-later".into(),
        product: "other".into(),
        created_at: T0 + secs(5),
        ..e.clone()
    };
    store.insert_event(&later).await.unwrap();
    let all = store.events(None, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["ev-later", id.as_str()]
    );
    let mine = store.events(Some("micro-gw"), 10).await.unwrap();
    assert_eq!(mine.len(), 1);
    let missing = store.correlate("ev-nope", &Correlation::default()).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
}

async fn enqueue_is_idempotent_by_key(store: Store) {
    let (a, created) = store.enqueue(&rec("t1", "k1"), T0).await.unwrap();
    assert!(created);
    assert_eq!(
        (a.state, a.attempts, a.next_attempt_at),
        (State::Pending, 0, T0)
    );
    let mut again = rec("t1", "k1");
    again.payload = json!({"changed": true});
    let (b, created) = store.enqueue(&again, T0 + secs(9)).await.unwrap();
    assert!(!created);
    assert_eq!(b.id, a.id);
    assert_eq!(b.payload, a.payload, "the first payload stays");
    assert_eq!(store.list_records(None, 10).await.unwrap().len(), 1);
}

async fn heads_are_per_target_and_filtered_by_kind(store: Store) {
    let a1 = store.enqueue(&rec("a", "a1"), T0).await.unwrap().0;
    let b1 = store
        .enqueue(&rec("b", "b1"), T0 + secs(1))
        .await
        .unwrap()
        .0;
    let a2 = store.enqueue(&rec("a", "a2"), T0).await.unwrap().0;
    let mut j = rec("j", "j1");
    j.kind = "jenkins.build".into();
    store.enqueue(&j, T0).await.unwrap();

    let heads = store.pending_heads(&["spinnaker.webhook"]).await.unwrap();
    assert_eq!(
        heads.iter().map(|r| r.id).collect::<Vec<_>>(),
        [a1.id, b1.id]
    );
    assert_eq!(store.pending_heads(&[]).await.unwrap().len(), 0);
    assert_eq!(
        store
            .pending_heads(&["jenkins.build", "spinnaker.webhook"])
            .await
            .unwrap()
            .len(),
        3
    );

    // a1 dies: a2 becomes the head of target a; a dead record does not block.
    assert!(store.claim(a1.id, "w", T0, T0 + secs(60)).await.unwrap());
    assert!(store.mark_failed(a1.id, "w", "boom", None).await.unwrap());
    let heads = store.pending_heads(&["spinnaker.webhook"]).await.unwrap();
    assert_eq!(
        heads.iter().map(|r| r.id).collect::<Vec<_>>(),
        [a2.id, b1.id]
    );
}

async fn a_lease_is_exclusive_until_it_expires(store: Store) {
    let r = store.enqueue(&rec("a", "k"), T0).await.unwrap().0;
    assert!(
        !store
            .claim(r.id, "w1", T0 - secs(1), T0 + secs(60))
            .await
            .unwrap(),
        "not due yet"
    );
    assert!(store.claim(r.id, "w1", T0, T0 + secs(60)).await.unwrap());
    assert!(
        !store
            .claim(r.id, "w2", T0 + secs(30), T0 + secs(90))
            .await
            .unwrap()
    );
    // w1 crashed: after the lease runs out, w2 takes it over and the attempt is counted again.
    assert!(
        store
            .claim(r.id, "w2", T0 + secs(60), T0 + secs(120))
            .await
            .unwrap()
    );
    let now = store.record(r.id).await.unwrap().unwrap();
    assert_eq!(now.attempts, 2);
    assert_eq!(now.lease_until, Some(T0 + secs(120)));
    assert!(
        !store
            .mark_delivered(r.id, "w1", T0 + secs(61), None)
            .await
            .unwrap(),
        "w1 lost it"
    );
    assert!(store.release(r.id, "w2").await.unwrap());
    assert!(
        store
            .claim(r.id, "w3", T0 + secs(61), T0 + secs(90))
            .await
            .unwrap()
    );
}

/// What `release_dead_leases` frees when a SQLite daemon restarts: the dead process's outbox
/// record, build follow-up and delivery verification are taken over at once; a scheduled turn
/// (a run that happened) is kept until it runs out.
async fn a_restart_frees_work_leases_but_keeps_turns(store: Store) {
    let until = T0 + secs(60);
    for name in ["follow:7", "verify:ev-1", "source:chart-source:micro-gw"] {
        assert!(store.try_lease(name, "dead", T0, until).await.unwrap());
    }
    let r = store.enqueue(&rec("a", "k"), T0).await.unwrap().0;
    assert!(store.claim(r.id, "dead", T0, until).await.unwrap());
    assert_eq!(store.release_dead_leases().await.unwrap(), 1, "one record");
    let soon = T0 + secs(1);
    assert!(store.claim(r.id, "new", soon, until).await.unwrap());
    for name in ["follow:7", "verify:ev-1"] {
        assert!(
            store.try_lease(name, "new", soon, until).await.unwrap(),
            "{name} is taken over at once"
        );
    }
    assert!(
        !store
            .try_lease("source:chart-source:micro-gw", "new", soon, until)
            .await
            .unwrap(),
        "a turn stays with the run that happened"
    );
}

async fn outcomes_need_the_lease_and_set_the_state(store: Store) {
    let r = store.enqueue(&rec("a", "k"), T0).await.unwrap().0;
    store.claim(r.id, "w", T0, T0 + secs(60)).await.unwrap();
    assert!(
        store
            .mark_failed(r.id, "w", "503 from gate", Some(T0 + secs(4)))
            .await
            .unwrap()
    );
    let got = store.record(r.id).await.unwrap().unwrap();
    assert_eq!(
        (got.state, got.next_attempt_at, got.lease_until),
        (State::Pending, T0 + secs(4), None)
    );
    assert_eq!(got.last_error.as_deref(), Some("503 from gate"));

    store
        .claim(r.id, "w", T0 + secs(4), T0 + secs(64))
        .await
        .unwrap();
    let response = json!({"eventId": "e-1"});
    assert!(
        store
            .mark_delivered(r.id, "w", T0 + secs(5), Some(&response))
            .await
            .unwrap()
    );
    let got = store.record(r.id).await.unwrap().unwrap();
    assert_eq!(got.state, State::Delivered);
    assert_eq!(got.delivered_at, Some(T0 + secs(5)));
    assert_eq!(got.response, Some(response));
    assert_eq!(got.attempts, 2);
    assert!(
        !store
            .claim(r.id, "w", T0 + secs(9), T0 + secs(99))
            .await
            .unwrap(),
        "delivered stays delivered"
    );
}

async fn manual_retry_and_drop(store: Store) {
    let r = store.enqueue(&rec("a", "k"), T0).await.unwrap().0;
    store.claim(r.id, "w", T0, T0 + secs(60)).await.unwrap();
    let in_flight = store.drop_record(r.id, T0 + secs(1)).await;
    assert!(
        matches!(in_flight, Err(StoreError::Conflict(_))),
        "{in_flight:?}"
    );
    store.mark_failed(r.id, "w", "400 bad", None).await.unwrap();
    let back = store.retry_record(r.id, T0 + secs(100)).await.unwrap();
    assert_eq!(
        (back.state, back.attempts, back.next_attempt_at),
        (State::Pending, 0, T0 + secs(100))
    );
    store
        .claim(r.id, "w", T0 + secs(100), T0 + secs(160))
        .await
        .unwrap();
    store
        .mark_delivered(r.id, "w", T0 + secs(101), None)
        .await
        .unwrap();
    assert!(
        matches!(store.retry_record(r.id, T0).await, Err(StoreError::Conflict(m)) if m.contains("already delivered"))
    );
    assert!(matches!(
        store.drop_record(r.id, T0).await,
        Err(StoreError::Conflict(_))
    ));

    let d = store.enqueue(&rec("a", "k2"), T0).await.unwrap().0;
    assert_eq!(store.drop_record(d.id, T0).await.unwrap().key, "k2");
    assert!(store.record(d.id).await.unwrap().is_none());
    assert!(matches!(
        store.drop_record(d.id, T0).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.retry_record(9999, T0).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn counts_and_retention(store: Store) {
    for (i, key) in ["old", "new", "waiting", "gone"].iter().enumerate() {
        let r = store
            .enqueue(&rec(key, key), T0 + secs(i as u64))
            .await
            .unwrap()
            .0;
        match *key {
            "old" | "new" => {
                store
                    .claim(r.id, "w", T0 + secs(10), T0 + secs(70))
                    .await
                    .unwrap();
                let at = if *key == "old" {
                    T0 + secs(10)
                } else {
                    T0 + secs(1000)
                };
                store.mark_delivered(r.id, "w", at, None).await.unwrap();
            }
            "gone" => {
                store
                    .claim(r.id, "w", T0 + secs(10), T0 + secs(70))
                    .await
                    .unwrap();
                store.mark_failed(r.id, "w", "x", None).await.unwrap();
            }
            _ => {}
        }
    }
    let c = store.outbox_counts().await.unwrap();
    assert_eq!((c.pending, c.delivered, c.dead), (1, 2, 1));
    assert_eq!(c.oldest_pending, Some(T0 + secs(2)));
    assert_eq!(store.purge_delivered(T0 + secs(500)).await.unwrap(), 1);
    let left = store
        .list_records(Some(State::Delivered), 10)
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
    assert_eq!(
        store.list_records(Some(State::Dead), 10).await.unwrap()[0].key,
        "gone"
    );
}

#[tokio::test]
async fn sqlite_file_is_created_in_wal_mode() {
    let (store, dir) = common::sqlite().await;
    store.enqueue(&rec("a", "k"), T0).await.unwrap();
    let db = dir.path().join("state/baton.db");
    assert!(db.is_file());
    assert!(
        dir.path().join("state/baton.db-wal").is_file(),
        "WAL journal next to the file"
    );
    store.close().await;
    // Reopening runs no migration twice and keeps the data.
    let url = format!("sqlite://{}", db.display());
    let again = Store::open(&url).await.unwrap();
    assert_eq!(again.list_records(None, 10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_unreachable_postgres_is_a_clear_error() {
    let settings = baton_daemon::store::PoolSettings {
        acquire_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let err = Store::open_with("postgres://baton:pw@127.0.0.1:1/none", settings)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("state store:"), "{err}");
    assert!(!err.contains("pw@"), "{err}");
}

#[tokio::test]
async fn postgres_statements_time_out_after_30s() {
    let Some(store) = common::postgres().await else {
        return;
    };
    store
        .execute_raw(
            "DO $$ BEGIN IF current_setting('statement_timeout') <> '30s' THEN \
             RAISE EXCEPTION 'statement_timeout is %', current_setting('statement_timeout'); \
             END IF; END $$",
        )
        .await
        .unwrap();
}
