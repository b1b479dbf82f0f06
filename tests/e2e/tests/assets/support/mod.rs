//! Shared helpers for the asset checks (`jenkins`, `helm`): where the repo is,
//! where the external tools are, and how to run them.
//!
//! Tools are found from, in order: an environment variable of the same key, `.rig/assets.env`
//! (written by `scripts/asset-tools`) and `.rig/env` (written by `scripts/rig up`). When a tool is
//! missing the check fails under `CI` and prints a skip line otherwise.

pub mod http;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root exists")
}

/// Reads a KEY=VALUE file; absent file = empty map.
fn read_env_file(path: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashMap::new();
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect()
}

/// Looks up `key` in the environment, then in `.rig/assets.env`, then in `.rig/env`.
pub fn lookup(key: &str) -> Option<String> {
    if let Ok(v) = std::env::var(key)
        && !v.is_empty()
    {
        return Some(v);
    }
    let rig = repo_root().join(".rig");
    for file in ["assets.env", "env"] {
        if let Some(v) = read_env_file(&rig.join(file)).remove(key) {
            return Some(v);
        }
    }
    None
}

/// True when running in CI, where a missing tool is a failure rather than a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// Path of an executable tool named by `key`, or `None` after printing a skip line (outside CI).
/// Panics under CI when the tool is missing, naming the script that installs it.
pub fn tool(key: &str, what: &str, installer: &str) -> Option<PathBuf> {
    let found = lookup(key).map(PathBuf::from).filter(|p| p.is_file());
    if found.is_none() {
        let msg = format!(
            "{what} not found: set {key} or run {installer} (it records {key} under .rig/)"
        );
        assert!(!in_ci(), "{msg}");
        eprintln!("skip: {msg}");
    }
    found
}

/// Groovy 2.4.21 as a command with JAVA_HOME set, or `None` (skip) outside CI.
pub fn groovy() -> Option<Command> {
    let groovy = tool("ASSETS_GROOVY", "groovy 2.4.21", "scripts/asset-tools")?;
    let mut cmd = Command::new(groovy);
    if let Some(java_home) = lookup("ASSETS_JAVA_HOME") {
        cmd.env("JAVA_HOME", java_home);
    }
    // Short-lived JVMs: the C1 compiler and the serial collector start in about half the CPU.
    cmd.env("JAVA_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC");
    Some(cmd)
}

/// Runs a command to completion, panicking with its output if it cannot start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs a command and returns stdout; panics with stdout and stderr when it exits non-zero.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tool output is UTF-8")
}

/// Parses YAML text into a JSON value, panicking with `what` on error.
pub fn yaml(text: &str, what: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{what} is not valid YAML: {e}"))
}

/// Reads a repo file as text.
pub fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}
