//! End to end on the rig: a base tag moved in the real registry becomes exactly one Jenkins
//! rebuild with the new digest; an unchanged base sends nothing; an artifact-source commit
//! rebuilds with its commit; the build's `/built` callback becomes one image event.

mod flow;

use std::path::Path;

use flow::{Api, Daemon, TOKEN, wait_for};
use serde_json::{Value, json};
use testkit::jenkins::{FakeJenkins, JobSpec, ParamSpec, UserSpec};
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
    std::fs::write(dir.join("api-tokens"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(dir.join("jenkins-token"), "jenkins-api-token\n").unwrap();
    let file = dir.join("baton.yaml");
    std::fs::write(
        &file,
        format!(
            r#"
state: "{state}"
listen: 127.0.0.1:0
api_tokens_file: api-tokens
first_seen: baseline
jenkins: {{url: "{jenkins}", user: baton, token_file: jenkins-token}}
spinnaker: {{gate_url: "{gate}"}}
registries:
  - {{host: "{registry}", insecure: true}}
outbox: {{initial_delay: 100ms, max_delay: 1s, jitter: none}}
products:
  - name: {APP}
    environments: [dev]
    images:
      - name: petstore
        base: "{base}"
        check: "* * * * * *"
        target: "{target}"
        jenkins_job: {JOB}
        artifact_source: {{git: "{art_git}", branch: main, poll: 1s}}
"#,
            state = s.state,
            jenkins = s.jenkins,
            gate = s.gate,
            registry = s.registry,
            base = s.base,
            target = s.target,
            art_git = s.art_git,
        ),
    )
    .unwrap();
    file
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
    art.commit(
        "main",
        &[("Dockerfile", Some(format!("FROM {base}\n").as_bytes()))],
        "image",
    )
    .unwrap();

    let mut job = JobSpec::new(JOB);
    for p in [
        "BASE_IMAGE",
        "BASE_DIGEST",
        "BASE_REF",
        "TARGET_IMAGE",
        "GIT_COMMIT",
        "CAUSE",
        "BATON_EVENT",
    ] {
        job = job.param(ParamSpec::string(p, ""));
    }
    let jenkins = FakeJenkins::builder()
        .user(UserSpec::new("baton", "jenkins-api-token"))
        .job(job)
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
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
    let daemon = Daemon::start(&file);
    let api = daemon.api();

    // First sight of both sources is a baseline; unchanged checks send nothing.
    api.wait_checks(BASE_SOURCE, "unchanged", 2.0).await;
    api.wait_checks(ART_SOURCE, "unchanged", 1.0).await;
    let baseline =
        format!("baton_source_checks_total{{source=\"{BASE_SOURCE}\",outcome=\"baseline\"}}");
    assert_eq!(api.metric(&baseline).await, 1.0);
    assert!(
        records(&api, "jenkins.build").await.is_empty(),
        "{}",
        daemon.log()
    );

    // The base tag moves in the registry -> exactly one rebuild with the new digest.
    let moved = rig
        .push_image(&registry, &repo, "1.0", "seed-b")
        .await
        .unwrap();
    assert_ne!(moved, first);
    let rebuild = wait_for("the rebuild", 30, || async {
        records(&api, "jenkins.build").await.into_iter().next()
    })
    .await;
    let params = &rebuild["payload"]["params"];
    assert_eq!(rebuild["payload"]["job"], JOB);
    assert_eq!(params["BASE_DIGEST"], moved.as_str());
    assert_eq!(params["BASE_IMAGE"], base.as_str());
    assert_eq!(params["BASE_REF"], format!("{registry}/{repo}@{moved}"));
    assert_eq!(params["TARGET_IMAGE"], target.as_str());
    assert_eq!(params["CAUSE"], "base-image");
    let event_id = params["BATON_EVENT"].as_str().unwrap().to_owned();
    api.wait_checks(BASE_SOURCE, "unchanged", 2.0).await;
    assert_eq!(records(&api, "jenkins.build").await.len(), 1);

    // An artifact-source commit -> a rebuild naming the commit, on the current base.
    let commit = art
        .commit("main", &[("app.txt", Some(b"v2\n".as_slice()))], "app v2")
        .unwrap();
    let second = wait_for("the artifact-source rebuild", 30, || async {
        records(&api, "jenkins.build").await.into_iter().nth(1)
    })
    .await;
    let p2 = &second["payload"]["params"];
    assert_eq!(p2["CAUSE"], "artifact-source");
    assert_eq!(p2["GIT_COMMIT"], commit.as_str());
    assert_eq!(p2["BASE_DIGEST"], moved.as_str());

    // The build reports its image -> one image event with the docker/image artifact.
    let digest = rig
        .push_image(&registry, "acme/petstore", "b1", "built-1")
        .await
        .unwrap();
    let reference = format!("{target}@{digest}");
    for _ in 0..2 {
        let (status, _) = api
            .post(
                "/v1/products/micro-gw/images/petstore/built",
                json!({"reference": reference, "tag": "b1", "event_id": event_id}),
            )
            .await;
        assert_eq!(status, 202);
    }
    let images = records(&api, "spinnaker.webhook").await;
    assert_eq!(images.len(), 1, "a repeated report is not sent twice");
    let body = &images[0]["payload"]["body"];
    assert_eq!(images[0]["payload"]["source"], "image");
    assert_eq!(
        body["artifacts"],
        json!([{"type": "docker/image", "name": target, "reference": reference, "version": digest}])
    );
    assert_eq!(body["parameters"]["batonEvent"], event_id.as_str());
    drop(daemon);
    jenkins.shutdown().await;
    spinnaker.shutdown().await;
}

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
