//! Scale properties of the base-image checks (issue 13), on the rig's registry with real time
//! (a cron of every second): unchanged cycles touch no row of the state, and the check counter
//! equals the HEADs the registry clients sent. Speed and memory are bench/run-scale's job.

use baton_harness::flow;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use sqlx::Row as _;
use testkit::rig::Rig;

const IMAGES: usize = 20;

/// Sums the samples of `metric` whose line contains every one of `with`.
pub fn sum(metrics: &str, metric: &str, with: &[&str]) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(metric) && with.iter().all(|w| l.contains(w)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

pub async fn metrics(url: &str) -> String {
    reqwest::get(format!("{url}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text")
}

/// Every row of the tables a check may touch: observations and leases.
async fn state_rows(db: &Path) -> BTreeMap<String, String> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", db.display());
    let pool = sqlx::AnyPool::connect(&url).await.expect("open the state");
    let mut rows = BTreeMap::new();
    for (table, sql) in [
        (
            "observations",
            "SELECT source AS k, value || '@' || CAST(observed_at AS TEXT) AS v FROM observations",
        ),
        (
            "leases",
            "SELECT name AS k, COALESCE(owner, '') || '@' || CAST(lease_until AS TEXT) AS v FROM leases",
        ),
    ] {
        for r in sqlx::query(sql).fetch_all(&pool).await.expect(table) {
            let k: String = r.get("k");
            rows.insert(format!("{table}:{k}"), r.get::<String, _>("v"));
        }
    }
    pool.close().await;
    rows
}

/// Writes a config with `products` (YAML under `products:`) against the registry `reg`, with
/// Jenkins and Spinnaker pointing nowhere and the state at `state` (`None`: a SQLite file
/// `baton.db` in `dir`), and starts the daemon on it; returns it with its URL.
pub async fn start(
    dir: &Path,
    state: Option<&str>,
    reg: &str,
    products: &str,
) -> (flow::Daemon, String) {
    std::fs::write(dir.join("api-tokens"), "scale-test-token\n").unwrap();
    std::fs::write(dir.join("jenkins-token"), "x\n").unwrap();
    let file = dir.join("baton.yaml");
    std::fs::write(
        &file,
        format!(
            "state: {state}\nlisten: 127.0.0.1:0\napi_tokens_file: api-tokens\n\
             jenkins: {{url: \"http://127.0.0.1:9\", user: baton, token_file: jenkins-token}}\n\
             spinnaker: {{gate_url: \"http://127.0.0.1:9\"}}\n\
             registries:\n  - {{host: \"{reg}\", insecure: true}}\nproducts:\n{products}",
            state = match state {
                Some(s) => s.to_owned(),
                None => format!("sqlite://{}", dir.join("baton.db").display()),
            }
        ),
    )
    .unwrap();
    let daemon = flow::Daemon::start(&file).await;
    let url = daemon.url.clone();
    (daemon, url)
}

/// One image line of a product's `images:` list, checked by `cron`.
pub fn image(reg: &str, name: &str, base: &str, cron: &str) -> String {
    format!(
        "      - {{name: {name}, base: \"{reg}/{base}\", check: \"{cron}\", target: \"{reg}/acme/{name}\", jenkins_job: p/{name}}}\n"
    )
}

/// Pushes tags `t0`, `t1`… of a new repository under `prefix` to the rig's registry; returns
/// the `images:` entries of a product `p` watching each on `cron`.
pub async fn watched_tags(rig: &Rig, prefix: &str, n: usize, cron: &str) -> String {
    let repo = format!("{prefix}/{:08x}", rand::random::<u32>());
    let mut images = String::from("  - name: p\n    images:\n");
    for i in 0..n {
        rig.push_image(&rig.registry, &repo, &format!("t{i}"), &format!("seed{i}"))
            .await
            .unwrap();
        let base = format!("{repo}:t{i}");
        images.push_str(&image(&rig.registry, &format!("i{i}"), &base, cron));
    }
    images
}

/// Waits (at most 10 s) until the base-image checks the daemons at `urls` counted equal the
/// HEADs they sent (a check in flight has sent its HEAD but is not counted yet); returns the
/// count.
pub async fn until_checks_equal_heads(urls: &[String]) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (mut checks, mut heads) = (0, 0);
        for url in urls {
            let m = metrics(url).await;
            checks += sum(&m, "baton_source_checks_total", &["source=\"base-image:"]);
            let head = ["method=\"HEAD\"", "status=\"200\""];
            heads += sum(&m, "baton_registry_requests_total", &head);
        }
        if checks == heads {
            return checks;
        }
        assert!(
            Instant::now() < deadline,
            "checks {checks} != HEADs {heads}"
        );
        tokio::time::sleep(Duration::from_millis(37)).await;
    }
}

/// Waits (bounded) until the unchanged-check count reaches `n`; returns the metrics text.
pub async fn until_unchanged(url: &str, n: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = metrics(url).await;
        if sum(&m, "baton_source_checks_total", &["outcome=\"unchanged\""]) >= n {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no {n} unchanged checks in 60 s:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_cycles_write_nothing_and_the_counter_equals_the_heads_sent() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().unwrap();
    let images = watched_tags(&rig, "scale-test", IMAGES, "* * * * * *").await;
    let db = dir.path().join("baton.db");
    let (handle, url) = start(dir.path(), None, &rig.registry, &images).await;

    // The first cycle records the baselines; after one unchanged cycle the state is settled.
    let n = IMAGES as u64;
    until_unchanged(&url, n).await;
    let before = state_rows(&db).await;
    assert!(
        before
            .keys()
            .filter(|k| k.starts_with("observations:"))
            .count()
            >= IMAGES,
        "{before:?}"
    );
    let m = until_unchanged(&url, 4 * n).await;
    assert_eq!(
        state_rows(&db).await,
        before,
        "three unchanged cycles touched rows of the state"
    );
    assert_eq!(
        sum(&m, "baton_source_checks_total", &["outcome=\"error\""]),
        0,
        "{m}"
    );

    // Counters equal the checks made: every check is one HEAD, and each is counted once.
    let checks = until_checks_equal_heads(std::slice::from_ref(&url)).await;
    assert!(checks >= 5 * n, "{checks} checks");
    handle.stop().await.expect("the daemon stops");
}

/// 10,000 watched tags on a registry that refuses connections (each check retries with
/// backoff, so the first cycle takes minutes): the daemon is ready, and answers `/readyz`,
/// while that first cycle is still running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_tags_answer_readyz_before_the_first_cycle_ends() {
    let dir = tempfile::tempdir().unwrap();
    let mut products = String::new();
    for p in 0..100 {
        products.push_str(&format!("  - name: p{p}\n    images:\n"));
        for i in 0..100 {
            products.push_str(&image(
                "127.0.0.1:9",
                &format!("i{i}"),
                &format!("b/p{p}:i{i}"),
                "* * * * *",
            ));
        }
    }
    let (handle, url) = start(dir.path(), None, "127.0.0.1:9", &products).await;
    let ready = reqwest::get(format!("{url}/readyz"))
        .await
        .expect("GET /readyz");
    assert_eq!(ready.status(), 200);
    let m = metrics(&url).await;
    let checks = sum(&m, "baton_source_checks_total", &["source=\"base-image:"]);
    assert!(
        checks < 10_000,
        "the first cycle ({checks} checks) ended before the daemon answered /readyz"
    );
    handle.stop().await.expect("the daemon stops");
}

/// A registry answering 429 with `Retry-After` of a day: one request, then the whole registry
/// pauses (for at most the 10-minute cap, proven in baton-sources' rate tests); every check
/// meanwhile is counted as `paused`, not as a failed check to warn about.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_a_far_retry_after_pauses_the_registry_without_errors() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            (
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "86400")],
                "slow down",
            )
        }
    });
    let registry = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let reg = registry.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(registry, app).await });

    let dir = tempfile::tempdir().unwrap();
    let mut images = String::from("  - name: p\n    images:\n");
    for i in 0..IMAGES {
        images.push_str(&image(
            &reg,
            &format!("i{i}"),
            &format!("b:i{i}"),
            "* * * * * *",
        ));
    }
    let (handle, url) = start(dir.path(), None, &reg, &images).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = metrics(&url).await;
        let paused = sum(&m, "baton_source_checks_total", &["outcome=\"paused\""]);
        assert_eq!(
            sum(&m, "baton_source_checks_total", &["outcome=\"error\""]),
            0,
            "{m}"
        );
        if paused >= 3 * IMAGES as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "{paused} paused checks:\n{m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Concurrent first checks may each have met the 429 before the pause opened; after that,
    // nothing reaches the registry.
    let sent = hits.load(Ordering::SeqCst);
    assert!(
        (1..=8).contains(&sent),
        "{sent} requests reached the registry"
    );
    // Two more cycles of checks decide "paused": wait for those decisions, then no request
    // may have reached the registry meanwhile.
    let paused_then = sum(
        &metrics(&url).await,
        "baton_source_checks_total",
        &["outcome=\"paused\""],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = metrics(&url).await;
        let paused = sum(&m, "baton_source_checks_total", &["outcome=\"paused\""]);
        if paused >= paused_then + 2 * IMAGES as u64 {
            break;
        }
        assert!(Instant::now() < deadline, "{paused} paused checks:\n{m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        sent,
        "requests during the pause"
    );
    handle.stop().await.expect("the daemon stops");
}
