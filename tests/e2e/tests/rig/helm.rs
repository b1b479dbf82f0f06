//! Helm: the seeded chart over the classic repo and OCI, and a test's own repository.

use std::process::Command;

use testkit::rig::{Rig, http_client};

use crate::run;

#[tokio::test]
async fn chart_pulls_back_byte_identical_over_http_and_oci() {
    let Some(rig) = Rig::for_test() else { return };
    let file = format!("{}-{}.tgz", rig.chart_name, rig.chart_version);
    let published = std::fs::read(rig.helm_repo_dir.join(&file)).unwrap();
    let home = tempfile::tempdir().unwrap();
    for helm in [&rig.helm_v4, &rig.helm_v3] {
        let oci_ref = format!("{}/{}", rig.helm_oci, rig.chart_name);
        let pulls: [Vec<&str>; 2] = [
            vec!["--repo", &rig.helm_repo_url, &rig.chart_name],
            vec![&oci_ref, "--plain-http"],
        ];
        for args in pulls {
            let dest = tempfile::tempdir().unwrap();
            let mut cmd = Command::new(helm);
            cmd.arg("pull")
                .args(&args)
                .args(["--version", &rig.chart_version, "-d"])
                .arg(dest.path());
            for var in ["HELM_CONFIG_HOME", "HELM_CACHE_HOME", "HELM_DATA_HOME"] {
                cmd.env(var, home.path().join(var));
            }
            run(&mut cmd).unwrap();
            let pulled = std::fs::read(dest.path().join(&file)).unwrap();
            assert!(
                pulled == published,
                "{} pull {args:?} changed the chart bytes",
                helm.display()
            );
        }
    }

    let http = http_client().unwrap();
    let index = format!("{}/index.yaml", rig.helm_repo_url);
    let first = http.get(&index).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].clone();
    assert!(first.headers().contains_key("last-modified"));
    assert!(
        first
            .text()
            .await
            .unwrap()
            .contains(&format!("version: {}", rig.chart_version))
    );
    let again = http
        .get(&index)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn own_helm_repo_publishes_over_http_and_oci() {
    let Some(rig) = Rig::for_test() else { return };
    let repo = rig.new_helm_repo("selftest").unwrap();
    let http = http_client().unwrap();
    let index_url = format!("{}/index.yaml", repo.url);
    let index = |etag: Option<String>| {
        let mut req = http.get(&index_url);
        if let Some(tag) = etag {
            req = req.header("if-none-match", tag);
        }
        req.send()
    };
    let empty = index(None).await.unwrap();
    let empty_etag = empty.headers()["etag"].to_str().unwrap().to_string();
    assert!(empty.text().await.unwrap().contains("entries: {}"));

    let first = repo.publish("demo", "1.0.0", "greeting: hello\n").unwrap();
    let listed = index(Some(empty_etag)).await.unwrap();
    assert_eq!(listed.status(), 200, "a new chart must change the ETag");
    let text = listed.text().await.unwrap();
    assert!(
        text.contains("version: 1.0.0") && text.contains("- demo-1.0.0.tgz"),
        "{text}"
    );
    let tgz = http
        .get(format!("{}/demo-1.0.0.tgz", repo.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        tgz.bytes().await.unwrap().as_ref(),
        std::fs::read(&first).unwrap().as_slice()
    );

    let digest = repo.push_oci(&first).unwrap();
    let oci_repo = format!("{}/demo", repo.name);
    let in_registry = rig.manifest_digest(&rig.registry, &oci_repo, "1.0.0");
    assert_eq!(in_registry.await.unwrap(), Some(digest));

    repo.publish("demo", "1.1.0", "greeting: hi\n").unwrap();
    repo.remove("demo", "1.0.0").unwrap();
    let text = index(None).await.unwrap().text().await.unwrap();
    assert!(
        text.contains("version: 1.1.0") && !text.contains("version: 1.0.0"),
        "{text}"
    );
}
