//! git: smart HTTP and git daemon over the same bare repos, and the seeded repos.

use std::path::Path;
use std::process::Command;

use testkit::rig::Rig;

use crate::run;

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
