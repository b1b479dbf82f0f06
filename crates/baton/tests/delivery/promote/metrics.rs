//! `/metrics` names and types, and the Grafana dashboard only querying what baton exports.

use std::collections::BTreeMap;

use super::harness::Stand;

/// `# TYPE` lines of a scrape: metric family -> type.
fn families(scrape: &str) -> BTreeMap<String, String> {
    scrape
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| {
            let (name, kind) = l.split_once(' ').unwrap();
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

/// The family a sample name belongs to (`_total` of counters, `_bucket/_sum/_count` of
/// histograms).
fn family_of<'a>(sample: &'a str, known: &BTreeMap<String, String>) -> Option<&'a str> {
    if known.contains_key(sample) {
        return Some(sample);
    }
    for (suffix, kinds) in [
        ("_total", &["counter"][..]),
        ("_created", &["counter", "histogram"][..]),
        ("_bucket", &["histogram"][..]),
        ("_sum", &["histogram", "summary"][..]),
        ("_count", &["histogram", "summary"][..]),
    ] {
        if let Some(base) = sample.strip_suffix(suffix)
            && known.get(base).is_some_and(|k| kinds.contains(&k.as_str()))
        {
            return Some(base);
        }
    }
    None
}

/// Families appear in a scrape once they have a sample: give every one of them one.
fn touch_all(s: &Stand) {
    s.metrics.event("micro-gw", "chart");
    s.metrics
        .delivery("spinnaker.webhook:chart:micro-gw", "delivered");
    s.metrics.source_check(
        &"chart-source:micro-gw".into(),
        "unchanged",
        time::OffsetDateTime::now_utc(),
    );
    s.metrics.change_delivered(0.4);
}

#[tokio::test]
async fn metrics_have_the_design_names_and_types() {
    let s = Stand::start(true).await;
    s.promoter.pending().await.unwrap();
    touch_all(&s);
    let scrape = s.get("/metrics").await;
    let f = families(&scrape);
    for (name, kind) in [
        ("baton_events", "counter"),
        ("baton_deliveries", "counter"),
        ("baton_outbox_pending", "gauge"),
        ("baton_outbox_dead", "gauge"),
        ("baton_outbox_oldest_seconds", "gauge"),
        ("baton_pending_judgments", "gauge"),
        ("baton_source_checks", "counter"),
        ("baton_source_last_success_timestamp_seconds", "gauge"),
        ("baton_change_to_delivery_seconds", "histogram"),
    ] {
        assert_eq!(
            f.get(name).map(String::as_str),
            Some(kind),
            "{name} in\n{scrape}"
        );
    }
    assert!(
        scrape.contains(r#"baton_pending_judgments{product="micro-gw",environment="staging"} 0"#)
    );
}

#[tokio::test]
async fn dashboard_queries_only_exported_metrics() {
    let s = Stand::start(true).await;
    s.promoter.pending().await.unwrap();
    touch_all(&s);
    let f = families(&s.get("/metrics").await);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/grafana-baton.json");
    let dash: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .expect("docs/grafana-baton.json is JSON");
    let exprs: Vec<String> = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().to_owned())
        .collect();
    assert!(exprs.len() >= 6, "{exprs:?}");
    let mut used = std::collections::BTreeSet::new();
    for e in &exprs {
        let idents = e
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("baton_"));
        let mut any = false;
        for w in idents {
            any = true;
            let fam = family_of(w, &f).unwrap_or_else(|| {
                panic!("dashboard expr {e:?} uses {w}, which baton does not export")
            });
            used.insert(fam.to_owned());
        }
        assert!(any, "expr {e:?} names no baton metric");
    }
    assert!(used.contains("baton_pending_judgments"), "{used:?}");
}
