//! The `baton` binary: `check`, and `serve` driven by `status`, `sync` and `rebuild`, then
//! stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use baton_harness::config::Config;
use testkit::baton::BatonProcess;

const TOKEN: &str = "cli-test-token";

fn baton() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baton"));
    c.env_remove("BATON_CONFIG")
        .env_remove("BATON_TOKEN")
        .env_remove("BATON_SERVER");
    c
}

fn config(dir: &Path, listen: &str) -> PathBuf {
    Config::new(&format!("# operators\n{TOKEN}"))
        .listen(listen)
        .products(
            r#"  - name: micro-gw
    environments: [dev, prod]
    chart: {repository: "http://127.0.0.1:9/charts", name: microgateway, version: "^3.0"}
    chart_source: {git: "http://127.0.0.1:9/c.git"}
    images:
      - {name: petstore, base: "127.0.0.1:5000/vendor/base:1", target: "127.0.0.1:5000/acme/petstore", jenkins_job: micro-gw/petstore}
"#,
        )
        .write(dir)
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// `baton check --config FILE` with `env` set: its exit code and standard output.
fn check(file: &Path, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = baton()
        .arg("check")
        .arg("--config")
        .arg(file)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (out.status.code(), text(&out).0)
}

#[test]
fn check_reports_a_table_and_fails_on_problems() {
    let dir = tempfile::tempdir().unwrap();
    let file = config(dir.path(), "127.0.0.1:0");
    let out = baton()
        .args(["check", "--offline"])
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("state store") && stdout.contains("file will be created by serve"),
        "{stdout}"
    );
    assert!(
        stdout.contains("jenkins") && stdout.contains("not probed"),
        "{stdout}"
    );

    std::fs::remove_file(dir.path().join("jenkins-token")).unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&file)
            .unwrap()
            .replace("\"^3.0\"", "\"3.x.y\""),
    )
    .unwrap();
    let out = baton()
        .arg("check")
        .env("BATON_CONFIG", &bad)
        .output()
        .unwrap();
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("products[0].chart.version") && stdout.contains("FAIL"),
        "{stdout}"
    );

    let (code, stdout) = check(&file, &[]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("jenkins.token_file"), "{stdout}");
}

/// The real binary, ready when its `--ready-file` names its address.
struct Daemon {
    process: BatonProcess,
    url: String,
}

impl Daemon {
    fn start(file: &Path) -> Self {
        Self::start_with(file, true)
    }

    /// With `keep_reading: false` the test stops reading (and closes) the daemon's stderr once it
    /// is ready, as when the reader of a pipeline or a log collector goes away.
    fn start_with(file: &Path, keep_reading: bool) -> Self {
        let mut serve =
            BatonProcess::serve(env!("CARGO_BIN_EXE_baton"), file).args(["--drain", "2s"]);
        if !keep_reading {
            serve = serve.close_stderr_when_ready();
        }
        let process = serve.start().expect("baton serve");
        Self {
            url: process.url.clone(),
            process,
        }
    }

    fn verb(&self, args: &[&str], token: Option<&str>) -> Output {
        let mut c = baton();
        c.args(args).arg("--server").arg(&self.url);
        if let Some(t) = token {
            c.env("BATON_TOKEN", t);
        }
        c.output().unwrap()
    }

    fn terminate(self) -> std::process::ExitStatus {
        self.process
            .terminate(Duration::from_secs(20))
            .expect("baton serve exits within 20s of SIGTERM")
    }
}

#[test]
fn serve_answers_the_operator_verbs_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let file = config(dir.path(), "127.0.0.1:0");
    let daemon = Daemon::start(&file);
    // Start-up says what it read and how long that took; a small config gets no hint. (The log
    // is read on a thread of its own, which may still be behind the ready file.)
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = daemon.process.log();
        if log.contains("config read in ") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        log.contains("config read in ") && log.contains(" ms (products: 1, images: 1)"),
        "{log}"
    );
    assert!(!log.contains("as JSON"), "{log}");

    let out = daemon.verb(&["status"], Some(TOKEN));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("micro-gw") && stdout.contains("petstore"),
        "{stdout}"
    );
    assert!(stdout.contains("outbox: 0 pending, 0 dead"), "{stdout}");

    let out = daemon.verb(&["status", "--json"], Some(TOKEN));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["products"][0]["environments"][1]["name"], "prod");

    let out = daemon.verb(&["sync", "micro-gw"], Some(TOKEN));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("sync of micro-gw accepted: event ev-"),
        "{stdout}"
    );

    let out = daemon.verb(&["rebuild", "micro-gw", "petstore"], Some(TOKEN));
    assert!(out.status.success(), "{:?}", text(&out));
    let out = daemon.verb(&["rebuild", "micro-gw", "nope"], Some(TOKEN));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("no image \"nope\"") && stderr.contains("HTTP 404"),
        "{stderr}"
    );

    // The rebuild was recorded and run; the base registry is unreachable, which the event says.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = daemon.verb(&["events", "micro-gw"], Some(TOKEN));
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        if stdout.contains("rebuild") && stdout.contains("note=rebuild failed") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rebuild event was never marked: {stdout}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // explain: one block per source with a verdict; an unknown product is a 404 naming it.
    let out = daemon.verb(&["explain", "micro-gw"], Some(TOKEN));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("product micro-gw\nchart-source:micro-gw\n")
            && stdout.contains("  verdict: "),
        "{stdout}"
    );
    let out = daemon.verb(&["explain", "nope"], Some(TOKEN));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("\"nope\"") && stderr.contains("404"),
        "{stderr}"
    );

    // Jenkins reports a pushed image; the record waits in the outbox and can be dropped by hand.
    let digest = format!("sha256:{}", "ab".repeat(32));
    let reference = format!("127.0.0.1:5000/acme/petstore@{digest}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let posted: serde_json::Value = rt.block_on(async {
        baton_daemon::install_crypto_provider();
        let resp = reqwest::Client::new()
            .post(format!(
                "{}/v1/products/micro-gw/images/petstore/built",
                daemon.url
            ))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"reference": reference}))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::ACCEPTED);
        resp.json().await.unwrap()
    });
    let id = posted["outbox_id"].as_i64().unwrap().to_string();
    let out = daemon.verb(&["outbox", "list", "--state", "pending"], Some(TOKEN));
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("spinnaker.webhook:image:micro-gw") && stdout.contains("pending"),
        "{stdout}"
    );
    let out = daemon.verb(&["outbox", "drop", &id], Some(TOKEN));
    assert_eq!(text(&out).0.trim(), format!("outbox record {id} dropped"));
    let out = daemon.verb(&["outbox", "retry", &id], Some(TOKEN));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).1.contains("not found"), "{:?}", text(&out));

    let out = daemon.verb(&["status"], None);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("set BATON_TOKEN"), "{stderr}");

    let status = daemon.terminate();
    assert!(status.success(), "{status:?}");

    let (_, stdout) = check(&file, &[]);
    let want = format!(
        "reachable, schema version {}",
        baton_daemon::store::latest_version()
    );
    assert!(stdout.contains(&want), "{stdout}");
}

#[test]
fn verbs_explain_an_unreachable_daemon() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let out = baton()
        .args(["status", "--server", &format!("http://{addr}")])
        .env("BATON_TOKEN", TOKEN)
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("cannot reach the daemon"), "{stderr}");
}

#[test]
fn check_probes_a_postgres_state_store_without_changing_it() {
    let Some(rig) = testkit::rig::Rig::for_test() else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = rt.block_on(rig.new_database("baton_check")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = config(dir.path(), "127.0.0.1:0");
    // Not --offline: that skips a PostgreSQL store. The config's other endpoints are
    // unreachable, so the check as a whole fails; the state store row is what is checked.
    let (code, stdout) = check(&file, &[("BATON__STATE", &url)]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("reachable, schema version 0"), "{stdout}");
    let password = url::Url::parse(&url)
        .unwrap()
        .password()
        .unwrap_or("")
        .to_owned();
    assert!(
        password.is_empty() || !stdout.contains(&password),
        "password shown: {stdout}"
    );
    // check created nothing: still version 0.
    let (_, again) = check(&file, &[("BATON__STATE", &url)]);
    assert!(again.contains("schema version 0"), "{again}");

    let unreachable = [("BATON__STATE", "postgres://baton:pw@127.0.0.1:1/none")];
    let (code, stdout) = check(&file, &unreachable);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("state store") && stdout.contains("FAIL"),
        "{stdout}"
    );
}

#[test]
fn serve_stops_on_sigterm_even_when_its_stderr_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let file = config(dir.path(), "127.0.0.1:0");
    let daemon = Daemon::start_with(&file, false);
    // Logging into the closed pipe must not break request handling or shutdown.
    let out = daemon.verb(&["sync", "micro-gw"], Some(TOKEN));
    assert!(out.status.success(), "{:?}", text(&out));
    let status = daemon.terminate();
    assert!(status.success(), "{status:?}");
}
