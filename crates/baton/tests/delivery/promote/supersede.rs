//! A newer chart event supersedes an older execution still waiting for its judgment.

use spinnaker_client::model::execution::ExecutionStatus;

use super::harness::{APP, Stand};

#[tokio::test]
async fn newer_event_cancels_the_stale_judgment_and_its_execution_runs() {
    let s = Stand::start(true).await;
    s.dev_ran_the_chart().await;
    let (old_ev, old_echo) = s.deliver(&["staging"], "cmVwbGljYXM6IDEK").await;
    let old = s.waiting_in(&old_echo, "staging").await;

    let (new_ev, new_echo) = s.deliver(&["staging"], "cmVwbGljYXM6IDIK").await;
    let new = s.execution_of(&new_echo, "staging").await;
    // limitConcurrent: the new execution queues behind the forgotten judgment
    assert_eq!(new.status, ExecutionStatus::NotStarted);

    let done = s.supersede(&["dev", "staging"], &new_ev, &new_echo).await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].execution_id, old.id);
    assert_eq!(done[0].old_event.as_deref(), Some(old_ev.as_str()));
    s.assert_cancelled_by(&old.id, &new_ev).await;
    s.waiting(&new.id).await;

    // calling it again (the new one now waits) cancels nothing
    let again = s.supersede(&["staging"], &new_ev, &new_echo).await;
    assert!(again.is_empty(), "{again:?}");

    let sup = s.newest("supersede").await;
    assert_eq!(
        sup.correlation.execution_id.as_deref(),
        Some(old.id.as_str())
    );
    assert_eq!(
        sup.correlation.execution_status.as_deref(),
        Some("CANCELED")
    );

    // promotion now finds the new execution by correlation
    let (code, body) = s.promote("staging", "{}").await;
    assert_eq!(code, reqwest::StatusCode::OK, "{body}");
    assert_eq!(body["execution_id"], new.id.as_str());
    assert_eq!(body["source_event"], new_ev.as_str());
    assert_eq!(s.finished(&new.id).await.status, ExecutionStatus::Succeeded);
    let deployed = format!("{:?}", s.fake.deployed(APP, "micro-gw-staging").unwrap());
    assert!(
        deployed.contains("replicas: 2") || deployed.contains("cmVwbGljYXM6IDIK"),
        "{deployed}"
    );
}

#[tokio::test]
async fn superseding_can_be_turned_off() {
    let s = Stand::start(false).await;
    let (_, old_echo) = s.deliver(&["staging"], "cmVwbGljYXM6IDEK").await;
    let old = s.waiting_in(&old_echo, "staging").await;
    let (new_ev, new_echo) = s.deliver(&["staging"], "cmVwbGljYXM6IDIK").await;
    let done = s.supersede(&["staging"], &new_ev, &new_echo).await;
    assert!(done.is_empty());
    let still = s.waiting(&old.id).await;
    assert_eq!(still.status, ExecutionStatus::Running);
}

/// The daemon's path: the Spinnaker deliverer, after posting a chart event, supersedes the
/// stale judgment by itself (no caller has to remember to).
#[tokio::test]
async fn the_chart_deliverer_supersedes_stale_judgments_itself() {
    use baton_core::wire::{ChartArtifact, ChartEvent, chart_event};
    use baton_daemon::outbox::spinnaker::SpinnakerDeliverer;
    use baton_daemon::store::events::Correlation;
    use baton_daemon::store::outbox::{Record, State};

    let s = Stand::start(true).await;
    let (_, old_echo) = s.deliver(&["staging"], "cmVwbGljYXM6IDEK").await;
    let old = s.waiting_in(&old_echo, "staging").await;

    let new_ev = s.record("chart", Correlation::default()).await;
    let body = chart_event(&ChartEvent {
        product: APP,
        commit: "4567def",
        chart: "microgateway",
        version: "3.0.1-1",
        artifact: ChartArtifact::Embedded {
            base64: "H4tjaGFydC0zLjAuMS0x",
        },
        environments: vec!["staging"],
        values: vec![("staging", "cmVwbGljYXM6IDIK".to_owned())],
        event_id: &new_ev,
    });
    let now = time::OffsetDateTime::now_utc();
    let record = Record {
        id: 1,
        kind: "spinnaker.webhook".into(),
        target: format!("spinnaker.webhook:chart:{APP}"),
        payload: serde_json::json!({"source": "chart", "body": body}),
        key: "k-new".into(),
        event_id: Some(new_ev.clone()),
        state: State::Pending,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        lease_until: None,
        created_at: now,
        delivered_at: None,
        response: None,
        superseded_by: None,
    };
    let deliverer = SpinnakerDeliverer::new(s.gate.clone(), s.store.clone())
        .with_supersede(s.promoter.clone(), "chart");
    deliverer.deliver(&record).await.unwrap();

    s.assert_cancelled_by(&old.id, &new_ev).await;
    s.newest("supersede").await;
}
