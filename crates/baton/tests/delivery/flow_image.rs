//! End to end on the rig: a base tag moved in the real registry becomes exactly one build at
//! the Jenkins stand-in with the new digest; an unchanged base builds nothing; an
//! artifact-source commit builds with its commit; each build's `/built` callback becomes one
//! image event at the Spinnaker stand-in. SQLite and PostgreSQL. `lying_registry`: a wrong
//! `Docker-Content-Digest` triggers no rebuild (issue 17 item 3).

use baton_harness::config::{Config, FAST_OUTBOX, JENKINS_TOKEN};
use baton_harness::flow;

mod lying_registry;

use std::path::Path;

use flow::{Api, Daemon, TOKEN, fake_jenkins, wait_for, webhooks};
use serde_json::{Value, json};
use testkit::rig::Rig;
use testkit::spinnaker::FakeSpinnaker;

const APP: &str = "micro-gw";
const JOB: &str = "micro-gw/petstore-image";
const BASE_SOURCE: &str = "base-image:micro-gw/petstore";
const ART_SOURCE: &str = "artifact-source:micro-gw/petstore";

struct Setup<'a> {
    state: &'a str,
    registry: &'a str,
    base: &'a str,
    target: &'a str,
    jenkins: &'a str,
    gate: &'a str,
    art_git: &'a str,
}

fn config(dir: &Path, s: &Setup<'_>) -> std::path::PathBuf {
    Config::new(TOKEN)
        .state(s.state)
        .jenkins(Some(s.jenkins))
        .jenkins_token(JENKINS_TOKEN)
        .gate(s.gate)
        .line("first_seen: baseline")
        .line(&format!(
            "registries:\n  - {{host: \"{}\", insecure: true}}",
            s.registry
        ))
        .line(FAST_OUTBOX)
        .products(&format!(
            r#"  - name: {APP}
    environments: [dev]
    images:
      - name: petstore
        base: "{base}"
        check: "* * * * * *"
        target: "{target}"
        jenkins_job: {JOB}
        artifact_source: {{git: "{art_git}", branch: main, poll: 1s}}
"#,
            base = s.base,
            target = s.target,
            art_git = s.art_git,
        ))
        .write(dir)
}

async fn records(api: &Api, kind: &str) -> Vec<Value> {
    let mut r: Vec<Value> = api
        .outbox()
        .await
        .into_iter()
        .filter(|r| r["kind"] == kind)
        .collect();
    r.sort_by_key(|r| r["id"].as_i64());
    r
}

async fn image_flow(rig: &Rig, state: &str, dir: &Path) {
    let repo = format!("flow-{:08x}/base", rand::random::<u32>());
    let registry = rig.registry.clone();
    let first = rig
        .push_image(&registry, &repo, "1.0", "seed-a")
        .await
        .unwrap();
    let base = format!("{registry}/{repo}:1.0");
    let target = format!("{registry}/acme/petstore");
    let art = rig.new_git_repo("flow-art").unwrap();
    let first_commit = art
        .commit(
            "main",
            &[("Dockerfile", Some(format!("FROM {base}\n").as_bytes()))],
            "image",
        )
        .unwrap();

    let jenkins = fake_jenkins(JOB, std::time::Duration::from_millis(300)).await;
    let spinnaker = FakeSpinnaker::builder()
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let file = config(
        dir,
        &Setup {
            state,
            registry: &registry,
            base: &base,
            target: &target,
            jenkins: &jenkins.url(),
            gate: spinnaker.url(),
            art_git: &art.http_url,
        },
    );
    let daemon = Daemon::start(&file).await;
    let api = daemon.api();
    // Plays the Jenkins job's last step: when a build finishes, push the image and report it
    // to baton (twice: a retried report must not send a second event).
    let mut builds = jenkins.subscribe();
    let (player_api, player_rig, player_target) = (daemon.api(), rig.clone(), target.clone());
    let player = tokio::spawn(async move {
        let mut reported = Vec::new();
        while let Ok(ev) = builds.recv().await {
            if !ev.finished || ev.job != JOB {
                continue;
            }
            let n = ev.build.number;
            let digest = player_rig
                .push_image(
                    &player_rig.registry,
                    "acme/petstore",
                    &format!("b{n}"),
                    &format!("built-{n}"),
                )
                .await
                .unwrap();
            let body = json!({
                "reference": format!("{player_target}@{digest}"),
                "tag": format!("b{n}"),
                "event_id": ev.build.params["BATON_EVENT"],
            });
            for _ in 0..2 {
                let (status, answer) = player_api
                    .post("/v1/products/micro-gw/images/petstore/built", body.clone())
                    .await;
                assert_eq!(status, 202, "{answer}");
            }
            reported.push(digest);
            if reported.len() == 2 {
                return reported;
            }
        }
        reported
    });

    // First sight of both sources is a baseline; unchanged checks send nothing.
    api.wait_checks(BASE_SOURCE, "unchanged", 2.0).await;
    api.wait_checks(ART_SOURCE, "unchanged", 1.0).await;
    let baseline =
        format!("baton_source_checks_total{{source=\"{BASE_SOURCE}\",outcome=\"baseline\"}}");
    assert_eq!(api.metric(&baseline).await, 1.0);
    assert!(jenkins.builds_of(JOB).is_empty(), "{}", daemon.log());
    // Each base check was one manifest HEAD answered 200; the one GET is the baseline's check
    // that the manifest's sha256 is the digest the registry named (unchanged checks GET nothing).
    let heads = format!(
        "baton_registry_requests_total{{registry=\"{registry}\",method=\"HEAD\",status=\"200\"}}"
    );
    assert!(api.metric(&heads).await >= 3.0, "{}", daemon.log());
    let gets = format!(
        "baton_registry_requests_total{{registry=\"{registry}\",method=\"GET\",status=\"200\"}}"
    );
    assert_eq!(api.metric(&gets).await, 1.0);

    // The base tag moves in the registry -> exactly one Jenkins build with the new digest.
    let moved = rig
        .push_image(&registry, &repo, "1.0", "seed-b")
        .await
        .unwrap();
    assert_ne!(moved, first);
    let build = wait_for("the rebuild at the Jenkins stand-in", 30, || async {
        jenkins.builds_of(JOB).into_iter().next()
    })
    .await;
    let params = &build.params;
    assert_eq!(params["BASE_DIGEST"], moved);
    assert_eq!(params["BASE_IMAGE"], base);
    assert_eq!(params["BASE_REF"], format!("{registry}/{repo}@{moved}"));
    assert_eq!(params["TARGET_IMAGE"], target);
    assert_eq!(params["CAUSE"], "base-image");
    assert_eq!(params["GIT_COMMIT"], first_commit);
    let event_id = params["BATON_EVENT"].clone();
    api.wait_checks(BASE_SOURCE, "unchanged", 2.0).await;
    // The moved digest was verified by one more GET before the rebuild; none since.
    assert_eq!(api.metric(&gets).await, 2.0);
    assert_eq!(
        jenkins.builds_of(JOB).len(),
        1,
        "unchanged base -> no build"
    );
    assert_eq!(records(&api, "jenkins.build").await.len(), 1);

    // The build's /built callback -> one image event with the docker/image artifact.
    let image = wait_for("the image event at the Spinnaker stand-in", 30, || async {
        webhooks(&spinnaker, "image").into_iter().next()
    })
    .await;
    // The trigger's queue item is recorded on the rebuild's event.
    let rebuild = wait_for("the queue item on the rebuild event", 30, || async {
        api.events(APP)
            .await
            .into_iter()
            .find(|e| e["id"] == event_id.as_str() && e["jenkins_queue_id"] == build.queue_id)
    })
    .await;
    let digest = rebuild["image_digest"]
        .as_str()
        .expect("the build's digest on the event")
        .to_owned();
    let reference = format!("{target}@{digest}");
    assert_eq!(
        image["artifacts"],
        json!([{"type": "docker/image", "name": target, "reference": reference, "version": digest}])
    );
    assert_eq!(image["parameters"]["batonEvent"], event_id.as_str());
    assert_eq!(image["parameters"]["tag"], format!("b{}", build.number));

    // An artifact-source commit -> a rebuild naming the commit, on the current base.
    let commit = art
        .commit("main", &[("app.txt", Some(b"v2\n".as_slice()))], "app v2")
        .unwrap();
    let second = wait_for("the artifact-source rebuild", 30, || async {
        jenkins.builds_of(JOB).into_iter().nth(1)
    })
    .await;
    assert_eq!(second.params["CAUSE"], "artifact-source");
    assert_eq!(second.params["GIT_COMMIT"], commit);
    assert_eq!(second.params["BASE_DIGEST"], moved);
    let reported = tokio::time::timeout(std::time::Duration::from_secs(60), player)
        .await
        .expect("both builds reported")
        .unwrap();
    wait_for("the second image event", 30, || async {
        (webhooks(&spinnaker, "image").len() >= 2).then_some(())
    })
    .await;
    let sent: Vec<Value> = webhooks(&spinnaker, "image")
        .iter()
        .map(|b| b["parameters"]["digest"].clone())
        .collect();
    assert_eq!(
        sent,
        reported.iter().map(|d| json!(d)).collect::<Vec<_>>(),
        "one event per build, none twice"
    );
    assert_eq!(jenkins.builds_of(JOB).len(), 2);
    assert!(jenkins.unmodelled_requests().is_empty());
    drop(daemon);
    jenkins.shutdown().await;
    spinnaker.shutdown().await;
}

/// The image webhooks the Spinnaker stand-in received, as JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_flow_sqlite() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = format!("sqlite://{}", dir.path().join("data/baton.db").display());
    image_flow(&rig, &state, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_flow_postgres() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let state = rig.new_database("flow_image").await.unwrap();
    image_flow(&rig, &state, dir.path()).await;
}
