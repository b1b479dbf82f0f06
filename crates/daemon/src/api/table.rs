//! The route table the router is built from, so a test can compare it with the OpenAPI
//! document (every route documented, every documented operation routed).

use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post};

use super::{AppState, openapi, ops, promote, routes};

/// One route.
pub struct Route {
    /// HTTP method.
    pub method: Method,
    /// Path as axum and OpenAPI spell it (`{param}`).
    pub path: &'static str,
    /// Whether it needs a bearer token.
    pub bearer: bool,
    /// The handler.
    pub handler: MethodRouter<AppState>,
}

fn route(method: Method, path: &'static str, bearer: bool, h: MethodRouter<AppState>) -> Route {
    Route {
        method,
        path,
        bearer,
        handler: h,
    }
}

/// Every route of the API.
pub fn routes() -> Vec<Route> {
    use Method as M;
    vec![
        route(
            M::POST,
            "/v1/products/{product}/sync",
            true,
            post(routes::sync),
        ),
        route(
            M::POST,
            "/v1/products/{product}/images/{image}/rebuild",
            true,
            post(routes::rebuild),
        ),
        route(
            M::POST,
            "/v1/products/{product}/images/{image}/built",
            true,
            post(routes::built),
        ),
        route(
            M::POST,
            "/v1/products/{product}/environments/{env}/promote",
            true,
            post(promote::promote),
        ),
        route(
            M::GET,
            "/v1/products/{product}/environments",
            true,
            get(promote::environments),
        ),
        route(
            M::GET,
            "/v1/products/{product}/explain",
            true,
            get(crate::explain::handler),
        ),
        route(M::GET, "/v1/status", true, get(ops::status)),
        route(M::GET, "/v1/events", true, get(ops::events)),
        route(M::GET, "/v1/outbox", true, get(ops::outbox_list)),
        route(
            M::POST,
            "/v1/outbox/{id}/retry",
            true,
            post(ops::outbox_retry),
        ),
        route(M::DELETE, "/v1/outbox/{id}", true, delete(ops::outbox_drop)),
        route(M::GET, "/healthz", false, get(routes::healthz)),
        route(M::GET, "/readyz", false, get(routes::readyz)),
        route(M::GET, "/metrics", false, get(ops::metrics)),
        route(M::GET, "/openapi.json", false, get(openapi::openapi)),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn openapi_documents_exactly_the_routes() {
        let mut routed: BTreeSet<(String, String)> = routes()
            .iter()
            .map(|r| (r.method.as_str().to_ascii_lowercase(), r.path.to_owned()))
            .collect();
        // The push webhooks are a router of their own (merged by serve, signature-authenticated).
        routed.insert(("post".to_owned(), crate::hooks::PATH.to_owned()));
        let doc = serde_json::to_value(openapi::document()).unwrap();
        let mut documented = BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                documented.insert((method.clone(), path.clone()));
                let secured = op.get("security").is_some();
                let bearer = routes()
                    .iter()
                    .find(|r| r.path == path && r.method.as_str().eq_ignore_ascii_case(method))
                    .map(|r| r.bearer);
                if let Some(bearer) = bearer {
                    assert_eq!(secured, bearer, "{method} {path}: security differs");
                }
                // every path parameter is declared
                for seg in path.split('/').filter(|s| s.starts_with('{')) {
                    let name = seg.trim_matches(|c| c == '{' || c == '}');
                    let declared = op["parameters"].as_array().is_some_and(|ps| {
                        ps.iter().any(|p| p["name"] == name && p["in"] == "path")
                    });
                    assert!(declared, "{method} {path}: parameter {name} not declared");
                }
            }
        }
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "routes missing from /openapi.json: {undocumented:?}; documented but not routed: {unrouted:?}"
        );
    }
}
