//! The outbox: pending and dead records with Retry and Drop. Payloads are not shown (they
//! can be a whole chart); `baton outbox list --json` has them.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::{layout, when};
use crate::store::outbox::{Record, State as RecordState};
use crate::ui::UiState;
use crate::ui::auth::Viewer;
use baton_core::config::api::Right;

/// Records listed per state.
pub const SHOWN: u32 = 200;
/// Characters of `last_error` shown.
const ERROR_CHARS: usize = 400;

/// `GET /outbox`.
#[utoipa::path(get, path = "/outbox", tag = "dashboard", summary = "Pending and dead outbox records",
    responses(
        (status = 200, description = "The page (HTML)", content_type = "text/html"),
        (status = 303, description = "Not logged in: to the login form"),
    ))]
pub async fn handler(State(s): State<UiState>, v: Viewer) -> Response {
    let store = s.app.outbox.store();
    let loaded = async {
        let pending = store
            .list_records(Some(RecordState::Pending), SHOWN)
            .await?;
        let dead = store.list_records(Some(RecordState::Dead), SHOWN).await?;
        let counts = store.outbox_counts().await?;
        Ok::<_, crate::store::StoreError>((pending, dead, counts))
    };
    match loaded.await {
        Ok((pending, dead, counts)) => super::html(render(&s, &v, &pending, &dead, &counts)),
        Err(e) => super::api_error(&s, Some(&v), e.into()),
    }
}

/// The page.
pub fn render(
    s: &UiState,
    v: &Viewer,
    pending: &[Record],
    dead: &[Record],
    counts: &crate::store::outbox::Counts,
) -> Markup {
    let body = html! {
        h1 { "Outbox" }
        p {
            (counts.pending) " pending · " (counts.dead) " dead · " (counts.delivered) " delivered (kept for history)"
            @if let Some(t) = counts.oldest_pending { " · oldest pending from " (when(t)) }
        }
        h2 { "Dead" }
        (table(s, v, dead, "No dead records."))
        h2 { "Pending" }
        (table(s, v, pending, "Nothing pending: every effect was delivered."))
    };
    layout::page(s, Some(v), "Outbox", body)
}

fn table(s: &UiState, v: &Viewer, records: &[Record], empty: &str) -> Markup {
    html! {
        @if records.is_empty() {
            p class="muted" { (empty) }
        } @else {
            div class="scroll" { table {
                thead { tr { th { "id" } th { "kind · target" } th { "attempts" } th { "last error" } th { "created" } th { "action" } } }
                tbody { @for r in records { tr {
                    td { (r.id) }
                    td { code { (r.kind) } br; span { (r.target) }
                         @if let Some(ev) = &r.event_id { br; span { "event " code { (ev) } } } }
                    td { (r.attempts)
                         @if r.state == RecordState::Pending { br; span { "next " (when(r.next_attempt_at)) } } }
                    td { @if let Some(e) = &r.last_error { (e.chars().take(ERROR_CHARS).collect::<String>()) } }
                    td { (when(r.created_at)) }
                    td { (buttons(s, v, r.id)) }
                } } }
            } }
        }
    }
}

fn buttons(s: &UiState, v: &Viewer, id: i64) -> Markup {
    let (retry, drop) = (v.may(s, Right::Retry), v.may(s, Right::Drop));
    html! {
        @match &v.csrf {
            Some(_) if !retry && !drop => { span { "no right to retry or drop" } }
            Some(csrf) => {
                div class="actions" {
                    @if retry {
                        form method="post" action=(s.paths.at(&format!("/outbox/{id}/retry"))) class="inline" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" class="go" { "Retry " (id) }
                        }
                    }
                    @if drop {
                        form method="post" action=(s.paths.at(&format!("/outbox/{id}/drop"))) class="inline" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" class="stop" { "Drop " (id) }
                        }
                    }
                }
            }
            None => { a href=(s.paths.at("/login")) { "Log in to act" } }
        }
    }
}
