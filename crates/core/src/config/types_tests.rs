//! Typed config values (`types`): parsed once at load, shown without secrets, and a value that
//! does not parse is reported at its key with every other problem of the file.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::types::StateUrl;
use super::*;

fn load_text(dir: &Path, text: &str) -> Result<Loaded, ConfigError> {
    let file = dir.join("baton.yaml");
    std::fs::write(&file, text).unwrap();
    load_with_env(&file, HashMap::new())
}

#[test]
fn the_state_url_is_typed_resolved_and_never_shows_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let l = load_text(dir.path(), "products: [{name: demo}]\n").unwrap();
    assert_eq!(
        l.config.state.sqlite_file(),
        Some(dir.path().join("baton-data/baton.db").as_path()),
        "the default SQLite file sits next to the config"
    );
    let l = load_text(
        dir.path(),
        "state: postgres://baton:hunter2@db:5432/baton\nproducts: [{name: demo}]\n",
    )
    .unwrap();
    let state = &l.config.state;
    assert!(matches!(state, StateUrl::Postgres(_)));
    assert_eq!(
        state.connect_url(),
        "postgres://baton:hunter2@db:5432/baton"
    );
    for shown in [
        state.to_string(),
        format!("{state:?}"),
        format!("{:?}", l.config),
    ] {
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    assert!(state.to_string().contains("baton:***@db:5432"), "{state}");
}

#[test]
fn images_with_one_cron_share_one_parsed_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let images: String = (0..3)
        .map(|i| {
            format!(
                "      - {{name: i{i}, base: 'r.io/b:{i}', check: '*/5 * * * *', target: 'r.io/t{i}', jenkins_job: 'a/i{i}'}}\n"
            )
        })
        .collect();
    let text = format!(
        "jenkins: {{url: 'https://j', user: u, token_file: t}}\nspinnaker: {{gate_url: 'https://g'}}\n\
         products:\n  - name: a\n    images:\n{images}"
    );
    let l = load_text(dir.path(), &text).unwrap();
    let crons: Vec<_> = l.config.products[0]
        .images
        .iter()
        .map(|i| i.check.clone().unwrap())
        .collect();
    assert_eq!(crons[0].as_str(), "*/5 * * * *");
    assert!(Arc::ptr_eq(crons[0].pattern(), crons[2].pattern()));
}

#[test]
fn values_that_do_not_parse_are_all_reported_with_the_other_problems() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_text(
        dir.path(),
        "state: postgres://u:s3cret@[::1\nlisten: nowhere\njenkins: {url: 'ftp://j', user: u, token_file: t}\n\
         spinnaker: {gate_url: 'gate'}\nui: {spinnaker_ui_url: deck}\nproducts:\n  - name: A\n    \
         chart: {repository: 'https://c', name: c, version: '3.x.y'}\n    chart_source: {git: 'https://g/x.git'}\n",
    )
    .unwrap_err();
    let p = &err.problems;
    let at = |path: &str, needle: &str| {
        assert!(
            p.iter()
                .any(|x| x.path == path && x.message.contains(needle)),
            "{path}: {needle}: {p:#?}"
        )
    };
    at("state", "not a PostgreSQL URL");
    at("listen", "IP:PORT");
    at(
        "jenkins.url",
        "\"ftp://j\" is not an http:// or https:// URL",
    );
    at("spinnaker.gate_url", "is not an http");
    at("ui.spinnaker_ui_url", "is not an http");
    at(
        "products[0].chart.version",
        "\"3.x.y\" is not a version or range",
    );
    at("products[0].name", "lowercase");
    assert!(!err.to_string().contains("s3cret"), "{err}");
}
