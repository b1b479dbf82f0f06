//! Harness of the several-replica tests: a config for N `baton serve` on one PostgreSQL, a
//! counting HTTP forwarder in front of the rig's git server (the rig's access logs are off),
//! and what a kill left on the wire.

pub mod builds;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use baton_daemon::store::Store;

use crate::daemon::{TARGET, TOKEN};

/// Writes a config for replicas on `state` with a chart source `git` polled every `poll`, the
/// image of the `daemon` harness, and the default outbox settings.
pub fn write_config(
    dir: &Path,
    state: &str,
    gate: &str,
    git: &str,
    helm: &str,
    poll: &str,
) -> PathBuf {
    crate::config::Config::new(TOKEN)
        .state(state)
        .gate(gate)
        .line("first_seen: baseline")
        .products(&format!(
            r#"  - name: micro-gw
    environments: [dev]
    chart: {{repository: "{helm}", name: microgateway, version: "^3.0"}}
    chart_source: {{git: "{git}", branch: main, dir: mgw, poll: {poll}}}
    images:
      - {{name: petstore, base: "127.0.0.1:9/vendor/base:1", target: "{TARGET}", jenkins_job: micro-gw/petstore}}
"#
        ))
        .write(dir)
}

/// `values-dev.yaml` of revision `n`.
pub fn dev_values(n: u32) -> Vec<u8> {
    format!("replicas: 1\nrevision: {n}\n").into_bytes()
}

/// A chart source repo with revision 0 of the dev values (returns its commit) and a Helm repo
/// with the chart, both new on the rig.
pub fn chart_fixtures(
    rig: &testkit::rig::Rig,
    name: &str,
) -> (testkit::rig::GitRepo, testkit::rig::HelmRepo, String) {
    let repo = rig.new_git_repo(name).unwrap();
    let v0 = repo
        .commit(
            "main",
            &[("mgw/values-dev.yaml", Some(&dev_values(0)))],
            "v0",
        )
        .unwrap();
    let helm = rig.new_helm_repo(name).unwrap();
    helm.publish("microgateway", "3.0.1", "replicas: 1\n")
        .unwrap();
    (repo, helm, v0)
}

/// Runs `baton serve --config file` to its end (it is expected to refuse); returns whether it
/// succeeded and its stderr.
pub fn serve_refused(file: &Path) -> (bool, String) {
    let out = std::process::Command::new(crate::baton_bin())
        .args(["serve", "--config"])
        .arg(file)
        .env_remove("BATON_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Requests the forwarder passed on: (time, method, path).
pub type Seen = Arc<Mutex<Vec<(SystemTime, String, String)>>>;

#[derive(Clone)]
struct Forward {
    upstream: String,
    http: reqwest::Client,
    seen: Seen,
}

/// Starts an HTTP forwarder to `upstream` (`http://HOST:PORT`) on 127.0.0.1; returns its base
/// URL and the requests it saw.
pub async fn forwarder(upstream: &str) -> (String, Seen) {
    baton_daemon::install_crypto_provider();
    let seen: Seen = Arc::default();
    let state = Forward {
        upstream: upstream.trim_end_matches('/').to_owned(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        seen: seen.clone(),
    };
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn forward(State(f): State<Forward>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let at = SystemTime::now();
    let body = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    // A protocol v2 POST names its command in its first pkt-line: `ls-refs` is a branch check
    // (a poll), `fetch` reads the values files of a change.
    let method = match parts.method.as_str() {
        "POST" if contains(&body, b"command=ls-refs") => "POST ls-refs".to_owned(),
        "POST" if contains(&body, b"command=fetch") => "POST fetch".to_owned(),
        m => m.to_owned(),
    };
    f.seen.lock().unwrap().push((at, method, path.clone()));
    let mut out = f
        .http
        .request(parts.method, format!("{}{path}", f.upstream))
        .body(body);
    for (k, v) in &parts.headers {
        if k != "host" {
            out = out.header(k, v);
        }
    }
    match out.send().await {
        Ok(r) => {
            let mut b = Response::builder().status(r.status());
            for (k, v) in r.headers() {
                if k != "transfer-encoding" && k != "content-length" {
                    b = b.header(k, v);
                }
            }
            b.body(Body::from(r.bytes().await.unwrap_or_default()))
                .unwrap()
        }
        Err(e) => Response::builder()
            .status(502)
            .body(Body::from(e.to_string()))
            .unwrap(),
    }
}

/// The id of the live replica with process id `pid`.
pub async fn replica_of(store: &Store, pid: u32) -> Option<String> {
    store
        .replicas()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.pid == i64::from(pid) && r.stopped_at.is_none())
        .map(|r| r.id)
}

/// The outbox records replica `owner` held a lease on.
pub async fn held_by(store: &Store, owner: &str) -> Vec<i64> {
    let now = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    store
        .leased_records(now)
        .await
        .unwrap()
        .into_iter()
        .filter(|(o, _, _)| o == owner)
        .map(|(_, id, _)| id)
        .collect()
}

/// p-th percentile (0-100) of `d`, sorted in place.
pub fn percentile(d: &mut [Duration], p: usize) -> Duration {
    d.sort();
    if d.is_empty() {
        return Duration::ZERO;
    }
    d[((d.len() - 1) * p).div_ceil(100)]
}

/// How many requests the forwarder saw with `method` (`"POST ls-refs"`, `"POST fetch"`, `"GET"`…).
pub fn seen_count(seen: &Seen, method: &str) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(_, m, _)| m == method)
        .count()
}

/// ls-refs polls of the git server the forwarder saw from `from` to `until`, and the longest
/// gap between two polls from `from` on.
pub fn polls(seen: &Seen, from: SystemTime, until: SystemTime) -> (usize, Duration) {
    let mut times: Vec<SystemTime> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, m, p)| *t >= from && m == "POST ls-refs" && p.contains("git-upload-pack"))
        .map(|(t, _, _)| *t)
        .collect();
    times.sort();
    let count = times.iter().filter(|t| **t <= until).count();
    let longest_gap = times
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).unwrap_or_default())
        .max()
        .unwrap_or_default();
    (count, longest_gap)
}

/// Image digests and chart bodies Echo accepted (200), in arrival order.
pub fn received(gate: &testkit::spinnaker::FakeSpinnaker) -> (Vec<String>, Vec<String>) {
    let mut images = Vec::new();
    let mut charts = Vec::new();
    for r in gate.requests() {
        if r.method != "POST" || r.status != 200 {
            continue;
        }
        if r.path == "/webhooks/webhook/image" {
            images.push(crate::daemon::digest_of(&r.body));
        } else if r.path == "/webhooks/webhook/chart" {
            charts.push(String::from_utf8_lossy(&r.body).into_owned());
        }
    }
    (images, charts)
}

/// Kill-to-redelivery samples: for each kill and each Spinnaker record the killed replica had
/// on the wire, the time until Echo received it again (one sample per kill and record: a
/// record caught again while it is redelivered had arrived). Also returns how many Jenkins
/// triggers the kills caught (their builds are checked by [`builds::check_builds`]).
pub fn redeliveries(
    kills: &[(SystemTime, Vec<i64>)],
    records: &[baton_daemon::store::outbox::Record],
    gate: &testkit::spinnaker::FakeSpinnaker,
) -> (Vec<Duration>, usize) {
    let arrivals = gate.requests();
    let mut redelivery = Vec::new();
    let mut caught_triggers = 0;
    for (at, id) in kills
        .iter()
        .flat_map(|(at, ids)| ids.iter().map(move |id| (at, id)))
    {
        let r = records.iter().find(|r| r.id == *id).unwrap();
        if r.kind == baton_daemon::outbox::JENKINS_BUILD {
            caught_triggers += 1;
            continue;
        }
        if r.state == baton_daemon::store::outbox::State::Superseded {
            continue;
        }
        let again = arrivals
            .iter()
            .filter(|q| q.method == "POST" && q.received_at > *at)
            .filter(|q| {
                serde_json::from_slice::<serde_json::Value>(&q.body)
                    .ok()
                    .as_ref()
                    == Some(&r.payload["body"])
            })
            .map(|q| q.received_at)
            .min()
            .expect("an in-flight record reached Echo again");
        redelivery.push(again.duration_since(*at).unwrap_or_default());
    }
    (redelivery, caught_triggers)
}
