//! End to end on the rig with `first_seen: deliver`: the first sight of each source is
//! delivered. Covers a chart from an OCI repository (embedded), a chart sent by reference
//! (`helm/chart` artifact), and a base image rebuilt on first sight.

use baton_harness::config::{Config, FAST_OUTBOX, JENKINS_TOKEN};
use baton_harness::flow;

use std::time::Duration;

use flow::{Daemon, TOKEN, artifact_bytes, chart_webhooks, fake_jenkins, wait_for};
use serde_json::json;
use testkit::rig::Rig;
use testkit::spinnaker::FakeSpinnaker;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_sight_is_delivered_oci_reference_and_base_image() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let repo = rig.new_git_repo("flow-first").unwrap();
    let dev: &[u8] = b"replicas: 1\n";
    repo.commit("main", &[("values-dev.yaml", Some(dev))], "values")
        .unwrap();
    let helm = rig.new_helm_repo("first").unwrap();
    let tgz_path = helm
        .publish("microgateway", "3.0.1", "replicas: 1\n")
        .unwrap();
    let tgz = std::fs::read(&tgz_path).unwrap();
    helm.push_oci(&tgz_path).unwrap();
    let base_repo = format!("first-{:08x}/base", rand::random::<u32>());
    let base_digest = rig
        .push_image(&rig.registry, &base_repo, "2.0", "first-seed")
        .await
        .unwrap();

    let spinnaker = FakeSpinnaker::builder()
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let jenkins = fake_jenkins("oci/base-image", Duration::from_millis(100)).await;
    let registry = &rig.registry;
    let file = Config::new(TOKEN)
        .jenkins(Some(&jenkins.url()))
        .jenkins_token(JENKINS_TOKEN)
        .gate(spinnaker.url())
        .line("first_seen: deliver")
        .line(&format!("registries:\n  - {{host: \"{registry}\", insecure: true}}"))
        .line(FAST_OUTBOX)
        .products(&format!(
            r#"  - name: oci
    environments: [dev]
    chart: {{repository: "{oci}", name: microgateway, version: "^3.0"}}
    chart_source: {{git: "{git}", branch: main, poll: 1h}}
    images:
      - name: base-image
        base: "{registry}/{base_repo}:2.0"
        check: "0 0 0 1 1 *"
        target: "{registry}/oci/app"
        jenkins_job: oci/base-image
  - name: byref
    environments: [dev]
    chart: {{repository: "{classic}", name: microgateway, version: "3.0.1", delivery: reference, artifact_account: rig-helm}}
    chart_source: {{git: "{git}", branch: main, poll: 1h}}
"#,
            oci = helm.oci,
            classic = helm.url,
            git = repo.http_url,
        ))
        .write(dir.path());
    let daemon = Daemon::start(&file).await;

    let both = wait_for("both chart events", 60, || async {
        let w = chart_webhooks(&spinnaker);
        (w.len() >= 2).then_some(w)
    })
    .await;
    let by_app = |app: &str| {
        both.iter()
            .find(|b| b["application"] == app)
            .unwrap_or_else(|| panic!("no event for {app}: {}", daemon.log()))
            .clone()
    };
    let oci = by_app("oci");
    assert_eq!(oci["environments"], "dev");
    assert_eq!(oci["artifacts"][0]["name"], "microgateway-3.0.1.tgz");
    assert_eq!(
        artifact_bytes(&oci["artifacts"][0]),
        tgz,
        "the chart from OCI"
    );
    assert_eq!(artifact_bytes(&oci["artifacts"][1]), dev);
    let byref = by_app("byref");
    // metadata.digest: the chart's digest, so promotion can tell which chart an execution ran
    let digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&tgz))
    );
    assert_eq!(
        byref["artifacts"][0],
        json!({"type": "helm/chart", "name": "microgateway", "version": "3.0.1", "artifactAccount": "rig-helm",
               "metadata": {"digest": digest}})
    );

    // The base image's first sight is a rebuild too (its cron fires yearly: this is the
    // start-up check).
    let build = wait_for("the first-sight rebuild", 30, || async {
        jenkins.builds_of("oci/base-image").into_iter().next()
    })
    .await;
    assert_eq!(build.params["BASE_DIGEST"], base_digest);
    assert_eq!(build.params["CAUSE"], "base-image");
    assert_eq!(chart_webhooks(&spinnaker).len(), 2);
    drop(daemon);
    jenkins.shutdown().await;
    spinnaker.shutdown().await;
}
