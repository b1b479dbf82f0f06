//! The stand-in against the shared case table (`cases/echo_orca.json`), at Echo's default
//! cache refresh (30 s): every case's webhook is posted through Gate's HTTP API and the
//! executions it starts are counted. Also guards the stand-in's independence: its Spinnaker
//! code calls none of spinnaker-client's matching functions.

use std::time::Duration;

use serde_json::Value;
use spinnaker_client::model::execution::Execution;
use testkit::spinnaker::cases::{self, APPLICATION, Case, Expect};
use testkit::spinnaker::{DEFAULT_CACHE_REFRESH, FakeSpinnaker};

async fn post(fake: &FakeSpinnaker, case: &Case) -> String {
    spinnaker_client::install_crypto_provider();
    let url = format!("{}/webhooks/webhook/{}", fake.url(), case.source());
    let r = reqwest::Client::new()
        .post(url)
        .json(&case.body())
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", case.name);
    let answer: Value = r.json().await.unwrap();
    answer["eventId"].as_str().unwrap().to_owned()
}

/// What the stand-in did with `event_id`, in the table's terms.
fn observed(fake: &FakeSpinnaker, event_id: &str) -> (Expect, Vec<Execution>) {
    let execs: Vec<Execution> = fake
        .executions(APPLICATION)
        .into_iter()
        .filter(|e| e.event_id() == Some(event_id))
        .collect();
    let failures: Vec<&Execution> = execs
        .iter()
        .filter(|e| e.canceled_by.as_deref() == Some("system"))
        .collect();
    let seen = Expect {
        starts: execs.len(),
        failed: failures.len(),
        dropped: fake.dropped_events().iter().any(|(id, _)| id == event_id),
        failure_contains: None,
    };
    (seen, execs)
}

fn check(case: &Case, want: &Expect, seen: Expect, execs: &[Execution]) {
    let reasons: Vec<&str> = execs
        .iter()
        .filter_map(|e| e.cancellation_reason.as_deref())
        .collect();
    let want_plain = Expect {
        failure_contains: None,
        ..want.clone()
    };
    assert_eq!(
        seen, want_plain,
        "case {:?} ({}): {reasons:?}",
        case.name, case.cite
    );
    if let Some(part) = &want.failure_contains {
        assert!(
            reasons.iter().any(|r| r.contains(part.as_str())),
            "case {:?}: no startup failure mentions {part:?}: {reasons:?}",
            case.name
        );
    }
}

#[tokio::test]
async fn every_case_of_the_table_holds_for_the_stand_in_at_default_settings() {
    let all = cases::all();
    assert!(all.len() >= 40, "the table lost cases: {}", all.len());
    for case in &all {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = FakeSpinnaker::builder()
            .pipeline(case.pipeline())
            .manual_clock()
            .start(listener)
            .await
            .unwrap();
        fake.advance(Duration::from_secs(1));
        if let Some(later) = case.pipeline_saved_later() {
            let url = format!("{}/pipelines", fake.url());
            spinnaker_client::install_crypto_provider();
            let r = reqwest::Client::new()
                .post(url)
                .json(&later)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(
                fake.pipelines(APPLICATION),
                vec![later],
                "front50 has the new version"
            );
            fake.advance(Duration::from_secs(1));
        }
        let event = post(&fake, case).await;
        fake.settle();
        let (seen, execs) = observed(&fake, &event);
        check(case, &case.expect, seen, &execs);
        if let Some(after) = &case.expect_after_refresh {
            fake.advance(DEFAULT_CACHE_REFRESH);
            let event = post(&fake, case).await;
            fake.settle();
            let (seen, execs) = observed(&fake, &event);
            check(case, after, seen, &execs);
        }
        fake.shutdown().await;
    }
}

#[test]
fn the_stand_in_calls_no_matching_function_of_spinnaker_client() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/spinnaker");
    let forbidden = [
        "matches_webhook",
        "webhook_verdict",
        "artifact_gate",
        "resolve_artifacts",
        "resolve_verdict",
        "trigger_expected_artifacts",
        "constraints_hold",
        "constraints_verdict",
        "match_verdict",
        "check_pattern",
        "bad_patterns",
        "triggering::",
        "outcome::",
        ".matches(&",
        "is_enabled()",
    ];
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for word in forbidden {
            // The stand-in's own kork model has a `matches`; only spinnaker-client's is banned.
            let own = word == ".matches(&" && text.contains("KExpected");
            if text.contains(word) && !own {
                hits.push(format!("{}: {word}", path.display()));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "the stand-in must not share matching code: {hits:?}"
    );
}
