//! Side-by-side benchmarks of the sources against the rig (`scripts/rig up` first; see
//! `bench/README.md`). Not a test: it prints figures.
//!
//! ```text
//! cargo run --release -p baton-sources --example bench -- registry [TAGS]
//! cargo run --release -p baton-sources --example bench -- helm-prepare   # writes the big index
//! cargo run --release -p baton-sources --example bench -- helm-once URL CHART VERSION
//! cargo run --release -p baton-sources --example bench -- helm
//! cargo run --release -p baton-sources --example bench -- git
//! ```

mod bench_support;

use bench_support::{git_bench, helm_bench, helm_once, helm_prepare, registry_bench};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    baton_sources::install_crypto_provider();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("registry") => registry_bench(args.get(1).map_or(Ok(1000), |s| s.parse())?).await,
        Some("helm-prepare") => helm_prepare(),
        Some("helm-once") if args.len() == 4 => helm_once(&args[1], &args[2], &args[3]).await,
        Some("helm") => helm_bench().await,
        Some("git") => git_bench().await,
        _ => anyhow::bail!(
            "usage: bench registry [TAGS] | helm-prepare | helm-once URL CHART VERSION | helm | git"
        ),
    }
}
