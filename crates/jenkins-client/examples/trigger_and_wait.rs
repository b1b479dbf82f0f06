//! Triggers a parameterized Jenkins job, streams its console and waits for the result.
//!
//! Runs against the Jenkins stand-in; start it first:
//! ```text
//! cargo run -p testkit --bin fake-jenkins -- --spec crates/testkit/examples/fake-jenkins.yaml
//! JENKINS_USER=baton JENKINS_TOKEN=baton-token \
//!   cargo run -p jenkins-client --example trigger_and_wait -- http://127.0.0.1:8081/ \
//!   micro-gw/petstore-image BASE_DIGEST=sha256:0123 CAUSE=manual
//! ```
//! Ctrl-C stops waiting (the build keeps running in Jenkins).

use std::time::Duration;

use futures::StreamExt;
use jenkins_client::{JenkinsClient, JobPath, ParamsIn, WaitOptions};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage =
        "usage: trigger_and_wait URL JOB [NAME=VALUE ...] (JENKINS_USER, JENKINS_TOKEN from env)";
    let url = args.next().ok_or(usage)?;
    let job = JobPath::parse(&args.next().ok_or(usage)?)?;
    let params: Vec<(String, String)> = args
        .map(|a| match a.split_once('=') {
            Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
            None => Err(format!("parameter {a:?} is not NAME=VALUE")),
        })
        .collect::<Result<_, _>>()?;
    let user = std::env::var("JENKINS_USER").map_err(|_| "set JENKINS_USER")?;
    let token =
        SecretString::from(std::env::var("JENKINS_TOKEN").map_err(|_| "set JENKINS_TOKEN")?);

    let client = JenkinsClient::builder(url)
        .credentials(user, token)
        .build()?;
    println!("Jenkins {}", client.version().await?);
    let triggered = if params.is_empty() {
        client.build(&job).await?
    } else {
        client
            .build_with_parameters(&job, &params, ParamsIn::Form)
            .await?
    };
    println!(
        "queue item {}{}",
        triggered.queue_id,
        if triggered.coalesced {
            " (same parameters were already queued)"
        } else {
            ""
        }
    );

    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_signal.cancel();
    });
    let opts = WaitOptions::new(Duration::from_secs(30 * 60), Duration::from_millis(500));
    let exe = client
        .wait_for_start(triggered.queue_id, &opts, &cancel)
        .await?;
    println!("build #{} started", exe.number);
    let mut console = client.console_stream(
        job.clone(),
        exe.number,
        0,
        Duration::from_secs(1),
        cancel.clone(),
    );
    while let Some(chunk) = console.next().await {
        print!("{}", chunk?.text);
    }
    let done = client
        .wait_for_build(triggered.queue_id, &opts, &cancel)
        .await?;
    println!("build #{} finished: {}", done.build.number, done.result);
    Ok(())
}
