//! B-git: new-commit check, baton (`GitWatch::remote_head`) vs `git ls-remote`, over smart
//! HTTP and git://.

use std::process::Command;
use std::time::Instant;

use baton_sources::git::{Git, GitWatch};
use testkit::rig::Rig;

use super::timing::{median, median_command, ms};

const N: usize = 30;

pub async fn git_bench() -> anyhow::Result<()> {
    let rig = Rig::load()?;
    let cache = tempfile::tempdir()?;
    println!("## B-git: new-commit check (median of {N})\n");
    println!("| transport | baton remote_head | git ls-remote | ratio |");
    println!("| --- | --- | --- | --- |");
    for (name, base) in [
        ("smart HTTP", &rig.git_http_base),
        ("git://", &rig.git_daemon_base),
    ] {
        let url = format!("{base}/{}", rig.chart_source_repo);
        let watch = GitWatch::for_values(&url, &rig.git_branch, ".", &["dev"], cache.path())?;
        let git = Git::new();
        let mut v = Vec::new();
        for _ in 0..N {
            let t = Instant::now();
            watch
                .remote_head(&git)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no branch"))?;
            v.push(t.elapsed());
        }
        let baton = median(v);
        let cli = median_command(N, || {
            let mut c = Command::new("git");
            c.args(["ls-remote", &url, &format!("refs/heads/{}", rig.git_branch)]);
            c
        })?;
        println!(
            "| {name} | {} | {} | {:.2}x |",
            ms(baton),
            ms(cli),
            baton.as_secs_f64() / cli.as_secs_f64()
        );
    }
    Ok(())
}
