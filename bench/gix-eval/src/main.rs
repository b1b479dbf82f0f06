//! Latency of one protocol-v2 ls-refs: gix (in-process, blocking), `git ls-remote` (process)
//! and a raw socket round trip over git:// with TCP_NODELAY (the lower bound).
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn gix_head(repo: &gix::Repository, url: &str, refname: &str) -> String {
    let remote = repo
        .remote_at(url)
        .unwrap()
        .with_refspecs(Some(format!("+{refname}:{refname}").as_str()), gix::remote::Direction::Fetch)
        .unwrap();
    let conn = remote.connect(gix::remote::Direction::Fetch).unwrap();
    let (map, _) = conn
        .ref_map(gix::progress::Discard, Default::default())
        .unwrap();
    let m = map.mappings.first().expect("ref");
    format!("{:?}", m.remote.as_id().expect("id"))
}

fn pkt(s: &str) -> Vec<u8> {
    let mut v = format!("{:04x}", s.len() + 4).into_bytes();
    v.extend_from_slice(s.as_bytes());
    v
}

/// Reads pkt-lines until a flush (0000); returns the payloads.
fn read_until_flush(r: &mut impl Read) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let mut len = [0u8; 4];
        r.read_exact(&mut len).unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&len).unwrap(), 16).unwrap();
        if n == 0 {
            return out;
        }
        let mut buf = vec![0u8; n - 4];
        r.read_exact(&mut buf).unwrap();
        out.push(String::from_utf8_lossy(&buf).into_owned());
    }
}

fn raw_head(addr: &str, path: &str, refname: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let host = addr;
    s.write_all(&pkt(&format!("git-upload-pack {path}\0host={host}\0\0version=2\0"))).unwrap();
    let _caps = read_until_flush(&mut s);
    let mut req = pkt("command=ls-refs\n");
    req.extend_from_slice(b"0001");
    req.extend(pkt(&format!("ref-prefix {refname}\n")));
    req.extend_from_slice(b"0000");
    s.write_all(&req).unwrap();
    let refs = read_until_flush(&mut s);
    refs.iter()
        .find_map(|l| l.trim_end().split_once(' ').filter(|(_, n)| *n == refname).map(|(o, _)| o.to_string()))
        .expect("ref")
}

fn cli_head(url: &str, refname: &str) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "protocol.version=2", "ls-remote", url, refname])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).split('\t').next().unwrap().to_string()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (daemon, http, path, n) = (&args[1], &args[2], &args[3], args[4].parse::<usize>().unwrap());
    let refname = "refs/heads/main";
    let tmp = std::env::temp_dir().join(format!("gix-eval-{}", std::process::id()));
    let repo = gix::init_bare(&tmp).unwrap();
    let git_url = format!("git://{daemon}{path}");
    let http_url = format!("{http}{path}");
    let want = cli_head(&git_url, refname);
    let mut rows = Vec::new();
    for (name, f) in [
        ("raw socket git:// (TCP_NODELAY, one write per request)", Box::new(|| raw_head(daemon, path, refname)) as Box<dyn Fn() -> String>),
        ("gix 0.90 git://", Box::new(|| gix_head(&repo, &git_url, refname))),
        ("git ls-remote git://", Box::new(|| cli_head(&git_url, refname))),
        ("gix 0.90 smart HTTP", Box::new(|| gix_head(&repo, &http_url, refname))),
        ("git ls-remote smart HTTP", Box::new(|| cli_head(&http_url, refname))),
    ] {
        let mut times = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            let got = f();
            times.push(t.elapsed());
            assert!(got.contains(&want), "{name}: {got} vs {want}");
        }
        rows.push((name, median(times)));
    }
    let base = rows[0].1;
    println!("| client | median ms | vs raw socket |\n| --- | --- | --- |");
    for (name, ms) in rows {
        println!("| {name} | {ms:.2} | {:.2}x |", ms / base);
    }
    let _ = std::fs::remove_dir_all(tmp);
}
