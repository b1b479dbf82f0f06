//! B-helm: a ~26 MB index.yaml in the rig's HTTP repo; find + download one chart with baton
//! (one process per run) vs `helm pull --repo` (helm v4): wall time and peak RSS; then the
//! unchanged index costs exactly one 304.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use baton_sources::CheckOutcome;
use baton_sources::helm::{ChartWatch, HelmClient, VersionSpec};
use baton_sources::registry::Registries;
use sha2::Digest as _;
use testkit::rig::Rig;

use super::timing::{median, ms, time_and_rss};

const RUNS: usize = 5;
const FOLDER: &str = "bench-big";

/// Writes `<helm_repo_dir>/bench-big/index.yaml`: 200 charts x 125 versions, Bitnami-shaped
/// entries, plus the rig's real chart (absolute URL, real digest).
pub fn helm_prepare() -> anyhow::Result<()> {
    let rig = Rig::load()?;
    let tgz_name = format!("{}-{}.tgz", rig.chart_name, rig.chart_version);
    let tgz = std::fs::read(rig.helm_repo_dir.join(&tgz_name)).context("seeded chart")?;
    let digest = hex::encode(sha2::Sha256::digest(&tgz));
    let mut s = String::with_capacity(27 << 20);
    s.push_str("apiVersion: v1\nentries:\n");
    let entry = |s: &mut String, name: &str, version: &str, url: &str, digest: &str| {
        let _ = write!(
            s,
            "  - annotations:\n      category: Infrastructure\n      images: |\n        - name: {name}\n          image: docker.io/bitnami/{name}:{version}-debian-12-r0\n      licenses: Apache-2.0\n    apiVersion: v2\n    appVersion: {version}\n    created: \"2025-01-01T00:00:00.000000000Z\"\n    dependencies:\n    - name: common\n      repository: oci://registry-1.docker.io/bitnamicharts\n      tags:\n      - bitnami-common\n      version: 2.x.x\n    description: {name} is a benchmark chart standing in for a large public repository entry.\n    digest: {digest}\n    home: https://bitnami.com\n    icon: https://bitnami.com/assets/stacks/{name}/img/{name}-stack-220x234.png\n    keywords:\n    - {name}\n    - benchmark\n    maintainers:\n    - name: Broadcom, Inc. All Rights Reserved.\n      url: https://github.com/bitnami/charts\n    name: {name}\n    sources:\n    - https://github.com/bitnami/charts/tree/main/bitnami/{name}\n    urls:\n    - {url}\n    version: {version}\n"
        );
    };
    for c in 0..200 {
        let name = format!("chart{c:03}");
        let _ = writeln!(s, "  {name}:");
        for v in 0..125 {
            let version = format!("{}.{}.{}", v / 30, (v / 5) % 6, v % 5);
            let fake = hex::encode(sha2::Sha256::digest(format!("{name}{version}")));
            entry(
                &mut s,
                &name,
                &version,
                &format!("https://charts.example.invalid/{name}-{version}.tgz"),
                &fake,
            );
        }
        if c == 100 {
            let _ = writeln!(s, "  {}:", rig.chart_name);
            let url = format!("{}/{tgz_name}", rig.helm_repo_url);
            entry(&mut s, &rig.chart_name, &rig.chart_version, &url, &digest);
        }
    }
    s.push_str("generated: \"2025-01-01T00:00:00Z\"\n");
    let dir = rig.helm_repo_dir.join(FOLDER);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("index.yaml"), &s)?;
    eprintln!(
        "wrote {} ({:.1} MB)",
        dir.join("index.yaml").display(),
        s.len() as f64 / 1e6
    );
    Ok(())
}

/// A client with an empty cache in `cache`, and the watch of `chart` `version` at `url`.
fn cold(
    cache: &tempfile::TempDir,
    url: &str,
    chart: &str,
    version: &str,
) -> anyhow::Result<(HelmClient, ChartWatch)> {
    let client = HelmClient::new(
        cache.path().to_path_buf(),
        Arc::new(Registries::default()),
        &[],
        Duration::from_secs(60),
    )?;
    let watch = ChartWatch {
        repository: url.to_owned(),
        name: chart.to_owned(),
        version: VersionSpec::parse(version)?,
        prereleases: false,
    };
    Ok((client, watch))
}

/// One cold find + download, as a process of its own (for peak RSS).
pub async fn helm_once(url: &str, chart: &str, version: &str) -> anyhow::Result<()> {
    let cache = tempfile::tempdir()?;
    let (client, watch) = cold(&cache, url, chart, version)?;
    let obs = watch.observe(&client, None).await?;
    println!("{} {} {}", obs.name, obs.version, obs.digest);
    Ok(())
}

pub async fn helm_bench() -> anyhow::Result<()> {
    let rig = Rig::load()?;
    let index = rig.helm_repo_dir.join(FOLDER).join("index.yaml");
    if !index.exists() {
        helm_prepare()?;
    }
    let size = std::fs::metadata(&index)?.len();
    let url = format!("{}/{FOLDER}", rig.helm_repo_url);
    let me = std::env::current_exe()?;
    let me = me.to_str().context("exe path")?;
    let (mut bw, mut br, mut hw, mut hr) = (Vec::new(), 0u64, Vec::new(), 0u64);
    let (mut cw, mut cr) = (Vec::new(), 0u64);
    let index_url = format!("{url}/index.yaml");
    let tgz_url = format!(
        "{}/{}-{}.tgz",
        rig.helm_repo_url, rig.chart_name, rig.chart_version
    );
    for _ in 0..RUNS {
        // The floor: one curl process downloading the whole index and the chart, no parsing.
        let (w, r) = time_and_rss(
            "curl",
            &[
                "-sf",
                "-o",
                "/dev/null",
                &index_url,
                "-o",
                "/dev/null",
                &tgz_url,
            ],
            &[],
        )?;
        cw.push(w);
        cr = cr.max(r);
        let (w, r) = time_and_rss(
            me,
            &["helm-once", &url, &rig.chart_name, &rig.chart_version],
            &[],
        )?;
        bw.push(w);
        br = br.max(r);
        let home = tempfile::tempdir()?;
        let h = home.path().to_str().context("path")?;
        let (cache, config, data, out) = (
            format!("{h}/cache"),
            format!("{h}/config"),
            format!("{h}/data"),
            format!("{h}/out"),
        );
        std::fs::create_dir_all(&out)?;
        let helm = rig.helm_v4.to_str().context("helm path")?;
        let (w, r) = time_and_rss(
            helm,
            &[
                "pull",
                "--repo",
                &url,
                &rig.chart_name,
                "--version",
                &rig.chart_version,
                "-d",
                &out,
            ],
            &[
                ("HELM_CACHE_HOME", &cache),
                ("HELM_CONFIG_HOME", &config),
                ("HELM_DATA_HOME", &data),
            ],
        )?;
        hw.push(w);
        hr = hr.max(r);
    }
    let (bw, hw, cw) = (median(bw), median(hw), median(cw));
    println!(
        "## B-helm: index.yaml of {:.1} MB, find + download {} {} (median of {RUNS} cold runs, max peak RSS)\n",
        size as f64 / 1e6,
        rig.chart_name,
        rig.chart_version
    );
    println!("| tool | wall | peak RSS |");
    println!("| --- | --- | --- |");
    println!(
        "| baton (bench helm-once, own process) | {} | {:.1} MiB |",
        ms(bw),
        br as f64 / 1024.0
    );
    println!(
        "| helm v4 pull --repo | {} | {:.1} MiB |",
        ms(hw),
        hr as f64 / 1024.0
    );
    println!(
        "| curl -o /dev/null index + chart (floor) | {} | {:.1} MiB |",
        ms(cw),
        cr as f64 / 1024.0
    );
    println!(
        "\nbaton / curl wall: {:.2}x; helm / baton wall: {:.2}x\n",
        bw.as_secs_f64() / cw.as_secs_f64(),
        hw.as_secs_f64() / bw.as_secs_f64()
    );

    let body = std::fs::read(&index)?;
    let t = std::time::Instant::now();
    let fast = baton_sources::helm::parse_index(&body, &rig.chart_name, "index")?;
    let fast_took = t.elapsed();
    let t = std::time::Instant::now();
    let none = baton_sources::helm::parse_index(&body, "no-such-chart", "index")?;
    let whole_took = t.elapsed();
    anyhow::ensure!(fast.len() == 1 && none.is_empty());
    println!(
        "in-process parse of the {:.1} MB index: chart block cut out by indentation {}; an absent chart (Helm's layout: the scan alone answers) {}\n",
        size as f64 / 1e6,
        ms(fast_took),
        ms(whole_took)
    );

    let cache = tempfile::tempdir()?;
    let (client, watch) = cold(&cache, &url, &rig.chart_name, &rig.chart_version)?;
    let first = watch.check(&client, None).await;
    let obs = first
        .outcome
        .current()
        .cloned()
        .context("first check failed")?;
    let second = watch.check(&client, Some(&obs)).await;
    anyhow::ensure!(
        matches!(second.outcome, CheckOutcome::Unchanged { .. }),
        "second check: {:?}",
        second.outcome
    );
    let c = client.request_counts();
    println!(
        "unchanged index: first check {} (index 200 + download), second check {} — requests: {c:?}",
        ms(first.took),
        ms(second.took)
    );
    Ok(())
}
