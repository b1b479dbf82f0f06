//! `baton explain`: the API route, and an image's base-image source followed through its
//! rebuild to the Jenkins build.

use baton_harness::common;

use baton_core::config::model::Product;
use baton_daemon::api::types::ExplainAnswer;
use baton_daemon::explain::{explain, text};
use baton_daemon::outbox::Effect;
use baton_daemon::store::events::{Correlation, Event, Observation};
use serde_json::json;
use time::OffsetDateTime;

fn product() -> Product {
    serde_json::from_value(json!({
        "name": "mgw", "environments": ["dev"],
        "images": [{"name": "gw", "base": "registry.example/base:1", "check": "0 * * * *",
                    "target": "registry.example/gw", "jenkins_job": "mgw/gw"}]
    }))
    .unwrap()
}

#[tokio::test]
async fn the_api_route_answers_with_the_sources_and_404_for_an_unknown_product() {
    let api = common::api::Api::start().await;
    let (s, v) = api.get("/v1/products/micro-gw/explain").await;
    assert_eq!(s, reqwest::StatusCode::OK, "{v}");
    assert_eq!(v["product"], "micro-gw");
    assert_eq!(v["sources"][0]["source"], "chart-source:micro-gw");
    assert_eq!(v["sources"][0]["verdict"], "not_seen");
    let (s, v) = api.get("/v1/products/nope/explain").await;
    assert_eq!(s, reqwest::StatusCode::NOT_FOUND, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("\"nope\""), "{v}");
    let (s, _) = api
        .call(
            reqwest::Method::GET,
            "/v1/products/micro-gw/explain",
            None,
            None,
        )
        .await;
    assert_eq!(s, reqwest::StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn base_image_rebuild_is_followed_to_its_jenkins_build_then_unchanged() {
    let (store, _dir) = common::sqlite().await;
    let observe = |digest: &'static str| Observation {
        source: "base-image:mgw/gw".into(),
        value: digest.into(),
        observed_at: OffsetDateTime::now_utc(),
    };
    store
        .record_observation(&observe("sha256:bbb"))
        .await
        .unwrap();
    store
        .insert_event(&Event {
            id: "ev-rebuild".into(),
            product: "mgw".into(),
            kind: "rebuild".into(),
            image: Some("gw".into()),
            created_at: OffsetDateTime::now_utc(),
            correlation: Correlation {
                base_digest: Some("sha256:bbb".into()),
                jenkins_queue_id: Some(17),
                build_number: Some(4),
                build_result: Some("SUCCESS".into()),
                detail: Some("base registry.example/base:1 moved sha256:aaa -> sha256:bbb".into()),
                ..Default::default()
            },
        })
        .await
        .unwrap();
    let effect = Effect::JenkinsBuild {
        job: "mgw/gw".into(),
        params: Default::default(),
    };
    let id = super::explain::claimed_record(&store, effect, "rebuild-1", "ev-rebuild").await;
    let now = OffsetDateTime::now_utc();
    store.mark_delivered(id, "t", now, None).await.unwrap();

    let render = |sources| {
        text::render(&ExplainAnswer {
            product: "mgw".into(),
            sources,
        })
    };
    let text = render(explain(&store, &product(), None).await.unwrap());
    assert!(
        text.contains(&format!(
            "verdict: delivered: outbox record {}, Jenkins queue item 17, build #4 (SUCCESS)",
            id
        )),
        "{text}"
    );

    store
        .record_observation(&observe("sha256:ccc"))
        .await
        .unwrap();
    let text = render(explain(&store, &product(), None).await.unwrap());
    assert!(
        text.contains("verdict: unchanged: sha256:ccc was seen without a rebuild; the last rebuild (ev-rebuild) was for sha256:bbb"),
        "{text}"
    );
}
