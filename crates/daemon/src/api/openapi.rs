//! `GET /openapi.json`: the API described as OpenAPI 3.1, derived with `utoipa` from the
//! handlers' `#[utoipa::path]` attributes and the request/answer types ([`super::types`]), so
//! the document cannot drift from the code. The push webhooks ([`crate::hooks::openapi`]) are
//! merged in, and the dashboard's pages and forms under `ui.path_prefix` when it is on; a
//! `Modify` (`Guarded`) adds what every `/v1` operation shares (the bearer token
//! and the error answers) once instead of on each handler. A test compares the document with
//! the route table ([`super::table`]) both ways.

use axum::Json;
use axum::extract::State;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::types::ErrorBody;
use super::{AppState, ops, promote, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "baton",
        description = "Hands work from Jenkins to Spinnaker: chart sync, base-image rebuilds, \
            image events, promotion. Errors answer `{\"error\", \"detail\"}`."
    ),
    paths(
        routes::sync,
        routes::rebuild,
        routes::built,
        promote::promote,
        promote::environments,
        crate::explain::handler,
        ops::status,
        ops::events,
        ops::outbox_list,
        ops::outbox_retry,
        ops::outbox_drop,
        routes::healthz,
        routes::readyz,
        ops::metrics,
        openapi,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Guarded)
)]
struct ApiDoc;

/// The error answers every `/v1` operation may give, by status.
const ERRORS: [(&str, &str); 8] = [
    ("400", "the body or query is not well formed"),
    ("401", "no or wrong bearer token"),
    (
        "403",
        "the caller lacks the right for this action (api.rights)",
    ),
    ("404", "no such product, environment, image or record"),
    ("409", "conflicts with the current state or config"),
    ("413", "the body is larger than 64 KiB"),
    ("422", "the body's content is wrong; detail names the field"),
    ("503", "busy, not ready, or Spinnaker Gate failed; retry"),
];

/// Adds the bearer security scheme, and to every `/v1` operation the bearer requirement and
/// the [`ERRORS`] answers.
struct Guarded;

impl Modify for Guarded {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            if !path.starts_with("/v1/") {
                continue;
            }
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                op.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
                    "bearer",
                    Vec::<String>::new(),
                )]);
                for (status, what) in ERRORS {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::T(error_response(what)));
                }
            }
        }
    }
}

/// An answer with the [`ErrorBody`] shape.
pub fn error_response(what: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(what)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorBody",
                ))))
                .build(),
        )
        .build()
}

/// The document of the API and the push webhooks (the route table's; the dashboard is added
/// per config by [`openapi`]).
pub fn document() -> Document {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::hooks::openapi());
    doc
}

/// `GET /openapi.json`: [`document`], plus the dashboard's pages and forms under
/// `ui.path_prefix` when the dashboard is on ([`crate::ui::openapi`]).
#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object)))]
pub async fn openapi(State(state): State<AppState>) -> Json<Document> {
    let mut doc = document();
    let ui = &state.config.config.ui;
    if ui.enabled {
        doc.merge(crate::ui::openapi::document(&ui.path_prefix));
    }
    Json(doc)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

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
    fn the_document_is_openapi_3_1_and_every_reference_resolves() {
        let text = serde_json::to_string(&document()).unwrap();
        // An independent OpenAPI 3.1 parser reads it (paths, operations, components).
        let spec = oas3::from_json(&text).unwrap_or_else(|e| panic!("not OpenAPI 3.1: {e}"));
        assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
        assert!(spec.paths.as_ref().is_some_and(|p| p.len() >= 15));
        let doc: Value = serde_json::from_str(&text).unwrap();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.contains(&"#/components/schemas/Matrix"));
        assert!(all.contains(&"#/components/schemas/ErrorBody"));
        for r in all {
            let pointer = r.trim_start_matches('#');
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    #[test]
    fn the_answers_are_typed_down_to_their_fields() {
        let doc = serde_json::to_value(document()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let row = &schemas["EnvironmentRow"];
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
        assert_eq!(
            schemas["Promotion"]["properties"]["allowed"]["type"],
            "boolean"
        );
        let built = &doc["paths"]["/v1/products/{product}/images/{image}/built"]["post"];
        assert_eq!(
            built["responses"]["202"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/BuiltAccepted"
        );
        assert_eq!(
            schemas["BuiltRequest"]["properties"]["reference"]["pattern"],
            "^[^/]+/.+@sha256:[0-9a-f]{64}$"
        );
        assert_eq!(
            built["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        for field in ["products", "outbox", "replicas"] {
            assert!(
                schemas["StatusAnswer"]["properties"].get(field).is_some(),
                "{field}"
            );
        }
    }
}
