//! `GET /openapi.json`: the API described as OpenAPI 3.1 (kept next to the router; a test calls
//! every documented operation to keep the two in step).

use axum::Json;
use serde_json::{Value, json};

use crate::promote::matrix::Matrix;

fn error_response(what: &str) -> Value {
    json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn accepted(schema: Value) -> Value {
    json!({"description": "accepted", "content": {"application/json": {"schema": schema}}})
}

/// The document.
pub fn document() -> Value {
    let product =
        json!({"name": "product", "in": "path", "required": true, "schema": {"type": "string"}});
    let image =
        json!({"name": "image", "in": "path", "required": true, "schema": {"type": "string"}});
    let id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}});
    let event_id = json!({"type": "object", "properties": {"event_id": {"type": "string"}}});
    let errors = json!({
        "400": error_response("the body is not JSON"),
        "401": error_response("no or wrong bearer token"),
        "403": error_response("the caller lacks the right for this action (api.rights)"),
        "404": error_response("no such product, image or record"),
        "409": error_response("conflicts with the current state"),
        "413": error_response("the body is larger than 64 KiB"),
        "422": error_response("the body's content is wrong; detail names the field"),
        "503": error_response("busy or not ready; retry")
    });
    let with_errors = |mut op: Value, ok: (&str, Value)| {
        let mut responses = errors.clone();
        responses[ok.0] = ok.1;
        op["responses"] = responses;
        op["security"] = json!([{"bearer": []}]);
        op
    };
    json!({
        "openapi": "3.1.0",
        "info": {"title": "baton", "version": env!("CARGO_PKG_VERSION")},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas()
        },
        "paths": {
            "/v1/products/{product}/sync": {"post": with_errors(json!({
                "summary": "Run the chart sync of a product now",
                "parameters": [product],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": {"commit": {"type": "string"}, "force": {"type": "boolean"}}}}}}
            }), ("202", accepted(event_id.clone())))},
            "/v1/products/{product}/images/{image}/rebuild": {"post": with_errors(json!({
                "summary": "Trigger the Jenkins build of an image now",
                "parameters": [product, image]
            }), ("202", accepted(event_id.clone())))},
            "/v1/products/{product}/images/{image}/built": {"post": with_errors(json!({
                "summary": "Jenkins reports the pushed image by digest; baton sends the image event to Spinnaker once per digest",
                "parameters": [product, image],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["reference"], "additionalProperties": false,
                    "properties": {"reference": {"type": "string", "pattern": "^[^/]+/.+@sha256:[0-9a-f]{64}$"},
                        "tag": {"type": "string"}, "build_url": {"type": "string"}, "event_id": {"type": "string"}}}}}}
            }), ("202", accepted(json!({"type": "object", "properties": {"event_id": {"type": "string"},
                "outbox_id": {"type": "integer"}, "duplicate": {"type": "boolean"}}}))))},
            "/v1/products/{product}/environments/{env}/promote": {"post": with_errors(json!({
                "summary": "Give the manual judgment the environment's pipeline waits in (continue, or stop with stop: true); refused (409) while the environment before it has no SUCCEEDED execution of the same chart digest (and image digest, for image events) unless force: true; 404 names what was not found",
                "parameters": [product, {"name": "env", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": false, "content": {"application/json": {"schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": {"input": {"type": "string", "maxLength": 4096}, "stop": {"type": "boolean"}, "force": {"type": "boolean"}}}}}}
            }), ("200", json!({"description": "judgment given", "content": {"application/json": {"schema": {
                "type": "object", "required": ["execution_id", "stage_id", "event_id"],
                "properties": {"execution_id": {"type": "string"}, "stage_id": {"type": "string"},
                    "event_id": {"type": "string"}, "source_event": {"type": ["string", "null"]},
                    "judgment": {"enum": ["continue", "stop"]}, "by": {"type": "string"}}}}}})))},
            "/v1/products/{product}/environments": {"get": with_errors(json!({
                "summary": "The environment matrix: per environment what baton delivered, the last successful deployment (chart, values and image digests), the running or waiting execution, a pending judgment and whether promotion is allowed now and why not; from baton's records and Gate, cached 5 s",
                "parameters": [product.clone()]}), ("200", json!({"description": "the matrix",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Matrix"}}}})))},
            "/v1/status": {"get": with_errors(json!({"summary": "Delivered versions, images, outbox counts"}),
                ("200", json!({"description": "status"})))},
            "/v1/products/{product}/explain": {"get": with_errors(json!({"summary": "Per source of the product: its newest change and whether it was delivered, and if not why",
                "parameters": [product.clone()]}), ("200", json!({"description": "{product, sources: [{source, observed, event, verdict, ...}]}"})))},
            "/v1/events": {"get": with_errors(json!({"summary": "Events with correlation ids, newest first",
                "parameters": [{"name": "product", "in": "query", "schema": {"type": "string"}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}}]}),
                ("200", json!({"description": "events"})))},
            "/v1/outbox": {"get": with_errors(json!({"summary": "Outbox records, newest first",
                "parameters": [{"name": "state", "in": "query", "schema": {"enum": ["pending", "delivered", "dead", "superseded"]}},
                               {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 500}}]}),
                ("200", json!({"description": "records"})))},
            "/v1/outbox/{id}/retry": {"post": with_errors(json!({"summary": "Make a dead record due now",
                "parameters": [id.clone()]}), ("200", json!({"description": "the record"})))},
            "/v1/outbox/{id}": {"delete": with_errors(json!({"summary": "Forget a pending or dead record",
                "parameters": [id]}), ("200", json!({"description": "dropped"})))},
            "/healthz": {"get": {"summary": "The process answers", "responses": {"200": {"description": "ok"}}}},
            "/readyz": {"get": {"summary": "The state store answers", "responses": {
                "200": {"description": "ready"}, "503": error_response("the state store is unreachable")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "OpenMetrics text"}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/hooks/{provider}": {"post": {
                "summary": "Signed git push webhook (mounted when git.webhook_secret_file is set)",
                "description": "Authenticated by the provider's signature, not a bearer token: GitHub X-Hub-Signature-256, Gitea X-Gitea-Signature, GitLab X-Gitlab-Token, Bitbucket X-Hub-Signature. A push to a watched repository and branch checks that source at once.",
                "parameters": [{"name": "provider", "in": "path", "required": true,
                                "schema": {"enum": ["github", "gitlab", "gitea", "bitbucket"]}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
                "responses": {
                    "200": {"description": "ping answered, or a delivery already seen (duplicate)"},
                    "202": {"description": "triggered a check, or ignored (unwatched repo or branch, tag, other event) with the reason"},
                    "400": error_response("the payload does not fit the provider's push shape"),
                    "401": error_response("signature missing, empty, invalid or of the wrong algorithm"),
                    "404": error_response("unknown provider"),
                    "413": error_response("body over the limit"),
                    "503": error_response("the check queue is full or closed")}}}
        }
    })
}

/// The component schemas: `Error`, and [`Matrix`] with the types it uses, generated from the
/// Rust types (JSON Schema 2020-12, which OpenAPI 3.1 uses).
fn schemas() -> Value {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let root = settings.into_generator().into_root_schema_for::<Matrix>();
    let mut root = root.to_value();
    let mut out = root
        .pointer_mut("/components/schemas")
        .map(Value::take)
        .unwrap_or_else(|| json!({}));
    if let Some(m) = root.as_object_mut() {
        m.remove("components");
        m.remove("$schema");
    }
    out["Matrix"] = root;
    out["Error"] = json!({"type": "object", "required": ["error", "detail"],
        "properties": {"error": {"type": "string"}, "detail": {"type": "string"}}});
    out
}

/// The handler.
pub async fn openapi() -> Json<Value> {
    Json(document())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn the_matrix_schema_is_typed_and_every_reference_resolves() {
        let doc = document();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.contains(&"#/components/schemas/Matrix"));
        for r in all {
            let pointer = r.trim_start_matches('#');
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
        let row = &doc["components"]["schemas"]["EnvironmentRow"];
        for field in [
            "last_success",
            "pending_judgment",
            "promotion",
            "running",
            "delivered",
        ] {
            assert!(
                row["properties"].get(field).is_some(),
                "{field} missing: {row}"
            );
        }
        let promotion = &doc["components"]["schemas"]["Promotion"];
        assert_eq!(promotion["properties"]["allowed"]["type"], "boolean");
    }
}
