//! The `baton` binary's help, shell completions and JSON logs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::CommandFactory;
use get::healthz_with_request_id;

fn baton() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_baton"));
    c.env_remove("BATON_CONFIG")
        .env_remove("BATON_TOKEN")
        .env_remove("BATON_SERVER")
        .env_remove("BATON_LOG_FORMAT");
    c
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = baton().args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Subcommand names as the CLI defines them (nested ones as `outbox list` etc.).
fn subcommands() -> Vec<String> {
    let cli = baton::cli::Cli::command();
    let mut names = Vec::new();
    for sub in cli.get_subcommands() {
        names.push(sub.get_name().to_owned());
        for nested in sub.get_subcommands() {
            names.push(nested.get_name().to_owned());
        }
    }
    names
}

#[test]
fn completions_of_each_shell_mention_every_subcommand() {
    let names = subcommands();
    for expected in [
        "serve",
        "promote",
        "completions",
        "outbox",
        "retry",
        "status",
    ] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
    for shell in ["bash", "zsh", "fish"] {
        let (ok, script, err) = run(&["completions", shell]);
        assert!(ok, "{shell}: {err}");
        for name in &names {
            assert!(
                script.contains(name.as_str()),
                "{shell} completion lacks {name}"
            );
        }
        assert!(
            script.contains("--log-format") || script.contains("log-format"),
            "{shell}"
        );
    }
    let (ok, _, err) = run(&["completions", "tcsh"]);
    assert!(!ok && err.contains("tcsh") && err.contains("bash"), "{err}");
}

#[test]
fn help_lists_every_verb_with_a_sentence_and_examples() {
    let (ok, help, _) = run(&["--help"]);
    assert!(ok);
    let cli = baton::cli::Cli::command();
    for sub in cli.get_subcommands() {
        let about = sub
            .get_about()
            .expect("every subcommand has an about")
            .to_string();
        let line = help
            .lines()
            .find(|l| l.trim_start().starts_with(sub.get_name()))
            .unwrap_or_else(|| panic!("--help lacks {}:\n{help}", sub.get_name()));
        assert!(line.contains(&about), "{line:?} lacks {about:?}");
    }
    assert!(
        help.contains("Examples:") && help.contains("BATON_TOKEN"),
        "{help}"
    );
    let (ok, promote, _) = run(&["promote", "--help"]);
    assert!(ok);
    for want in [
        "--stop",
        "--input",
        "--force",
        "--server",
        "environments:",
        "PRODUCT",
        "ENV",
    ] {
        assert!(
            promote.contains(want),
            "promote --help lacks {want}:\n{promote}"
        );
    }
}

#[test]
fn log_format_json_writes_json_lines_and_requests_carry_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baton.yaml");
    std::fs::write(
        &file,
        format!(
            "state: sqlite://{}\nlisten: 127.0.0.1:0\napi: {{auth: none}}\nproducts: [{{name: demo}}]\n",
            dir.path().join("data/baton.db").display()
        ),
    )
    .unwrap();
    let mut child = baton()
        .args(["--log-format", "json", "serve", "--config"])
        .arg(&file)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("serve logged no listening line");
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON line: {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        if let Some(a) = v["fields"]["addr"].as_str() {
            break a.to_owned();
        }
    };
    let resp = healthz_with_request_id(&addr);
    let _ = child.kill();
    let _ = child.wait();
    let (status, id) = resp;
    assert_eq!(status, 200);
    assert_eq!(id.as_deref(), Some("test-request-1"));
}

mod get {
    /// GET /healthz with an `x-request-id`; returns the status and the echoed id.
    pub fn healthz_with_request_id(addr: &str) -> (u16, Option<String>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        baton_daemon::install_crypto_provider();
        rt.block_on(async {
            let resp = reqwest::Client::new()
                .get(format!("http://{addr}/healthz"))
                .header("x-request-id", "test-request-1")
                .timeout(std::time::Duration::from_secs(10))
                .send()
                .await
                .unwrap();
            let id = resp
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (resp.status().as_u16(), id)
        })
    }
}
