//! The optional PrometheusRule: off by default; when on, every alert expression is valid PromQL
//! (promql-parser) and selects only metrics a baton process really exposes, with the labels the
//! alert groups by; the thresholds come from values.

use serde_json::Value;
use testkit::rig::Rig;

use super::{docs, ha_values, kind, sqlite_values, template};

/// The rendered rules of `PrometheusRule` as (alert, expr) pairs.
fn rules(objects: &[Value]) -> Vec<(String, String)> {
    let rule = kind(objects, "PrometheusRule").expect("PrometheusRule");
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    rule["spec"]["groups"][0]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["alert"].as_str().unwrap().to_owned(),
                r["expr"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `/metrics` of a baton process that has seen a judgment wait and a source check.
fn exposition() -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let store = baton_daemon::store::Store::open(&url)
            .await
            .expect("open store");
        let metrics = baton_daemon::metrics::Metrics::default();
        let now = time::OffsetDateTime::now_utc();
        metrics.set_pending_judgments("micro-gw", "staging", 1);
        metrics.source_check(&"chart-source:micro-gw".into(), "unchanged", now);
        metrics.render(&store, now).await.expect("render metrics")
    })
}

#[test]
fn prometheus_rule_alerts_on_metrics_baton_exposes() {
    let Some(rig) = Rig::for_test() else { return };
    let objects = docs(&template(&rig.helm_v4, &[sqlite_values().as_path()], &[]));
    assert!(kind(&objects, "PrometheusRule").is_none(), "off by default");

    let objects = docs(&template(
        &rig.helm_v4,
        &[ha_values().as_path()],
        &[
            "prometheusRule.judgmentWaitingFor=12h",
            "prometheusRule.sourceFailingSeconds=600",
        ],
    ));
    let rule = kind(&objects, "PrometheusRule").unwrap();
    assert_eq!(rule["metadata"]["labels"]["release"], "prometheus");
    let rules = rules(&objects);
    let names: Vec<&str> = rules.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        names,
        [
            "BatonOutboxDeadRecords",
            "BatonJudgmentWaiting",
            "BatonSourceFailing",
            "BatonOutboxBacklog",
            "BatonReplicasMissing"
        ]
    );
    let exposed = exposition();
    let metric = regex::Regex::new(r"\bbaton_[a-z_]+").unwrap();
    for (alert, expr) in &rules {
        promql_parser::parser::parse(expr)
            .unwrap_or_else(|e| panic!("{alert}: invalid PromQL {expr:?}: {e}"));
        assert!(
            expr.contains(r#"namespace="baton", service="baton""#),
            "{alert} does not select this release's series: {expr}"
        );
        for name in metric.find_iter(expr).map(|m| m.as_str()) {
            assert!(
                exposed.contains(&format!("# TYPE {name} ")),
                "{alert} selects {name}, which baton does not expose:\n{exposed}"
            );
        }
    }
    let rule_of = |name: &str| {
        rule["spec"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["alert"] == name)
            .unwrap()
            .clone()
    };
    // Grouping labels exist on the series the rule reads.
    assert!(
        exposed.contains(r#"baton_pending_judgments{product="micro-gw",environment="staging"} 1"#),
        "{exposed}"
    );
    assert!(
        exposed.contains(
            r#"baton_source_last_success_timestamp_seconds{source="chart-source:micro-gw"}"#
        ),
        "{exposed}"
    );
    assert_eq!(rule_of("BatonJudgmentWaiting")["for"], "12h");
    assert!(
        rule_of("BatonSourceFailing")["expr"]
            .as_str()
            .unwrap()
            .ends_with("> 600")
    );
    // Three replicas in the HA values: fewer scraped `up` series alert.
    assert!(
        rule_of("BatonReplicasMissing")["expr"]
            .as_str()
            .unwrap()
            .ends_with("< 3")
    );
}
