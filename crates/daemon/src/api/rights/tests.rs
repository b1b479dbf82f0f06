//! The rights policy, the route-to-right map and the config errors of `api.rights`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::*;
use baton_core::config::secrets::Secrets;
use baton_core::config::{ConfigError, load_with_env};

fn settings(rights: Option<&[(&str, &[Right])]>) -> ApiSettings {
    ApiSettings {
        rights: rights.map(|r| {
            r.iter()
                .map(|(c, rs)| ((*c).to_owned(), rs.to_vec()))
                .collect::<BTreeMap<_, _>>()
        }),
        ..ApiSettings::default()
    }
}

#[test]
fn without_api_rights_every_caller_has_every_right() {
    let s = ApiSettings::default();
    assert!(s.rights.is_none(), "the default has no api.rights");
    for right in Right::EACH {
        assert!(allowed(&s, "anyone", right), "{right}");
    }
}

#[test]
fn with_api_rights_a_caller_has_what_is_listed_and_everyone_reads() {
    let s = settings(Some(&[
        ("alice", &[Right::Promote, Right::Stop]),
        ("ops", &[Right::All]),
        ("viewer", &[]),
    ]));
    assert!(allowed(&s, "alice", Right::Promote) && allowed(&s, "alice", Right::Stop));
    assert!(!allowed(&s, "alice", Right::Drop) && !allowed(&s, "alice", Right::Built));
    for right in Right::EACH {
        assert!(allowed(&s, "ops", right), "ops: {right}");
        let reads = right == Right::Read;
        assert_eq!(allowed(&s, "viewer", right), reads, "viewer: {right}");
        assert_eq!(
            allowed(&s, "token-3f2a9c01", right),
            reads,
            "unlisted: {right}"
        );
    }
}

#[test]
fn every_bearer_route_needs_a_right_and_the_actions_need_theirs() {
    for r in super::super::table::routes().iter().filter(|r| r.bearer) {
        assert!(
            need(&r.method, r.path).is_some(),
            "{} {} has no right",
            r.method,
            r.path
        );
    }
    let one = |m: Method, p: &str| need(&m, p);
    let r = |right| Some(Need::One(right));
    assert_eq!(one(Method::GET, "/v1/status"), r(Right::Read));
    assert_eq!(
        one(Method::POST, "/v1/products/{product}/sync"),
        r(Right::Sync)
    );
    assert_eq!(
        one(
            Method::POST,
            "/v1/products/{product}/images/{image}/rebuild"
        ),
        r(Right::Rebuild)
    );
    assert_eq!(
        one(Method::POST, "/v1/products/{product}/images/{image}/built"),
        r(Right::Built)
    );
    assert_eq!(one(Method::POST, "/v1/outbox/{id}/retry"), r(Right::Retry));
    assert_eq!(one(Method::DELETE, "/v1/outbox/{id}"), r(Right::Drop));
    assert_eq!(
        one(
            Method::POST,
            "/v1/products/{product}/environments/{env}/promote"
        ),
        Some(Need::Judgment)
    );
    assert_eq!(one(Method::PUT, "/v1/status"), None);
}

fn config(dir: &Path, yaml: &str, tokens: &str) -> Result<Secrets, ConfigError> {
    std::fs::write(dir.join("tokens"), tokens).unwrap();
    let file = dir.join("baton.yaml");
    std::fs::write(&file, format!("{yaml}\nproducts: [{{name: demo}}]\n")).unwrap();
    let loaded = load_with_env(&file, HashMap::new())?;
    Secrets::load(&loaded)
}

#[test]
fn rights_config_is_read_and_its_mistakes_name_the_key_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let ok = "api_tokens_file: tokens\napi: {rights: {alice: [promote, stop], ops: ['*']}}";
    config(dir.path(), ok, "alice:tok-a\nops:tok-o\n").unwrap();

    let typo = "api_tokens_file: tokens\napi: {rights: {alice: [promte]}}";
    let err = config(dir.path(), typo, "alice:tok-a\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("api.rights.alice"), "{err}");
    assert!(err.contains("\"promte\" is not a valid value"), "{err}");
    assert!(err.contains("promote, stop, retry, drop"), "{err}");

    let stranger = "api_tokens_file: tokens\napi: {rights: {alcie: [promote]}}";
    let err = config(dir.path(), stranger, "alice:tok-a\n").unwrap_err();
    let p = &err.problems[0];
    assert_eq!(p.path, "api.rights.alcie", "{err}");
    assert!(p.message.contains("no line of api_tokens_file"), "{err}");
    assert!(p.message.contains("alcie:TOKEN"), "{err}");
    assert!(!err.to_string().contains("tok-a"), "a token leaked: {err}");

    let open = "api: {auth: none, rights: {alice: [promote]}}";
    let err = config(dir.path(), open, "").unwrap_err();
    assert_eq!(err.problems[0].path, "api.rights", "{err}");
    assert!(
        err.problems[0].message.contains("api.auth: tokens"),
        "{err}"
    );
}
