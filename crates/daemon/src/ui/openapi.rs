//! The dashboard in `/openapi.json`: its pages (HTML) and form posts, derived like the API's
//! from the handlers' `#[utoipa::path]` attributes, and moved under `ui.path_prefix`, where
//! [`super::router`] mounts them. They are not a JSON API: the pages answer HTML, the actions
//! take a form with the session's CSRF token and answer a redirect.

use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;

use super::{actions, auth, pages};

#[derive(OpenApi)]
#[openapi(
    paths(
        pages::overview::handler,
        pages::product::handler,
        pages::outbox::handler,
        pages::layout::stylesheet,
        auth::login_form,
        auth::login,
        auth::logout,
        actions::judgment,
        actions::outbox,
    ),
    tags((name = "dashboard", description = "The web dashboard (HTML; log in with an API token)"))
)]
struct UiDoc;

/// The dashboard's operations under `path_prefix` (`ui.path_prefix`: `/`, `/ui`, `/a/b/`).
pub fn document(path_prefix: &str) -> Document {
    let prefix = path_prefix.trim_end_matches('/');
    let mut doc = UiDoc::openapi();
    let paths = std::mem::take(&mut doc.paths.paths);
    for (path, item) in paths {
        let at = match path.as_str() {
            "/" if !prefix.is_empty() => prefix.to_owned(),
            p => format!("{prefix}{p}"),
        };
        doc.paths.paths.insert(at, item);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_action_is_documented_under_the_prefix() {
        let doc = serde_json::to_value(document("/baton/ui")).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let mut got: Vec<&str> = paths.keys().map(String::as_str).collect();
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "/baton/ui",
                "/baton/ui/login",
                "/baton/ui/logout",
                "/baton/ui/outbox",
                "/baton/ui/outbox/{id}/{op}",
                "/baton/ui/products/{product}",
                "/baton/ui/products/{product}/environments/{env}/judgment",
                "/baton/ui/style.css",
            ]
        );
        let page = &paths["/baton/ui/products/{product}"]["get"];
        assert!(page["responses"]["200"]["content"]["text/html"].is_object());
        let login = &paths["/baton/ui/login"]["post"]["requestBody"]["content"];
        let form = &login["application/x-www-form-urlencoded"]["schema"]["$ref"];
        assert_eq!(form, "#/components/schemas/LoginForm");
        let at_root = serde_json::to_value(document("/")).unwrap();
        assert!(at_root["paths"]["/"]["get"].is_object());
    }
}
