//! Self-test of the rig (`scripts/rig up`): every component answers, with the behaviour baton's
//! tests rely on. Skips when the rig is not up, fails under CI.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use testkit::rig::{MANIFEST_ACCEPT, Rig, http_client};

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn skopeo_digest(rig: &Rig, reference: &str) -> anyhow::Result<String> {
    run(Command::new(&rig.skopeo).args([
        "inspect",
        "--tls-verify=false",
        "--format",
        "{{.Digest}}",
        &format!("docker://{reference}"),
    ]))
}

#[tokio::test]
async fn each_registry_answers_with_its_own_auth() {
    let Some(rig) = Rig::for_test() else { return };
    let http = http_client().unwrap();
    let v2 = |host: &str| format!("http://{host}/v2/");

    let open = http.get(v2(&rig.registry)).send().await.unwrap();
    assert_eq!(open.status(), 200);

    let basic = &rig.registry_basic;
    let anon = http.get(v2(&basic.host)).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    assert!(
        anon.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    let wrong = http
        .get(v2(&basic.host))
        .basic_auth(&basic.username, Some("wrong"));
    assert_eq!(wrong.send().await.unwrap().status(), 401);
    let right = http
        .get(v2(&basic.host))
        .basic_auth(&basic.username, Some(&basic.password));
    assert_eq!(right.send().await.unwrap().status(), 200);

    let token = rig
        .registry_token
        .as_ref()
        .expect("the rig builds the token registry");
    let anon = http.get(v2(&token.host)).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let challenge = anon.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer realm=\"http://"),
        "{challenge}"
    );
    let realm = challenge.split('"').nth(1).unwrap();
    let refused = http.get(realm).query(&[("service", "baton-rig-registry")]);
    let refused = refused
        .basic_auth(&token.username, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let issued = http.get(realm).query(&[("service", "baton-rig-registry")]);
    let issued = issued
        .basic_auth(&token.username, Some(&token.password))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 200);
    let body: serde_json::Value = issued.json().await.unwrap();
    let jwt = body["token"].as_str().unwrap();
    let with = http
        .get(v2(&token.host))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    // Change one character well inside the signature (the last one may carry only padding bits).
    let at = jwt.len() - 10;
    let swap = if &jwt[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swap}{}", &jwt[..at], &jwt[at + 1..]);
    let with = http
        .get(v2(&token.host))
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(
        with.status(),
        401,
        "a token with a broken signature must be refused"
    );
}

#[tokio::test]
async fn pushing_another_seed_moves_the_tag_on_every_registry() {
    let Some(rig) = Rig::for_test() else { return };
    let token = rig.registry_token.clone().expect("token registry");
    for host in [&rig.registry, &rig.registry_basic.host, &token.host] {
        let repo = format!("selftest/moving-{:08x}", rand_u32());
        let first = rig.push_image(host, &repo, "1", "first").await.unwrap();
        assert_eq!(
            rig.manifest_digest(host, &repo, "1").await.unwrap(),
            Some(first.clone())
        );
        let second = rig.push_image(host, &repo, "1", "second").await.unwrap();
        assert_ne!(first, second, "{host}: a new seed must change the digest");
        assert_eq!(
            rig.manifest_digest(host, &repo, "1").await.unwrap(),
            Some(second)
        );
        let again = rig.push_image(host, &repo, "1", "first").await.unwrap();
        assert_eq!(
            again, first,
            "{host}: the same seed must give the same digest"
        );
        assert_eq!(
            rig.manifest_digest(host, &repo, "1").await.unwrap(),
            Some(first)
        );
        assert_eq!(
            rig.manifest_digest(host, &repo, "absent").await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn pushed_index_lists_both_platforms() {
    let Some(rig) = Rig::for_test() else { return };
    let repo = format!("selftest/index-{:08x}", rand_u32());
    let (index, platforms) = rig
        .push_index(&rig.registry, &repo, "multi", "idx")
        .await
        .unwrap();
    let names: Vec<_> = platforms.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["linux/amd64", "linux/arm64/v8"]);
    assert_ne!(platforms[0].1, platforms[1].1);
    assert_eq!(
        rig.manifest_digest(&rig.registry, &repo, "multi")
            .await
            .unwrap(),
        Some(index.clone())
    );
    let raw = run(Command::new(&rig.skopeo).args([
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{}/{repo}:multi", rig.registry),
    ]))
    .unwrap();
    assert_eq!(
        format!("sha256:{}", hex::encode(Sha256::digest(raw.as_bytes()))),
        index
    );
    let listed: serde_json::Value = serde_json::from_str(&raw).unwrap();
    for (i, (_, digest)) in platforms.iter().enumerate() {
        assert_eq!(listed["manifests"][i]["digest"], digest.as_str());
        assert_eq!(
            rig.manifest_digest(&rig.registry, &repo, digest)
                .await
                .unwrap()
                .as_ref(),
            Some(digest)
        );
    }
    assert_eq!(listed["manifests"][1]["platform"]["variant"], "v8");
}

/// The registry gotcha: without all four Accept types distribution 2.8 refuses OCI manifests
/// (404) and will not hand out the digest of Docker v2 ones; with them it reports what skopeo does.
#[tokio::test]
async fn accept_list_gets_the_digest_skopeo_reports() {
    let Some(rig) = Rig::for_test() else { return };
    let http = http_client().unwrap();
    let repo = format!("selftest/accept-{:08x}", rand_u32());
    let oci = format!("{}/{repo}:oci", rig.registry);
    let docker = format!("{}/{repo}:docker", rig.registry);
    rig.push_image(&rig.registry, &repo, "oci", "accept")
        .await
        .unwrap();
    run(Command::new(&rig.skopeo).args([
        "--insecure-policy",
        "copy",
        "--quiet",
        "--format",
        "v2s2",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &format!("docker://{oci}"),
        &format!("docker://{docker}"),
    ]))
    .unwrap();
    for (tag, reference) in [("oci", &oci), ("docker", &docker)] {
        let skopeo = skopeo_digest(&rig, reference).unwrap();
        let ours = rig
            .manifest_digest(&rig.registry, &repo, tag)
            .await
            .unwrap();
        assert_eq!(ours, Some(skopeo.clone()), "{reference}");
        let url = format!("http://{}/v2/{repo}/manifests/{tag}", rig.registry);
        let bare = http.head(&url).send().await.unwrap();
        let bare_digest = bare
            .headers()
            .get("docker-content-digest")
            .map(|v| v.to_str().unwrap().to_string());
        assert!(
            !bare.status().is_success() || bare_digest.as_deref() != Some(skopeo.as_str()),
            "{reference}: a HEAD without Accept was expected to miss the digest"
        );
        let listed = http
            .head(&url)
            .header("accept", MANIFEST_ACCEPT)
            .send()
            .await
            .unwrap();
        assert_eq!(
            listed.headers()["docker-content-digest"].to_str().unwrap(),
            skopeo
        );
    }
    assert_ne!(
        skopeo_digest(&rig, &oci).unwrap(),
        skopeo_digest(&rig, &docker).unwrap()
    );
}

#[tokio::test]
async fn base_image_is_seeded() {
    let Some(rig) = Rig::for_test() else { return };
    let (host, rest) = rig.base_image.split_once('/').unwrap();
    let (repo, tag) = rest.rsplit_once(':').unwrap();
    let ours = rig.manifest_digest(host, repo, tag).await.unwrap();
    assert_eq!(ours, Some(skopeo_digest(&rig, &rig.base_image).unwrap()));
}

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

fn ls_remote(url: &str, branch: &str) -> Option<String> {
    let out =
        run(Command::new("git").args(["ls-remote", url, &format!("refs/heads/{branch}")])).unwrap();
    out.split_whitespace().next().map(str::to_string)
}

#[test]
fn commit_is_visible_through_both_git_transports() {
    let Some(rig) = Rig::for_test() else { return };
    let repo = rig.new_git_repo("selftest").unwrap();
    let first = repo
        .commit("main", &[("app/values-dev.yaml", Some(b"a: 1\n"))], "first")
        .unwrap();
    assert_eq!(ls_remote(&repo.http_url, "main"), Some(first.clone()));
    assert_eq!(ls_remote(&repo.daemon_url, "main"), Some(first.clone()));

    // Push through git:// from a clone made over HTTP; see it over HTTP.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("w");
    run(Command::new("git")
        .args(["clone", "-q", &repo.http_url])
        .arg(&dir))
    .unwrap();
    std::fs::write(dir.join("app/values-dev.yaml"), "a: 2\n").unwrap();
    let git = |args: &[&str]| run(Command::new("git").current_dir(&dir).args(args)).unwrap();
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t.invalid",
        "commit",
        "-qam",
        "second",
    ]);
    git(&["push", "-q", &repo.daemon_url, "HEAD:refs/heads/main"]);
    let second = git(&["rev-parse", "HEAD"]);
    assert_eq!(ls_remote(&repo.http_url, "main"), Some(second.clone()));

    // Delete a file through the helper; force-move back; delete the branch.
    let third = repo
        .commit("main", &[("app/values-dev.yaml", None)], "third")
        .unwrap();
    let files = run(Command::new("git")
        .arg(format!("--git-dir={}", repo.path.display()))
        .args(["ls-tree", "-r", "--name-only", &third]))
    .unwrap();
    assert_eq!(files, "");
    repo.set_branch("main", Some(&first)).unwrap();
    assert_eq!(ls_remote(&repo.daemon_url, "main"), Some(first));
    repo.set_branch("main", None).unwrap();
    assert_eq!(ls_remote(&repo.http_url, "main"), None);
    assert_eq!(repo.head("main").unwrap(), None);
}

#[test]
fn seeded_repos_hold_values_files_and_a_dockerfile() {
    let Some(rig) = Rig::for_test() else { return };
    let work = tempfile::tempdir().unwrap();
    let chart = work.path().join("chart");
    let src = rig.git_repo(&rig.chart_source_repo);
    run(Command::new("git")
        .args(["clone", "-q", "-b", &rig.git_branch, &src.daemon_url])
        .arg(&chart))
    .unwrap();
    for env in ["dev", "staging", "prod"] {
        let values = std::fs::read_to_string(
            chart
                .join(&rig.chart_source_dir)
                .join(format!("values-{env}.yaml")),
        )
        .unwrap();
        assert!(values.contains(&format!("environment: {env}")), "{values}");
    }
    let art = work.path().join("art");
    let src = rig.git_repo(&rig.artifact_source_repo);
    run(Command::new("git")
        .args(["clone", "-q", &src.http_url])
        .arg(&art))
    .unwrap();
    let dockerfile = std::fs::read_to_string(Path::new(&art).join("Dockerfile")).unwrap();
    assert!(
        dockerfile.starts_with(&format!("FROM {}\n", rig.base_image)),
        "{dockerfile}"
    );
}

#[tokio::test]
async fn postgres_accepts_a_query_in_a_fresh_database() {
    let Some(rig) = Rig::for_test() else { return };
    let url = rig.new_database("selftest").await.unwrap();
    let db = url.rsplit('/').next().unwrap().to_string();
    assert!(db.starts_with("selftest_"), "{url}");
    rig.psql(
        &db,
        "CREATE TABLE t (n int); INSERT INTO t VALUES (40), (2)",
    )
    .await
    .unwrap();
    assert_eq!(rig.psql(&db, "SELECT sum(n) FROM t").await.unwrap(), "42");
    let other = rig.new_database("selftest").await.unwrap();
    assert_ne!(url, other);
    let err = rig.new_database("bad-name").await.unwrap_err();
    assert!(err.to_string().contains("bad-name"), "{err}");
}

fn rand_u32() -> u32 {
    rand::random()
}
