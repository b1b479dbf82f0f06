//! The login form: an API token in, a session cookie out ([`crate::ui::auth::login`]).

use maud::{Markup, html};

use super::layout;
use crate::ui::UiState;

/// The form; `error` says why the last attempt was refused.
pub fn page(s: &UiState, next: &str, error: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Log in" }
        @if let Some(e) = error {
            p class="error" role="alert" { (e) }
        }
        @if !s.key.usable() {
            p class="error" { "This daemon accepts no API tokens, so nobody can log in: set api_tokens_file in its config." }
        }
        p class="muted" {
            "Paste your baton API token: the TOKEN of your NAME:TOKEN line in the daemon's api_tokens_file. "
            "The browser keeps only a signed session cookie; the token is not stored."
        }
        form method="post" action=(s.paths.at("/login")) {
            label for="token" { "API token" }
            input id="token" type="password" name="token" autocomplete="current-password" required;
            input type="hidden" name="next" value=(next);
            p { button type="submit" class="go" { "Log in" } }
        }
        @if s.app.config.config.ui.open_read_only {
            p { a href=(s.paths.home()) { "Look without logging in (read-only)" } }
        }
    };
    layout::page(s, None, "Log in", body)
}
