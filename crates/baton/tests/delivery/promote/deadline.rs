//! Judgment deadlines on the stand-in: past `judgment_deadline` a waiting judgment is stopped
//! (`on_deadline: stop`, the default) or reminded of once (`remind`), each recorded as a
//! `judgment_deadline` event, by the scheduled check taking its turn.

use std::sync::Arc;
use std::time::Duration;

use baton_daemon::ha::turns::Turns;
use spinnaker_client::model::execution::ExecutionStatus;
use tokio_util::sync::CancellationToken;

use super::harness::{APP, POLL, Stand, WAIT, chart_pipelines};

#[tokio::test]
async fn a_judgment_past_its_deadline_is_stopped_or_reminded_of_once() {
    // A short deadline: the deadline is a user setting, there is no default.
    let judgments = "    judgments:\n      staging: {judgment_deadline: 1s}\n      prod: {judgment_deadline: 1s, on_deadline: remind}";
    let s = Stand::with(chart_pipelines(), true, judgments).await;
    let (_, echo) = s.deliver(&["staging", "prod"], "cmVwbGljYXM6IDEK").await;
    let staging = s.execution_of(&echo, "staging").await;
    let prod = s.execution_of(&echo, "prod").await;
    s.waiting(&staging.id).await;
    s.waiting(&prod.id).await;

    let loaded = baton_core::config::load_with_env(&s.config_file, Default::default()).unwrap();
    let every = baton_daemon::promote::deadline::check_every(&loaded.config).unwrap();
    assert_eq!(
        every,
        Duration::from_secs(1),
        "half the deadline, at least 1s"
    );
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    tokio::spawn(Arc::clone(&s.promoter).watch_deadlines(
        every,
        Some(Turns::new(s.store.clone(), "replica-a")),
        shutdown.clone(),
    ));

    let input = "stopped by baton: the judgment_deadline of 1s passed";
    s.assert_judged(&staging.id, ExecutionStatus::Terminal, "stop", input)
        .await;
    assert!(s.fake.deployed(APP, "micro-gw-staging").is_none());

    // both recorded, prod still waits
    let deadline = tokio::time::Instant::now() + WAIT;
    let events = loop {
        let events = s.events_of("judgment_deadline").await;
        if events.len() == 2 {
            break events;
        }
        assert!(tokio::time::Instant::now() < deadline, "{events:?}");
        tokio::time::sleep(POLL).await;
    };
    let of = |id: &str| {
        events
            .iter()
            .find(|e| e.correlation.execution_id.as_deref() == Some(id))
            .and_then(|e| e.correlation.detail.clone())
            .unwrap_or_default()
    };
    let d = of(&staging.id);
    assert!(d.starts_with("stopped micro-gw/staging: waited "), "{d}");
    assert!(
        d.ends_with("past its judgment_deadline of 1s (on_deadline: stop)"),
        "{d}"
    );
    let d = of(&prod.id);
    assert!(
        d.starts_with("reminder: micro-gw/prod waits for a judgment for "),
        "{d}"
    );
    assert!(d.contains("`baton promote micro-gw prod`"), "{d}");
    let still = s.gate.execution(&prod.id).await.unwrap();
    assert!(
        still.pending_judgment().is_some(),
        "remind leaves it waiting"
    );

    // once: a further check finds nothing to do
    assert!(s.promoter.enforce_deadlines().await.unwrap().is_empty());
    assert_eq!(s.events_of("judgment_deadline").await.len(), 2);
}
