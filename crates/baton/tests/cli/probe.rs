//! `baton probe image|images|chart|git` through the binary, against the rig's registry, Helm
//! repository and git daemon: what each prints must be what the component holds.

use std::path::Path;
use std::process::{Command, Output};

use sha2::{Digest as _, Sha256};
use testkit::rig::Rig;

fn baton(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .env_remove("BATON_CONFIG")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run baton")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

#[tokio::test]
async fn image_and_images_print_the_registry_digests() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let seed = format!("probe-{}", rand::random::<u64>());
    let (index, platforms) = rig
        .push_index(&rig.registry, "probe/multi", "t", &seed)
        .await
        .unwrap();
    let r = format!("{}/probe/multi:t", rig.registry);
    let out = json(&baton(
        dir.path(),
        &["probe", "image", &r, "--insecure", "--output", "json"],
    ));
    assert_eq!(out["digest"], index.as_str());
    let got: Vec<(String, String)> = out["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["platform"].as_str().unwrap().to_string(),
                p["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got, platforms);
    let text = baton(dir.path(), &["probe", "image", &r, "--insecure"]);
    assert_eq!(stdout(&text).lines().next(), Some(index.as_str()));

    let base = rig.base_image.clone();
    let base_digest = rig
        .manifest_digest(&rig.registry, "vendor/base", "1.0")
        .await
        .unwrap()
        .unwrap();
    let missing = format!("{}/probe/absent:{seed}", rig.registry);
    let list = dir.path().join("refs");
    std::fs::write(&list, format!("# two refs\n{base}\n\n{missing}\n")).unwrap();
    let out = baton(
        dir.path(),
        &[
            "probe",
            "images",
            "--file",
            "refs",
            "--insecure",
            "--concurrency",
            "2",
        ],
    );
    assert!(!out.status.success(), "a missing tag fails the command");
    let lines: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(lines[0], format!("{base} {base_digest}"));
    assert!(
        lines[1].starts_with(&format!("{missing} error:")) && lines[1].contains("404"),
        "{lines:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of the references"));
}

#[tokio::test]
async fn the_configs_registry_credentials_apply() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let basic = &rig.registry_basic;
    let digest = rig
        .push_image(&basic.host, "probe/private", "1", "probe-credentials")
        .await
        .unwrap();
    let r = format!("{}/probe/private:1", basic.host);
    let anonymous = baton(dir.path(), &["probe", "image", &r, "--insecure"]);
    assert!(!anonymous.status.success());
    assert!(
        String::from_utf8_lossy(&anonymous.stderr).contains("401"),
        "{anonymous:?}"
    );
    std::fs::write(dir.path().join("pw"), format!("{}\n", basic.password)).unwrap();
    std::fs::write(
        dir.path().join("probe.yaml"),
        format!(
            "state: sqlite://db/baton.db\nregistries:\n  - {{host: \"{}\", username: {}, password_file: pw, insecure: true}}\n",
            basic.host, basic.username
        ),
    )
    .unwrap();
    let out = baton(
        dir.path(),
        &["--config", "probe.yaml", "probe", "image", &r],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out).trim(), digest);
    assert!(
        !stdout(&out).contains(&basic.password)
            && !String::from_utf8_lossy(&out.stderr).contains(&basic.password)
    );
}

/// A VERSION that is neither a version nor a range is refused before any request, naming the
/// argument and why semver refused it.
#[test]
fn chart_refuses_a_version_that_does_not_parse() {
    let dir = tempfile::tempdir().unwrap();
    let out = baton(
        dir.path(),
        &["probe", "chart", "http://127.0.0.1:9", "demo", "3.x.y.z"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("VERSION: \"3.x.y.z\" is not a version or range ("),
        "{err}"
    );
    assert!(err.contains("use e.g."), "{err}");
}

#[test]
fn chart_downloads_the_archive_and_git_prints_the_head() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (name, version) = (rig.chart_name.as_str(), rig.chart_version.as_str());
    let out = json(&baton(
        dir.path(),
        &[
            "probe",
            "chart",
            &rig.helm_repo_url,
            name,
            version,
            "-o",
            "charts",
            "--output",
            "json",
        ],
    ));
    let file = dir.path().join(format!("charts/{name}-{version}.tgz"));
    let written = std::fs::read(&file).unwrap();
    let seeded = std::fs::read(rig.helm_repo_dir.join(format!("{name}-{version}.tgz"))).unwrap();
    assert_eq!(written, seeded);
    assert_eq!(
        out["digest"],
        format!("sha256:{}", hex::encode(Sha256::digest(&written)))
    );

    let repo = rig.new_git_repo("probe").unwrap();
    let sha = repo
        .commit(
            &rig.git_branch,
            &[("a.txt", Some(b"one\n".as_slice()))],
            "one",
        )
        .unwrap();
    for url in [&repo.daemon_url, &repo.http_url] {
        let out = baton(
            dir.path(),
            &["probe", "git", url, "--branch", &rig.git_branch],
        );
        assert_eq!(stdout(&out).trim(), sha, "{url}");
    }
    let out = baton(
        dir.path(),
        &["probe", "git", &repo.daemon_url, "--branch", "nope"],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no branch \"nope\""));
}
