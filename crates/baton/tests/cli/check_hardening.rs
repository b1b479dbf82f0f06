//! `baton check` and `baton serve` against hostile or careless configs (issue 17 items 2, 4, 8
//! and the config parts of 10): each refused at once with the file and the cause, and no
//! password in the output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn baton() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baton"));
    c.env_remove("BATON_CONFIG")
        .env_remove("BATON_TOKEN")
        .env_remove("BATON_SERVER");
    c
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn check(file: &Path) -> (bool, String) {
    let out = baton()
        .args(["check", "--offline", "--config"])
        .arg(file)
        .output()
        .unwrap();
    (out.status.success(), text(&out))
}

/// `baton serve` on `file`: it must refuse to start; what it said.
fn serve_refuses(file: &Path) -> String {
    let out = baton()
        .args(["serve", "--config"])
        .arg(file)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    text(&out)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A config that is fine but for what a test adds.
const BASE: &str = r#"
api_tokens_file: tokens
jenkins: {url: "http://127.0.0.1:9", user: baton, token_file: tokens}
spinnaker: {gate_url: "http://127.0.0.1:9"}
"#;

const PRODUCT: &str = r#"
products:
  - name: micro-gw
    environments: [dev]
    chart: {repository: "https://127.0.0.1:9/charts", name: microgateway, version: "^3.0"}
    chart_source: {git: "https://bob:hunter2-git@127.0.0.1:9/c.git"}
    images:
      - {name: petstore, base: "127.0.0.1:5000/vendor/base:1", target: "127.0.0.1:5000/acme/petstore", jenkins_job: micro-gw/petstore}
"#;

#[test]
fn a_billion_laughs_config_is_refused_at_once_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(",");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    assert!(bomb.len() < 1500, "a small file: {} bytes", bomb.len());
    let file = write(dir.path(), "bomb.yaml", &bomb);
    let started = Instant::now();
    let (ok, out) = check(&file);
    assert!(!ok, "{out}");
    assert!(out.contains("bomb.yaml"), "{out}");
    assert!(out.contains("aliases"), "names the cause: {out}");
    let said = serve_refuses(&file);
    assert!(said.contains("aliases"), "{said}");
    assert!(started.elapsed() < Duration::from_secs(20), "fails fast");

    let big = write(dir.path(), "big.yaml", &"# padding\n".repeat(500_000));
    let (ok, out) = check(&big);
    assert!(
        !ok && out.contains("big.yaml") && out.contains("larger than"),
        "{out}"
    );
}

#[test]
fn check_never_prints_a_password_from_a_url() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tokens", "t0k3n\n");
    let file = write(dir.path(), "baton.yaml", &format!("{BASE}{PRODUCT}"));
    let (ok, out) = check(&file);
    assert!(ok, "{out}");
    assert!(out.contains("https://bob:***@127.0.0.1:9/c.git"), "{out}");
    assert!(!out.contains("hunter2"), "password shown:\n{out}");
}

#[test]
fn an_empty_config_or_one_without_tokens_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("empty.yaml", ""), ("comments.yaml", "# nothing\n")] {
        let file = write(dir.path(), name, text);
        let (ok, out) = check(&file);
        assert!(!ok, "{out}");
        assert!(
            out.contains("products") && out.contains("no product"),
            "{out}"
        );
        serve_refuses(&file);
    }
    // Products but no token file: refused, with the way out.
    let no_tokens = PRODUCT.replace("https://bob:hunter2-git@", "https://");
    let jenkins = "jenkins: {url: \"http://127.0.0.1:9\", user: baton, token_file: open.yaml}\nspinnaker: {gate_url: \"http://127.0.0.1:9\"}\n";
    let file = write(
        dir.path(),
        "no-tokens.yaml",
        &format!("{jenkins}{no_tokens}"),
    );
    let (ok, out) = check(&file);
    assert!(!ok, "{out}");
    assert!(
        out.contains("api_tokens_file") && out.contains("auth: none}"),
        "{out}"
    );
    let said = serve_refuses(&file);
    assert!(said.contains("api_tokens_file"), "{said}");
    // An explicit `api.auth: none` is the only way to serve without tokens.
    let open = PRODUCT.replace("https://bob:hunter2-git@", "https://");
    let file = write(
        dir.path(),
        "open.yaml",
        &format!(
            "api: {{auth: none}}\njenkins: {{url: \"http://127.0.0.1:9\", user: baton, token_file: open.yaml}}\nspinnaker: {{gate_url: \"http://127.0.0.1:9\"}}\n{open}"
        ),
    );
    let (ok, out) = check(&file);
    assert!(ok, "{out}");
}

#[test]
fn config_mistakes_are_named_plainly() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tokens", "t0k3n\n");
    let cases = [
        ("products:\n  - environments: [dev]\n", "products[0].name"),
        (
            "first_seen: sometimes\nproducts: [{name: a}]\n",
            "use one of: baseline, deliver",
        ),
        (
            "api: {auth: maybe}\nproducts: [{name: a}]\n",
            "use one of: tokens, none",
        ),
    ];
    for (yaml, want) in cases {
        let file = write(dir.path(), "c.yaml", &format!("{BASE}{yaml}"));
        let (ok, out) = check(&file);
        assert!(!ok && out.contains(want), "{want:?} not in:\n{out}");
    }
    let climbing = PRODUCT.replace(
        "jenkins_job: micro-gw/petstore",
        "jenkins_job: \"../../script\"",
    );
    let file = write(dir.path(), "c.yaml", &format!("{BASE}{climbing}"));
    let (ok, out) = check(&file);
    assert!(
        !ok && out.contains("jenkins_job") && out.contains("'..'"),
        "{out}"
    );
}

#[test]
fn a_relative_sqlite_path_is_next_to_the_config_like_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir(&conf).unwrap();
    write(&conf, "tokens", "t0k3n\n");
    let file = write(
        &conf,
        "baton.yaml",
        &format!("state: sqlite://data/b.db\n{BASE}{PRODUCT}"),
    );
    let out = baton()
        .args(["check", "--offline", "--config"])
        .arg(&file)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let out = text(&out);
    let want = format!("sqlite://{}", conf.join("data/b.db").display());
    assert!(out.contains(&want), "{want} not in:\n{out}");
}

/// `--output json` is global: `check` and `pipelines lint` print JSON a script can read, with
/// the same redaction as the table, and `text` is accepted for the table.
#[test]
fn output_json_is_global_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tokens", "t0k3n\n");
    let file = write(dir.path(), "baton.yaml", &format!("{BASE}{PRODUCT}"));
    let run = |args: &[&str]| {
        let out = baton()
            .args(args)
            .arg("--config")
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let out = run(&["--output", "json", "check", "--offline"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect(&out);
    let checks = v["checks"].as_array().expect("checks");
    assert!(!out.contains("hunter2"), "password shown:\n{out}");
    assert!(out.contains("bob:***@"), "{out}");
    assert!(
        checks
            .iter()
            .any(|c| c["check"] == "config" && c["result"] == "ok"),
        "{out}"
    );
    let out = run(&["pipelines", "lint", "--output", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect(&out);
    assert_eq!(v["findings"], serde_json::json!([]), "{out}");
    assert!(v["pipelines"].as_u64().unwrap() >= 1, "{out}");
    let table = run(&["check", "--offline", "--output", "text"]);
    assert!(table.starts_with("CHECK"), "{table}");
}
