//! `baton demo` (the real binary) runs to completion within a bounded time and prints every
//! step of the timeline: dev deployed, staging waiting, promoted, staging deployed, rebuild
//! with the moved base digest, image event.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn demo_runs_to_completion_and_prints_the_timeline() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .arg("demo")
        .env_remove("BATON_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting baton demo");
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for baton demo") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("baton demo did not finish within 180s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        status.success(),
        "baton demo failed: {status}\n{out}\n{err}"
    );

    let lines: Vec<&str> = out.lines().collect();
    let position = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{out}"))
    };
    let steps = [
        "baseline recorded",
        "values change committed",
        "chart event at Spinnaker: environments=dev,staging",
        "dev deployed: namespace micro-gw-dev, chart microgateway-3.0.1.tgz sha256:",
        "staging waiting: execution ",
        "promoted staging: judgment continue by demo",
        "staging deployed: namespace micro-gw-staging",
        "base image moved: ",
        "rebuild triggered: Jenkins micro-gw/petstore-image #1 with BASE_DIGEST=sha256:",
        "Jenkins build #1 SUCCESS; the job reported acme/petstore@sha256:",
        "image event at Spinnaker: ",
        "demo finished: every step observed",
    ];
    let at: Vec<usize> = steps.iter().map(|s| position(s)).collect();
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "steps out of order:\n{out}"
    );

    // The rebuild carries the digest the base tag moved to, and the image event names the
    // digest the job reported.
    let moved = lines[at[7]].rsplit("-> ").next().unwrap().trim();
    assert!(moved.starts_with("sha256:"), "{out}");
    assert!(
        lines[at[8]].contains(&format!("BASE_DIGEST={moved}")),
        "{out}"
    );
    let built = lines[at[9]].rsplit('@').next().unwrap().trim();
    assert!(
        lines[at[10]].contains(&format!("acme/petstore@{built}")),
        "{out}"
    );
    // Each line carries its elapsed time.
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with('[') && l.contains("s] ")),
        "{out}"
    );
}
