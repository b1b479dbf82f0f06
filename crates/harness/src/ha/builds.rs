//! The Jenkins side of the chaos test: base-image moves in the rig's registry become Jenkins
//! builds through owned work a kill can catch (the outbox trigger, then the build follow-up
//! under its `follow:<event>` lease), and each finished build reports its image through
//! `POST …/built` to a live replica, as the job's last step does.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_daemon::store::Store;
use testkit::jenkins::FakeJenkins;

use crate::daemon::post_built;

/// The image job of the `ha` config.
pub const JOB: &str = "micro-gw/petstore";

/// Image numbers of build reports start here (`/built` reports of the test are below).
pub const FROM_BUILDS: u32 = 1000;

/// Points the config's image at `base` in the rig's `registry` (checked every second) and its
/// Jenkins at `jenkins` (the `flow` stand-in's user and token).
pub fn use_base(file: &Path, jenkins: &str, registry: &str, base: &str) {
    let dir = file.parent().unwrap();
    std::fs::write(dir.join("jenkins-token"), "jenkins-api-token\n").unwrap();
    let text = std::fs::read_to_string(file).unwrap();
    let new =
        text.replace(
            "jenkins: {url: \"http://127.0.0.1:9\"",
            &format!("jenkins: {{url: \"{jenkins}\""),
        )
        .replace(
            "base: \"127.0.0.1:9/vendor/base:1\"",
            &format!("base: \"{base}\", check: \"* * * * * *\""),
        ) + &format!("registries:\n  - {{host: \"{registry}\", insecure: true}}\n");
    assert_eq!(new.matches(jenkins).count(), 1, "{new}");
    assert_eq!(new.matches(base).count(), 1, "{new}");
    std::fs::write(file, new).unwrap();
}

/// The base digest each build of `JOB` was asked for, by build number.
pub fn built_bases(jenkins: &FakeJenkins) -> Vec<(u32, String, Option<String>)> {
    let mut b: Vec<_> = jenkins
        .builds_of(JOB)
        .into_iter()
        .map(|b| {
            let digest = b.params.get("BASE_DIGEST").cloned().unwrap_or_default();
            (b.number, digest, b.result)
        })
        .collect();
    b.sort();
    b
}

/// Plays the job's last step: each finished build `n` reports image `FROM_BUILDS + n` to a
/// live replica in `urls` (retrying another while one is being killed). Returns the image
/// numbers reported, in order.
pub fn report_builds(jenkins: &FakeJenkins, urls: Arc<Mutex<Vec<String>>>) -> Arc<Mutex<Vec<u32>>> {
    let reported: Arc<Mutex<Vec<u32>>> = Arc::default();
    let mut builds = jenkins.subscribe();
    let out = reported.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut tries: HashMap<u32, u32> = HashMap::new();
        while let Ok(ev) = builds.recv().await {
            if !ev.finished || ev.job != JOB {
                continue;
            }
            let n = FROM_BUILDS + ev.build.number;
            loop {
                let url = {
                    let u = urls.lock().unwrap();
                    u[rand::random_range(0..u.len())].clone()
                };
                if post_built(&http, &url, n).await.is_ok() {
                    out.lock().unwrap().push(n);
                    break;
                }
                let t = tries.entry(n).or_default();
                *t += 1;
                assert!(*t < 50, "build report {n} refused by every replica");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    reported
}

/// Checks the builds against the base `moves` (in order): every move built, in order, each
/// build finished; returns how many builds were duplicates (a trigger resent after a kill).
pub fn check_builds(jenkins: &FakeJenkins, moves: &[String]) -> Result<usize, String> {
    let builds = built_bases(jenkins);
    let mut first_seen: Vec<&String> = Vec::new();
    for (_, d, _) in &builds {
        if !first_seen.contains(&d) {
            first_seen.push(d);
        }
    }
    if first_seen
        .iter()
        .map(|d| d.as_str())
        .ne(moves.iter().map(String::as_str))
    {
        return Err(format!("builds {builds:?}, moves {moves:?}"));
    }
    if let Some(b) = builds.iter().find(|b| b.2.as_deref() != Some("SUCCESS")) {
        return Err(format!("build {b:?} not finished"));
    }
    Ok(builds.len() - moves.len())
}

/// How many of the base `moves` have an event whose build follow-up recorded `SUCCESS`.
pub async fn followed(store: &Store, moves: &[String]) -> usize {
    let events = store.events(Some("micro-gw"), 10_000).await.unwrap();
    moves
        .iter()
        .filter(|m| {
            events.iter().any(|e| {
                e.correlation.base_digest.as_ref() == Some(*m)
                    && e.correlation.build_result.as_deref() == Some("SUCCESS")
            })
        })
        .count()
}

/// The build follow-ups replica `owner` held a live lease on.
pub async fn follows_held_by(store: &Store, owner: &str) -> usize {
    let now = time::OffsetDateTime::now_utc();
    store
        .leases("follow:")
        .await
        .unwrap()
        .iter()
        .filter(|l| l.owner.as_deref() == Some(owner) && l.until > now)
        .count()
}
