//! The demo's walkthrough, each step observed at the stand-ins or baton's API.

use anyhow::Context as _;
use serde_json::{Value, json};
use testkit::jenkins::FakeJenkins;
use testkit::spinnaker::FakeSpinnaker;

use super::daemon::{Daemon, GitRepo};
use super::servers::{Registry, sha256};
use super::{APP, DEV2, JOB, PROD, STAGING2, STEP, Timeline, short, wait_for};

const BASE_SOURCE: &str = "base-image:micro-gw/petstore";

/// Value of the Prometheus sample `sample` at baton's `/metrics`, 0 if absent.
async fn metric(d: &Daemon, sample: &str) -> anyhow::Result<f64> {
    let text = d.metrics().await?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap_or(0.0)))
}

/// The webhooks of `source` the Spinnaker stand-in received, as JSON.
fn webhooks(spinnaker: &FakeSpinnaker, source: &str) -> Vec<Value> {
    let path = format!("/webhooks/webhook/{source}");
    spinnaker
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .filter_map(|r| serde_json::from_slice(&r.body).ok())
        .collect()
}

/// Waits until `env` is deployed with `values`; prints chart and values digests.
async fn deployed(t: &Timeline, s: &FakeSpinnaker, env: &str, values: &str) -> anyhow::Result<()> {
    let ns = format!("{APP}-{env}");
    let dep = wait_for(
        &format!("{env} deployed at the Spinnaker stand-in"),
        || async {
            Ok(s.deployed(APP, &ns).filter(|d| {
                d.values
                    .iter()
                    .any(|v| v.bytes.as_deref() == Some(values.as_bytes()))
            }))
        },
    )
    .await?;
    let chart = dep
        .chart
        .as_ref()
        .map(|c| {
            let name = c.artifact.name.clone().unwrap_or_default();
            let digest = c.bytes.as_deref().map(sha256).unwrap_or_default();
            format!("{name} {}", short(&digest))
        })
        .unwrap_or_else(|| "-".into());
    t.say(&format!(
        "{env} deployed: namespace {ns}, chart {chart}, values-{env}.yaml {} (execution {})",
        short(&sha256(values.as_bytes())),
        dep.execution_id
    ));
    Ok(())
}

/// values change -> dev; staging waits -> promote -> staging; base moved -> rebuild -> image;
/// then the environment matrix.
pub(super) async fn run(
    t: &Timeline,
    d: &Daemon,
    git: &GitRepo,
    registry: &Registry,
    jenkins: &FakeJenkins,
    spinnaker: &FakeSpinnaker,
) -> anyhow::Result<()> {
    // First sight of the chart and of the base image is a baseline: nothing is sent.
    wait_for("baton's baseline of the chart source", || async {
        let events = d.get(&format!("/v1/events?product={APP}&limit=50")).await?;
        Ok(events["events"].as_array().and_then(|e| {
            e.iter()
                .find(|e| {
                    e["detail"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("baseline"))
                })
                .cloned()
        }))
    })
    .await?;
    let sample =
        format!("baton_source_checks_total{{source=\"{BASE_SOURCE}\",outcome=\"baseline\"}}");
    wait_for("baton's baseline of the base image", || async {
        Ok((metric(d, &sample).await? >= 1.0).then_some(()))
    })
    .await?;
    t.say("baseline recorded for the chart source and the base image (nothing sent)");

    // 1. A values change for dev and staging.
    let commit = git
        .commit(
            &[
                ("micro-gw/values-dev.yaml", DEV2),
                ("micro-gw/values-staging.yaml", STAGING2),
                ("micro-gw/values-prod.yaml", PROD),
            ],
            "log: debug in dev and staging",
        )
        .await?;
    t.say(&format!(
        "values change committed {}: micro-gw/values-dev.yaml, micro-gw/values-staging.yaml",
        &commit[..commit.len().min(10)]
    ));
    let event = wait_for("the chart event at the Spinnaker stand-in", || async {
        Ok(webhooks(spinnaker, "chart").into_iter().next())
    })
    .await?;
    t.say(&format!(
        "chart event at Spinnaker: environments={} ({} artifacts)",
        event["environments"].as_str().unwrap_or("?"),
        event["artifacts"].as_array().map_or(0, Vec::len)
    ));
    deployed(t, spinnaker, "dev", DEV2).await?;

    // 2. Staging waits for its judgment; promote it.
    let (exec, stage) = wait_for("staging waiting for a judgment", || async {
        Ok(spinnaker.executions(APP).into_iter().find_map(|e| {
            let waiting = e.name.as_deref() == Some(&format!("{APP}-deploy-staging"))
                && e.pending_judgment().is_some();
            let stage = e.pending_judgment().and_then(|s| s.name.clone());
            waiting.then(|| (e.id.clone(), stage.unwrap_or_default()))
        }))
    })
    .await?;
    anyhow::ensure!(
        spinnaker.deployed(APP, "micro-gw-staging").is_none(),
        "staging was deployed before its judgment"
    );
    t.say(&format!(
        "staging waiting: execution {exec} waits in {stage:?} (pending judgment)"
    ));
    let answer = d
        .post(
            &format!("/v1/products/{APP}/environments/staging/promote"),
            &json!({"input": "baton demo: dev looks good"}),
        )
        .await?;
    t.say(&format!(
        "promoted staging: judgment continue by {} (execution {})",
        answer["by"].as_str().unwrap_or("?"),
        answer["execution_id"].as_str().unwrap_or("?")
    ));
    deployed(t, spinnaker, "staging", STAGING2).await?;

    // 3. The vendor moves the base tag -> rebuild -> the job reports -> image event.
    let mut builds = jenkins.subscribe();
    let moved = registry.set_tag("vendor/base", "1.0", "base v2");
    t.say(&format!(
        "base image moved: {}/vendor/base:1.0 -> {}",
        registry.host,
        short(&moved)
    ));
    let build = wait_for("the rebuild at the Jenkins stand-in", || async {
        Ok(jenkins
            .builds_of(JOB)
            .into_iter()
            .find(|b| b.params.get("BASE_DIGEST") == Some(&moved)))
    })
    .await?;
    t.say(&format!(
        "rebuild triggered: Jenkins {JOB} #{} with BASE_DIGEST={} CAUSE={}",
        build.number,
        short(&moved),
        build.params.get("CAUSE").map_or("?", String::as_str)
    ));
    let finished = tokio::time::timeout(STEP, async {
        loop {
            match builds.recv().await {
                Ok(ev) if ev.finished && ev.job == JOB && ev.build.number == build.number => {
                    return Ok(ev);
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => return Err(anyhow::anyhow!("Jenkins stand-in events: {e}")),
            }
        }
    })
    .await
    .context("timed out waiting for the Jenkins build to finish")??;
    let n = finished.build.number;
    let built = registry.set_tag(
        "acme/petstore",
        &format!("b{n}"),
        &format!("petstore on {moved}"),
    );
    let reference = format!("{}/acme/petstore@{built}", registry.host);
    d.post(
        &format!("/v1/products/{APP}/images/petstore/built"),
        &json!({
            "reference": reference,
            "tag": format!("b{n}"),
            "event_id": finished.build.params.get("BATON_EVENT"),
        }),
    )
    .await?;
    t.say(&format!(
        "Jenkins build #{n} {}; the job reported acme/petstore@{}",
        finished.build.result.as_deref().unwrap_or("finished"),
        short(&built)
    ));
    let image = wait_for("the image event at the Spinnaker stand-in", || async {
        Ok(webhooks(spinnaker, "image")
            .into_iter()
            .find(|b| b.to_string().contains(&built)))
    })
    .await?;
    t.say(&format!(
        "image event at Spinnaker: {}/acme/petstore@{} (product {})",
        registry.host,
        short(&built),
        image["application"].as_str().unwrap_or("?")
    ));

    // 4. What runs where now: the environment matrix, as `baton status micro-gw` prints it.
    let matrix: baton_daemon::promote::matrix::Matrix =
        serde_json::from_value(d.get(&format!("/v1/products/{APP}/environments")).await?)
            .context("the environment matrix baton answered")?;
    t.say(&format!("environment matrix (baton status {APP}):"));
    for line in crate::cli::matrix::render(&matrix).lines() {
        t.say(&format!("  {line}"));
    }
    Ok(())
}
