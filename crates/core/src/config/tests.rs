use std::collections::HashMap;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;

use super::model::{ChartDelivery, FirstSeen, GateAuth};
use super::secrets::Secrets;
use super::*;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../baton/examples")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `text` written to `name` in a fresh directory and loaded without environment overrides.
fn load_text(name: &str, text: &str) -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    load_with_env(&write(dir.path(), name, text), HashMap::new()).unwrap()
}

/// The problems of `text` written to `name` in a fresh directory, without environment
/// overrides.
fn problems_of(name: &str, text: &str) -> Vec<Problem> {
    let dir = tempfile::tempdir().unwrap();
    problems(&write(dir.path(), name, text), &[])
}

fn problems(file: &Path, env: &[(&str, &str)]) -> Vec<Problem> {
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_with_env(file, env).unwrap_err().problems
}

/// A config with secret files `api_tokens_file` and `jenkins.token_file`, both relative to
/// `dir`, loaded without environment overrides.
fn with_secret_files(dir: &Path, api_tokens_file: &str, jenkins_token_file: &str) -> Loaded {
    let f = write(
        dir,
        "s.yaml",
        &format!(
            "api_tokens_file: {api_tokens_file}\njenkins: {{url: 'https://j', user: u, token_file: {jenkins_token_file}}}\nproducts: [{{name: demo}}]\n"
        ),
    );
    load_with_env(&f, HashMap::new()).unwrap()
}

fn has(problems: &[Problem], path: &str, needle: &str) -> bool {
    problems
        .iter()
        .any(|p| p.path == path && p.message.contains(needle))
}

#[test]
fn example_baton_yaml_parses_as_designed() {
    let l = load_with_env(&examples().join("baton.yaml"), HashMap::new()).unwrap();
    let c = &l.config;
    assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(c.first_seen, FirstSeen::Baseline);
    let p = l.product("micro-gw").unwrap();
    assert_eq!(p.environments, ["dev", "staging", "prod"]);
    let chart = p.chart.as_ref().unwrap();
    assert_eq!(chart.version.as_str(), "3.0.1-1");
    assert_eq!(
        chart.version.exact(),
        Some(semver::Version::parse("3.0.1-1").unwrap())
    );
    assert_eq!(chart.delivery, ChartDelivery::Embedded);
    assert_eq!(p.chart_source.as_ref().unwrap().poll.as_secs(), 60);
    assert_eq!(p.images[0].jenkins_job, "micro-gw/petstore-image");
    assert_eq!(c.spinnaker.as_ref().unwrap().image_webhook_source, "image");
    assert!(matches!(c.spinnaker.as_ref().unwrap().auth, GateAuth::None));
    // Issue 17: the defaults a user gets.
    assert_eq!(c.spinnaker.as_ref().unwrap().webhook_timeout.as_secs(), 60);
    assert_eq!(c.api, super::api::ApiSettings::default());
    assert_eq!(c.api.max_connections, 1024);
    assert_eq!(c.api.request_timeout.as_secs(), 30);
    assert!(c.ui.enabled && !c.ui.open_read_only);
    assert_eq!(c.ui.path_prefix, "/ui");
    assert_eq!(
        c.ui.spinnaker_ui_url.as_ref().map(|u| u.as_str()),
        Some("https://spinnaker.example.com/")
    );
}

#[test]
fn the_dashboard_is_on_by_default_and_its_keys_are_checked() {
    let ui = load_text(
        "plain.yaml",
        "products:\n  - name: micro-gw\n    environments: [dev]\n",
    )
    .config
    .ui;
    assert!(ui.enabled && !ui.secure_cookie && !ui.open_read_only);
    assert_eq!(ui.path_prefix, "/ui");
    let p = problems_of(
        "bad.yaml",
        "ui: {path_prefix: /v1/ui, spinnaker_ui_url: deck, colour: blue}\n",
    );
    assert!(has(&p, "ui.path_prefix", "which the API serves"), "{p:?}");
    assert!(has(&p, "ui.spinnaker_ui_url", "is not an http"), "{p:?}");
    assert!(has(&p, "ui.colour", "unknown key"), "{p:?}");
}

#[test]
fn example_local_yaml_parses_and_resolves_secret_paths_next_to_it() {
    let l = load_with_env(&examples().join("local.yaml"), HashMap::new()).unwrap();
    assert_eq!(
        l.config.api_tokens_file.as_deref(),
        Some(examples().join("local-secrets/api-tokens").as_path())
    );
    assert_eq!(l.config.outbox.max_attempts, 8);
    assert!(l.config.registries[0].insecure);
}

#[test]
fn toml_is_accepted_by_extension() {
    let l = load_text(
        "b.toml",
        "listen = \"127.0.0.1:9000\"\n[outbox]\nmax_delay = \"5m\"\n[[products]]\nname = \"demo\"\n",
    );
    assert_eq!(l.config.listen, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(l.config.outbox.max_delay.as_secs(), 300);
}

/// JSON (what a tool that generates thousands of images writes) loads like YAML: values,
/// environment overrides, unknown keys and key paths in errors.
#[test]
fn json_is_accepted_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "b.json",
        r#"{"listen": "127.0.0.1:9000", "outbox": {"max_delay": "5m"},
            "products": [{"name": "demo"}]}"#,
    );
    let env = HashMap::from([("BATON__OUTBOX__MAX_ATTEMPTS".to_owned(), "3".to_owned())]);
    let l = load_with_env(&f, env).unwrap();
    assert_eq!(l.config.listen, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(l.config.outbox.max_delay.as_secs(), 300);
    assert_eq!(l.config.outbox.max_attempts, 3);
    let unknown = problems_of(
        "u.json",
        r#"{"products": [{"name": "demo", "colour": "blue"}]}"#,
    );
    assert!(has(&unknown, "products[0].colour", "unknown key"));
    let bad = problems_of(
        "c.json",
        r#"{"outbox": {"max_delay": "soon"}, "products": [{"name": "demo"}]}"#,
    );
    assert!(has(&bad, "outbox.max_delay", "soon"));
    let p = problems_of("d.json", r#"{"products": [{"name": "demo"}]} x"#);
    assert!(p[0].message.contains("trailing characters"), "{p:?}");
}

#[test]
fn env_overrides_nested_keys() {
    let env = [
        ("BATON__JENKINS__URL", "http://127.0.0.1:18081"),
        ("BATON__LISTEN", "127.0.0.1:9999"),
        ("BATON_TOKEN", "not-a-config-key"),
    ];
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let l = load_with_env(&examples().join("baton.yaml"), env).unwrap();
    assert_eq!(
        l.config.jenkins.unwrap().url.as_str(),
        "http://127.0.0.1:18081/"
    );
    assert_eq!(l.config.listen, "127.0.0.1:9999".parse().unwrap());
}

#[test]
fn every_problem_is_reported_with_key_path_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.yaml",
        r#"
state: mysql://x
listen: nowhere
lisen: 1
spinnaker: { gate_url: "https://gate" }
products:
  - name: micro-gw
    environments: [dev, dev]
    colour: blue
    chart: { repository: "ftp://x", name: c, version: "3.x.y", delivery: reference }
    chart_source: { git: "https://g/x.git" }
    images:
      - { name: a, base: "docker.io/x", check: "* * *", target: "r.io/a:1", jenkins_job: "f//j" }
  - name: micro-gw
"#,
    );
    let err = load_with_env(&f, HashMap::new()).unwrap_err();
    let p = &err.problems;
    assert!(has(p, "state", "mysql://x"), "{p:#?}");
    assert!(has(p, "listen", "IP:PORT"), "{p:#?}");
    assert!(has(p, "lisen", "unknown key"), "{p:#?}");
    assert!(has(p, "products[0].colour", "unknown key"), "{p:#?}");
    assert!(has(p, "products[0].environments[1]", "twice"), "{p:#?}");
    assert!(has(p, "products[0].chart.repository", "oci://"), "{p:#?}");
    assert!(
        has(
            p,
            "products[0].chart.version",
            "\"3.x.y\" is not a version or range"
        ),
        "{p:#?}"
    );
    assert!(
        has(p, "products[0].chart.artifact_account", "reference"),
        "{p:#?}"
    );
    assert!(has(p, "products[0].images[0].base", "no tag"), "{p:#?}");
    assert!(has(p, "products[0].images[0].check", "3 fields"), "{p:#?}");
    assert!(
        has(p, "products[0].images[0].target", "without tag"),
        "{p:#?}"
    );
    assert!(
        has(p, "products[0].images[0].jenkins_job", "folder/job"),
        "{p:#?}"
    );
    assert!(
        has(p, "products[0].images[0].jenkins_job", "jenkins: section"),
        "{p:#?}"
    );
    assert!(has(p, "products[1].name", "defined twice"), "{p:#?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "{}: products[0].chart.version: \"3.x.y\" is not a version or range",
            f.display()
        )),
        "{text}"
    );
}

#[test]
fn a_type_error_names_its_path() {
    let p = problems_of("t.yaml", "outbox:\n  max_attempts: lots\n");
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].path, "outbox.max_attempts", "{p:#?}");
    let p = problems_of("u.yaml", "products:\n  - name: a\n    images: 3\n");
    assert_eq!(p[0].path, "products[0].images", "{p:#?}");
    assert!(
        p[0].message.contains("expected sequence") && p[0].message.contains("line 3"),
        "names what was expected and where: {p:#?}"
    );
}

#[test]
fn bad_cron_and_unknown_auth_field_are_caught() {
    let p = problems_of(
        "c.yaml",
        "jenkins: {url: 'https://j', user: u, token_file: t}\nspinnaker: {gate_url: 'https://g'}\nproducts:\n  - name: a\n    images:\n      - {name: i, base: 'r.io/b:1', check: '61 * * * *', target: 'r.io/t', jenkins_job: 'a/i'}\n",
    );
    assert!(
        has(&p, "products[0].images[0].check", "not a cron"),
        "{p:#?}"
    );

    let p = problems_of(
        "g.yaml",
        "spinnaker: {gate_url: 'https://g', auth: {kind: bearer, token_file: t, extra: 1}}\n",
    );
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].path, "spinnaker.auth");
    assert!(p[0].message.contains("extra"), "{p:#?}");
}

#[test]
fn unknown_extension_and_missing_file_are_clear() {
    let p = problems(Path::new("baton.ini"), &[]);
    assert!(p[0].message.contains("*.yaml"), "{p:#?}");
    let p = problems(Path::new("/nonexistent/baton.yaml"), &[]);
    assert!(p[0].message.contains("cannot read"), "{p:#?}");
}

#[test]
fn cron_accepts_five_and_six_fields_only() {
    assert!(parse_cron("*/15 * * * *").is_ok());
    assert!(parse_cron("0 */15 * * * *").is_ok());
    assert!(parse_cron("0 0 */15 * * * 2030").is_err());
}

#[test]
fn secrets_are_read_trimmed_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tokens", "# ops\nalpha-token\n\nbeta-token\n");
    write(dir.path(), "jenkins", "s3cr3t-jenkins\n");
    let s = Secrets::load(&with_secret_files(dir.path(), "tokens", "jenkins")).unwrap();
    assert_eq!(s.api_tokens.len(), 2);
    assert_eq!(s.api_tokens[1].expose_secret(), "beta-token");
    assert_eq!(
        s.jenkins_token.as_ref().unwrap().expose_secret(),
        "s3cr3t-jenkins"
    );
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("s3cr3t") && !shown.contains("alpha"),
        "{shown}"
    );
}

#[test]
fn missing_and_empty_secret_files_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty", "\n");
    let err = Secrets::load(&with_secret_files(dir.path(), "empty", "nope")).unwrap_err();
    assert!(has(&err.problems, "api_tokens_file", "is empty"), "{err}");
    assert!(
        has(&err.problems, "jenkins.token_file", "cannot read"),
        "{err}"
    );
}

#[test]
fn problems_from_env_overrides_say_so() {
    let env = [
        ("BATON__LISTEN", "nowhere"),
        ("BATON__OUTBOX__JITTER", "some"),
    ];
    let p = problems(&examples().join("baton.yaml"), &env);
    assert!(
        has(&p, "outbox.jitter", "env BATON__OUTBOX__JITTER"),
        "{p:#?}"
    );
    let p = problems(&examples().join("baton.yaml"), &env[..1]);
    assert!(
        has(&p, "listen", "(the value comes from env BATON__LISTEN)"),
        "{p:#?}"
    );
}

#[test]
fn judgment_deadlines_name_later_environments_with_a_deadline_above_zero() {
    let dir = tempfile::tempdir().unwrap();
    let product = |judgments: &str| {
        format!(
            "spinnaker: {{gate_url: \"http://gate:8084\"}}\nproducts:\n  - name: micro-gw\n    \
             environments: [dev, staging, prod]\n    judgments: {judgments}\n"
        )
    };
    let l = load_text(
        "ok.yaml",
        &product(
            "{prod: {judgment_deadline: 90m}, staging: {judgment_deadline: 2h, on_deadline: remind}}",
        ),
    );
    let j = &l.product("micro-gw").unwrap().judgments;
    assert_eq!(j["prod"].judgment_deadline.as_secs(), 5400);
    assert_eq!(
        j["prod"].on_deadline,
        model::OnDeadline::Stop,
        "the default"
    );
    assert_eq!(j["staging"].on_deadline, model::OnDeadline::Remind);

    let p = problems_of(
        "bad.yaml",
        &product(
            "{dev: {judgment_deadline: 1h}, qa: {judgment_deadline: 1h}, prod: {judgment_deadline: 0s}}",
        ),
    );
    assert!(
        has(&p, "products[0].judgments.dev", "is the first environment"),
        "{p:?}"
    );
    assert!(
        has(
            &p,
            "products[0].judgments.qa",
            "not one of this product's environments (dev, staging, prod)"
        ),
        "{p:?}"
    );
    assert!(
        has(
            &p,
            "products[0].judgments.prod.judgment_deadline",
            "must be above zero"
        ),
        "{p:?}"
    );
    let typo = write(
        dir.path(),
        "typo.yaml",
        &product("{prod: {judgment_deadline: 1h, on_deadline: pause}}"),
    );
    let err = load_with_env(&typo, HashMap::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"pause\" is not a valid value; use one of: stop, remind"),
        "{err}"
    );
}

#[test]
fn the_probe_listener_is_off_by_default_and_needs_a_port_of_its_own() {
    let example = std::fs::read_to_string(examples().join("baton.yaml")).unwrap();
    let c = load(&examples().join("baton.yaml")).unwrap();
    assert_eq!(c.config.api.probe_listen, None);
    // The example listens on 0.0.0.0:8080.
    let same = format!("{example}\napi: {{probe_listen: 127.0.0.1:8080}}\n");
    let p = problems_of("same.yaml", &same);
    assert!(has(&p, "api.probe_listen", "port of listen"), "{p:#?}");
    let bare = format!("{example}\napi: {{probe_listen: \"8081\"}}\n");
    let p = problems_of("bare.yaml", &bare);
    assert!(p.iter().any(|p| p.path == "api.probe_listen"), "{p:#?}");
}
