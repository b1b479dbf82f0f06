//! B-git: new-commit check, baton (`GitWatch::remote_head`) vs `git ls-remote`, over smart
//! HTTP and git://, next to the lower bound for git://: one raw protocol-v2 `ls-refs` exchange
//! on a `TCP_NODELAY` socket (two writes, two reads, no parsing beyond the pkt-lines).

use std::io::{Read as _, Write as _};
use std::process::Command;
use std::time::{Duration, Instant};

use baton_sources::git::{Git, GitWatch};
use testkit::rig::Rig;

use super::timing::{median, median_command, ms};

const N: usize = 30;

pub async fn git_bench() -> anyhow::Result<()> {
    let rig = Rig::load()?;
    let cache = tempfile::tempdir()?;
    println!("## B-git: new-commit check (median of {N})\n");
    println!(
        "| transport | baton remote_head | git ls-remote | baton / ls-remote | raw socket | baton / raw |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
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
        let raw = match url.strip_prefix("git://") {
            Some(rest) => {
                let (addr, path) = rest.split_once('/').unwrap_or((rest, ""));
                let mut v = Vec::new();
                for _ in 0..N {
                    let t = Instant::now();
                    raw_ls_refs(addr, &format!("/{path}"), &rig.git_branch)?;
                    v.push(t.elapsed());
                }
                Some(median(v))
            }
            None => None,
        };
        let ratio = |a: Duration, b: Duration| format!("{:.2}x", a.as_secs_f64() / b.as_secs_f64());
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            ms(baton),
            ms(cli),
            ratio(baton, cli),
            raw.map_or("-".into(), ms),
            raw.map_or("-".into(), |r| ratio(baton, r)),
        );
    }
    Ok(())
}

/// The lower bound: connect, the v2 request, `ls-refs` for one branch, read to the flush.
fn raw_ls_refs(addr: &str, path: &str, branch: &str) -> anyhow::Result<()> {
    let pkt = |s: &str| {
        let mut v = format!("{:04x}", s.len() + 4).into_bytes();
        v.extend_from_slice(s.as_bytes());
        v
    };
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(&pkt(&format!(
        "git-upload-pack {path}\0host={addr}\0\0version=2\0"
    )))?;
    read_to_flush(&mut s)?;
    let mut req = pkt("command=ls-refs\n");
    req.extend_from_slice(b"0001");
    req.extend(pkt(&format!("ref-prefix refs/heads/{branch}\n")));
    req.extend_from_slice(b"0000");
    s.write_all(&req)?;
    read_to_flush(&mut s)
}

fn read_to_flush(s: &mut std::net::TcpStream) -> anyhow::Result<()> {
    loop {
        let mut len = [0u8; 4];
        s.read_exact(&mut len)?;
        let n = usize::from_str_radix(std::str::from_utf8(&len)?, 16)?;
        if n == 0 {
            return Ok(());
        }
        let mut line = vec![0u8; n.saturating_sub(4)];
        s.read_exact(&mut line)?;
    }
}
