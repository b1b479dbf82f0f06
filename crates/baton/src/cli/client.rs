//! The operator verbs that talk to a daemon's HTTP API.

use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::promote::artifacts::short;

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

async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    crate::install_crypto_provider();
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
    let json: Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "the daemon answered {status} with non-JSON: {}",
            text.chars().take(200).collect::<String>()
        )
    })?;
    if !status.is_success() {
        let detail = json["detail"].as_str().unwrap_or("no detail");
        let hint = if status == reqwest::StatusCode::UNAUTHORIZED && server.token.is_none() {
            " (set BATON_TOKEN)"
        } else {
            ""
        };
        bail!("{detail}{hint} (HTTP {status})");
    }
    Ok(json)
}

/// `baton status [--json]`.
pub(super) async fn status(server: &Server, json: bool) -> anyhow::Result<()> {
    let v = call(server, reqwest::Method::GET, "/v1/status", None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    print!("{}", render_status(&v));
    Ok(())
}

/// `baton status PRODUCT [--output json]`: the environment matrix.
pub(super) async fn environments(server: &Server, product: &str, json: bool) -> anyhow::Result<()> {
    let path = format!("/v1/products/{product}/environments");
    let v = call(server, reqwest::Method::GET, &path, None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", super::matrix::render(&v));
    }
    Ok(())
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

/// The status JSON as text tables, then per product the last chart decision and failing
/// sources.
pub(super) fn render_status(v: &Value) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "{:16} {:10} {:12} {:20} {}\n",
        "PRODUCT", "ENV", "CHART", "VALUES", "DELIVERED"
    ));
    let empty = Vec::new();
    let products = v["products"].as_array().unwrap_or(&empty);
    for p in products {
        for e in p["environments"].as_array().unwrap_or(&empty) {
            let d = &e["delivered"];
            out.push_str(&format!(
                "{:16} {:10} {:12} {:20} {}\n",
                s(&p["name"]),
                s(&e["name"]),
                s(&d["chart_version"]),
                short(s(&d["values_digest"])),
                s(&d["delivered_at"])
            ));
        }
    }
    out.push_str(&format!(
        "\n{:16} {:12} {:20} {:10} {}\n",
        "PRODUCT", "IMAGE", "BASE SEEN", "LAST BUILD", "IMAGE DIGEST"
    ));
    for p in products {
        for i in p["images"].as_array().unwrap_or(&empty) {
            let b = &i["last_build"];
            let build = b["build_number"]
                .as_i64()
                .map(|n| format!("#{n}"))
                .unwrap_or_else(|| s(&b["kind"]).to_owned());
            out.push_str(&format!(
                "{:16} {:12} {:20} {:10} {}\n",
                s(&p["name"]),
                s(&i["name"]),
                short(s(&i["base_seen"]["value"])),
                build,
                short(s(&b["image_digest"]))
            ));
        }
    }
    if let Some(pending) = v["pending_judgments"].as_array() {
        out.push_str(&format!(
            "\n{:16} {:10} {:38} {:24} {}\n",
            "PRODUCT", "ENV", "WAITING EXECUTION", "STAGE", "EVENT"
        ));
        if pending.is_empty() {
            out.push_str("(no execution waits for a manual judgment)\n");
        }
        for j in pending {
            out.push_str(&format!(
                "{:16} {:10} {:38} {:24} {}\n",
                s(&j["product"]),
                s(&j["environment"]),
                s(&j["execution_id"]),
                s(&j["stage_name"]),
                s(&j["baton_event"])
            ));
        }
    }
    if let Some(e) = v["pending_judgments_error"].as_str() {
        out.push_str(&format!("\npending judgments unknown: {e}\n"));
    }
    let mut notes = String::new();
    for p in products {
        if let Some(detail) = p["last_chart_event"]["detail"].as_str() {
            notes.push_str(&format!(
                "{} last chart decision: {detail}\n",
                s(&p["name"])
            ));
        }
        if let Some(errors) = p["source_errors"].as_object() {
            for (source, e) in errors {
                notes.push_str(&format!(
                    "{} source {source} failing (last at {}): {}\n",
                    s(&p["name"]),
                    s(&e["at"]),
                    s(&e["error"])
                ));
            }
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        out.push_str(&notes);
    }
    let o = &v["outbox"];
    out.push_str(&format!(
        "\noutbox: {} pending, {} dead, {} delivered (kept), {} superseded\n",
        o["pending"], o["dead"], o["delivered"], o["superseded"]
    ));
    out.push_str(&crate::ha::status::render(&v["replicas"]));
    out
}

/// `baton sync PRODUCT`.
pub(super) async fn sync(
    server: &Server,
    product: &str,
    force: bool,
    commit: Option<String>,
) -> anyhow::Result<()> {
    let body = serde_json::json!({"force": force, "commit": commit});
    let v = call(
        server,
        reqwest::Method::POST,
        &format!("/v1/products/{product}/sync"),
        Some(body),
    )
    .await?;
    println!("sync of {product} accepted: event {}", s(&v["event_id"]));
    Ok(())
}

/// `baton rebuild PRODUCT IMAGE`.
pub(super) async fn rebuild(server: &Server, product: &str, image: &str) -> anyhow::Result<()> {
    let v = call(
        server,
        reqwest::Method::POST,
        &format!("/v1/products/{product}/images/{image}/rebuild"),
        None,
    )
    .await?;
    println!(
        "rebuild of {product}/{image} accepted: event {}",
        s(&v["event_id"])
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
    let body = serde_json::json!({"stop": stop, "input": input, "force": force});
    let v = call(
        server,
        reqwest::Method::POST,
        &format!("/v1/products/{product}/environments/{env}/promote"),
        Some(body),
    )
    .await?;
    let what = if stop { "stopped" } else { "continued" };
    println!(
        "{product}/{env}: {what} execution {} (stage {}) as {}; recorded as event {}",
        s(&v["execution_id"]),
        s(&v["stage_id"]),
        s(&v["by"]),
        s(&v["event_id"])
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
            let v = call(server, reqwest::Method::GET, &path, None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            println!(
                "{:>6} {:10} {:8} {:40} {:25} LAST ERROR",
                "ID", "STATE", "ATTEMPTS", "TARGET", "NEXT ATTEMPT"
            );
            for r in v["records"].as_array().into_iter().flatten() {
                println!(
                    "{:>6} {:10} {:8} {:40} {:25} {}",
                    r["id"],
                    s(&r["state"]),
                    r["attempts"],
                    s(&r["target"]),
                    s(&r["next_attempt_at"]),
                    s(&r["last_error"])
                );
            }
        }
        A::Retry { id } => {
            call(
                server,
                reqwest::Method::POST,
                &format!("/v1/outbox/{id}/retry"),
                None,
            )
            .await?;
            println!("outbox record {id} is due again");
        }
        A::Drop { id } => {
            call(
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
    let v = call(server, reqwest::Method::GET, &path, None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{}", crate::explain::text::render(&v));
    }
    Ok(())
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
    let v = call(server, reqwest::Method::GET, &path, None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    print!("{}", crate::explain::text::events(&v));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_names_the_last_chart_decision_and_failing_sources() {
        let v = serde_json::json!({
            "products": [{"name": "micro-gw", "environments": [], "images": [],
                "last_chart_event": {"detail": "rejected at commit abc: mgw/values-prod.yaml line 4 column 3: invalid YAML"},
                "source_errors": {"chart-source:micro-gw": {"at": "2026-11-29T12:00:00Z", "error": "git ls-remote: connection refused"}}}],
            "outbox": {"pending": 0, "dead": 0, "delivered": 1}
        });
        let text = render_status(&v);
        assert!(
            text.contains(
                "micro-gw last chart decision: rejected at commit abc: mgw/values-prod.yaml line 4"
            ),
            "{text}"
        );
        assert!(text.contains(
            "micro-gw source chart-source:micro-gw failing (last at 2026-11-29T12:00:00Z): git ls-remote: connection refused"
        ), "{text}");
    }
}
