//! The operator verbs that talk to a daemon's HTTP API. Requests and answers are the API's
//! own types ([`baton_daemon::api::types`]), so the CLI decodes exactly what the daemon sends.

use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use baton_daemon::api::types::{
    Accepted, DropAnswer, ErrorBody, EventsAnswer, ExplainAnswer, OutboxAnswer, PromoteAnswer,
    PromoteBody, RetryAnswer, StatusAnswer, SyncRequest,
};
use baton_daemon::promote::matrix::Matrix;

/// Where the daemon is and how to authenticate.
#[derive(Debug, clap::Args)]
pub struct Server {
    /// The daemon's base URL.
    #[arg(
        long = "server",
        env = "BATON_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// API token: a line of the daemon's api_tokens_file (the part after `NAME:` if it has one).
    #[arg(long, env = "BATON_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<SecretString>,
}

/// Calls the daemon with `body` as JSON and decodes its answer into `T`; an error answer
/// becomes its `detail`.
async fn call<T: DeserializeOwned>(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<T> {
    baton_daemon::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .context("building the HTTP client")?;
    let url = format!("{}{path}", server.url.trim_end_matches('/'));
    let mut req = http.request(method, &url);
    if let Some(t) = &server.token {
        req = req.bearer_auth(t.expose_secret());
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.with_context(|| {
        format!(
            "cannot reach the daemon at {} (--server / BATON_SERVER)",
            server.url
        )
    })?;
    let status = resp.status();
    let text = resp.text().await.context("reading the daemon's answer")?;
    let excerpt = || text.chars().take(200).collect::<String>();
    if !status.is_success() {
        let detail = serde_json::from_str::<ErrorBody>(&text)
            .map(|e| e.detail)
            .with_context(|| {
                format!("the daemon answered {status} with non-JSON: {}", excerpt())
            })?;
        let hint = if status == reqwest::StatusCode::UNAUTHORIZED && server.token.is_none() {
            " (set BATON_TOKEN)"
        } else {
            ""
        };
        bail!("{detail}{hint} (HTTP {status})");
    }
    let de = &mut serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        anyhow::anyhow!(
            "the daemon answered {status} with JSON this baton cannot read at {}: {} ({}); \
             is the daemon the same version?",
            e.path(),
            e.inner(),
            excerpt()
        )
    })
}

/// `v` as indented JSON on stdout.
fn print_json(v: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// `v` as the JSON value the text renderers shared with the demo and the dashboard read.
fn as_value(v: &impl Serialize) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::to_value(v)?)
}

/// GETs `path` and prints the answer: as indented JSON with `json`, else as `render` shows it.
async fn show<T: DeserializeOwned + Serialize, D: std::fmt::Display>(
    server: &Server,
    path: &str,
    json: bool,
    render: impl FnOnce(&T) -> D,
) -> anyhow::Result<()> {
    let v: T = call(server, reqwest::Method::GET, path, None).await?;
    if json {
        return print_json(&v);
    }
    print!("{}", render(&v));
    Ok(())
}

/// `baton status [--json]`.
pub(super) async fn status(server: &Server, json: bool) -> anyhow::Result<()> {
    show(server, "/v1/status", json, |v: &StatusAnswer| {
        super::status::render(v)
    })
    .await
}

/// `baton status PRODUCT [--output json]`: the environment matrix.
pub(super) async fn environments(server: &Server, product: &str, json: bool) -> anyhow::Result<()> {
    let path = format!("/v1/products/{product}/environments");
    show(server, &path, json, |v: &Matrix| super::matrix::render(v)).await
}

/// `baton sync PRODUCT`.
pub(super) async fn sync(
    server: &Server,
    product: &str,
    force: bool,
    commit: Option<String>,
) -> anyhow::Result<()> {
    let body = as_value(&SyncRequest { commit, force })?;
    let v: Accepted = call(
        server,
        reqwest::Method::POST,
        &format!("/v1/products/{product}/sync"),
        Some(body),
    )
    .await?;
    println!("sync of {product} accepted: event {}", v.event_id);
    Ok(())
}

/// `baton rebuild PRODUCT IMAGE`.
pub(super) async fn rebuild(server: &Server, product: &str, image: &str) -> anyhow::Result<()> {
    let v: Accepted = call(
        server,
        reqwest::Method::POST,
        &format!("/v1/products/{product}/images/{image}/rebuild"),
        None,
    )
    .await?;
    println!(
        "rebuild of {product}/{image} accepted: event {}",
        v.event_id
    );
    Ok(())
}

/// `baton promote PRODUCT ENV [--stop] [--input TEXT] [--force]`.
pub(super) async fn promote(
    server: &Server,
    product: &str,
    env: &str,
    stop: bool,
    input: Option<String>,
    force: bool,
) -> anyhow::Result<()> {
    let body = as_value(&PromoteBody { input, stop, force })?;
    let v: PromoteAnswer = call(
        server,
        reqwest::Method::POST,
        &format!("/v1/products/{product}/environments/{env}/promote"),
        Some(body),
    )
    .await?;
    let what = if stop { "stopped" } else { "continued" };
    println!(
        "{product}/{env}: {what} execution {} (stage {}) as {}; recorded as event {}",
        v.execution_id, v.stage_id, v.by, v.event_id
    );
    Ok(())
}

/// `baton outbox list|retry|drop`.
pub(super) async fn outbox(
    server: &Server,
    action: super::OutboxAction,
    as_json: bool,
) -> anyhow::Result<()> {
    use super::OutboxAction as A;
    match action {
        A::List { state, json } => {
            let json = json || as_json;
            let path = match &state {
                Some(s) => format!("/v1/outbox?state={s}&limit=500"),
                None => "/v1/outbox?limit=500".to_owned(),
            };
            show(server, &path, json, |v: &OutboxAnswer| {
                super::status::records(&v.records)
            })
            .await?;
        }
        A::Retry { id } => {
            let _: RetryAnswer = call(
                server,
                reqwest::Method::POST,
                &format!("/v1/outbox/{id}/retry"),
                None,
            )
            .await?;
            println!("outbox record {id} is due again");
        }
        A::Drop { id } => {
            let _: DropAnswer = call(
                server,
                reqwest::Method::DELETE,
                &format!("/v1/outbox/{id}"),
                None,
            )
            .await?;
            println!("outbox record {id} dropped");
        }
    }
    Ok(())
}

/// `baton explain PRODUCT`.
pub(super) async fn explain(server: &Server, product: &str, json: bool) -> anyhow::Result<()> {
    let path = format!("/v1/products/{product}/explain");
    show(server, &path, json, |v: &ExplainAnswer| {
        baton_daemon::explain::text::render(v)
    })
    .await
}

/// `baton events [PRODUCT]`.
pub(super) async fn events(
    server: &Server,
    product: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    let path = match product {
        Some(p) => format!("/v1/events?product={p}&limit=100"),
        None => "/v1/events?limit=100".to_owned(),
    };
    show(server, &path, json, |v: &EventsAnswer| {
        baton_daemon::explain::text::events(v)
    })
    .await
}
