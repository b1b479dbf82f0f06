//! `baton demo` (the real binary) runs to completion within a bounded time and prints every
//! step of the timeline: dev deployed, staging waiting, promoted, staging deployed, rebuild
//! with the moved base digest, image event, the environment matrix with dev and staging on
//! the promoted chart; with `--keep` it then serves its dashboard until ctrl-c.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// `GET path` over plain HTTP/1.0 -> the whole answer (status line, headers, body).
fn http_get(addr: &str, path: &str) -> String {
    use std::io::Write as _;
    let mut s = std::net::TcpStream::connect(addr).expect("connecting to the dashboard");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .expect("reading the dashboard's answer");
    answer
}

#[test]
fn demo_runs_to_completion_and_prints_the_timeline() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["demo", "--keep"])
        .env_remove("BATON_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting baton demo");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            let _ = tx.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    // With --keep the demo serves its dashboard after the walkthrough, until ctrl-c.
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut token_file = None;
    let serving = loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains("still serving the dashboard at ") => break line,
            Ok(line) => {
                if let Some((_, file)) = line.split_once("log in with the token in ") {
                    token_file = Some(file.trim_end_matches(')').to_owned());
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(e) => panic!(
                "baton demo ended before serving its dashboard ({e}): {:?}",
                child.try_wait()
            ),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("baton demo did not finish its walkthrough within 180s");
        }
    };
    let url = serving
        .split("at ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let (addr, path) = url.trim_start_matches("http://").split_once('/').unwrap();
    let page = http_get(addr, &format!("/{path}"));
    assert!(page.starts_with("HTTP/1.0 200"), "{page}");
    for text in ["micro-gw", "staging", "deployed", "Read-only view"] {
        assert!(
            page.contains(text),
            "{text:?} not on the demo's dashboard:\n{page}"
        );
    }
    let tokens =
        std::fs::read_to_string(token_file.expect("the dashboard line names the token file"))
            .expect("the demo's token file exists while it serves");
    let token = tokens.trim().split_once(':').unwrap().1.to_owned();
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for baton demo") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("baton demo --keep did not stop within 30s of ctrl-c");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().unwrap();
    let mut err = String::new();
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
    assert!(
        !out.contains(&token),
        "the demo's API token is not printed:\n{out}"
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
        "environment matrix (baton status micro-gw):",
        "  dev        deployed               microgateway 3.0.1 sha256:",
        "  staging    deployed               microgateway 3.0.1 sha256:",
        "  prod       nothing delivered      -",
        "  staging    nothing waits for a judgment in micro-gw-deploy-staging",
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
