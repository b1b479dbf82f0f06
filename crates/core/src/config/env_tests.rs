//! Environment overrides (`BATON__A__B`) applied while the file is decoded (`env`): replace a
//! file's value, add a key or a whole section the file lacks, read numbers and bools, and are
//! blamed when their value is wrong.

use std::collections::HashMap;
use std::path::Path;

use super::model::{GateAuth, Jitter};
use super::*;

fn load_env(text: &str, ext: &str, env: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("baton.{ext}"));
    std::fs::write(&file, text).unwrap();
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_with_env(&file, env)
}

const BASE: &str = "spinnaker: {gate_url: 'https://gate.example.com', auth: {kind: none}}\n\
                    outbox: {jitter: equal}\nproducts: [{name: demo}]\n";

#[test]
fn a_section_the_file_lacks_comes_whole_from_the_environment() {
    let l = load_env(
        BASE,
        "yaml",
        &[
            ("BATON__JENKINS__URL", "https://jenkins.example.com"),
            ("BATON__JENKINS__USER", "ci"),
            ("BATON__JENKINS__TOKEN_FILE", "/run/secrets/jenkins"),
        ],
    )
    .unwrap();
    let j = l.config.jenkins.expect("jenkins from env");
    assert_eq!(j.url.as_str(), "https://jenkins.example.com/");
    assert_eq!(j.user, "ci");
    assert_eq!(j.token_file, Path::new("/run/secrets/jenkins"));
}

#[test]
fn nested_values_numbers_and_bools_override_the_file() {
    let env = [
        ("BATON__SPINNAKER__AUTH__KIND", "bearer"),
        ("BATON__SPINNAKER__AUTH__TOKEN_FILE", "/run/gate-token"),
        ("BATON__OUTBOX__MAX_ATTEMPTS", "7"),
        ("BATON__UI__ENABLED", "false"),
        ("BATON__API__MAX_CONNECTIONS", "64"),
    ];
    for (ext, text) in [
        ("yaml", BASE.to_owned()),
        (
            "toml",
            "[spinnaker]\ngate_url = 'https://gate.example.com'\n[outbox]\njitter = 'equal'\n\
             [[products]]\nname = 'demo'\n"
                .to_owned(),
        ),
    ] {
        let c = load_env(&text, ext, &env).unwrap().config;
        let s = c.spinnaker.unwrap();
        assert!(
            matches!(&s.auth, GateAuth::Bearer { token_file } if token_file == Path::new("/run/gate-token")),
            "{ext}: {:?}",
            s.auth
        );
        assert_eq!(c.outbox.max_attempts, 7, "{ext}");
        assert_eq!(
            c.outbox.jitter,
            Jitter::Equal,
            "{ext}: the file's other keys stay"
        );
        assert!(!c.ui.enabled, "{ext}");
        assert_eq!(c.api.max_connections, 64, "{ext}");
    }
}

#[test]
fn a_bad_or_unknown_override_is_blamed_on_its_variable() {
    let err = load_env(BASE, "yaml", &[("BATON__OUTBOX__MAX_ATTEMPTS", "lots")]).unwrap_err();
    let p = &err.problems;
    assert_eq!(p.len(), 1, "{p:#?}");
    assert_eq!(p[0].path, "outbox.max_attempts", "{p:#?}");
    assert!(
        p[0].message.contains("\"lots\"")
            && p[0].message.contains("env BATON__OUTBOX__MAX_ATTEMPTS"),
        "{p:#?}"
    );
    let err = load_env(BASE, "yaml", &[("BATON__OUTBX__LEASE", "5s")]).unwrap_err();
    assert!(
        err.problems
            .iter()
            .any(|p| p.path == "outbx" && p.message.contains("unknown key")),
        "{err}"
    );
}
