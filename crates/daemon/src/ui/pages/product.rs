//! A product's page: its environment matrix, what waits for a judgment (with Promote and
//! Stop), the explain verdict of each source and its events as a timeline of correlation
//! chains, a page at a time.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::{layout, link, when};
use crate::store::events::Event;
use crate::ui::UiState;
use crate::ui::auth::Viewer;
use crate::ui::data::{self, Explained, ProductView};
use baton_core::config::api::Right;

/// `?page=N` (0 = newest).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Timeline page.
    #[serde(default)]
    pub page: u32,
}

/// Everything the page shows.
pub struct ProductPage {
    /// Environments and images.
    pub view: ProductView,
    /// Why pending judgments could not be listed (Gate failed), if so.
    pub gate_error: Option<String>,
    /// Explained sources, or why not.
    pub sources: Result<Vec<Explained>, String>,
    /// One page of events.
    pub events: Vec<Event>,
    /// Which page.
    pub page: u32,
    /// Whether an older page exists.
    pub more: bool,
}

/// `GET /products/{product}`.
#[utoipa::path(get, path = "/products/{product}", tag = "dashboard",
    summary = "A product: environments, judgments, sources and the event timeline",
    params(("product" = String, Path, description = "Product name"), PageQuery),
    responses(
        (status = 200, description = "The page (HTML)", content_type = "text/html"),
        (status = 303, description = "Not logged in: to the login form"),
        (status = 404, description = "No such product (HTML)", content_type = "text/html"),
    ))]
pub async fn handler(
    State(s): State<UiState>,
    v: Viewer,
    Path(name): Path<String>,
    q: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(p) = s.app.config.product(&name) else {
        let e = crate::api::error::ApiError::NotFound(format!("no product {name:?} in the config"));
        return super::api_error(&s, Some(&v), e);
    };
    let page = q.map_or(0, |Query(q)| q.page).min(data::MAX_PAGES - 1);
    let loaded = async {
        let view = data::product(&s, p).await?;
        let (events, more) = data::timeline(&s, &p.name, page).await?;
        Ok::<_, crate::api::error::ApiError>((view, events, more))
    };
    let (view, events, more) = match loaded.await {
        Ok(x) => x,
        Err(e) => return super::api_error(&s, Some(&v), e),
    };
    let page_data = ProductPage {
        gate_error: view.gate_error.clone(),
        view,
        sources: data::explain(&s, p).await,
        events,
        page,
        more,
    };
    super::html(render(&s, &v, &page_data))
}

/// The page.
pub fn render(s: &UiState, v: &Viewer, d: &ProductPage) -> Markup {
    let name = &d.view.name;
    let body = html! {
        h1 { "Product " (name) }
        (super::overview::product_card(s, &d.view, false))
        h2 id="judgments" { "Waiting for a judgment" }
        (judgments(s, v, name, &d.view, d.gate_error.as_deref()))
        h2 id="sources" { "Sources: what the newest change led to" }
        (sources(&d.sources))
        h2 id="timeline" { "Timeline" }
        (timeline(s, name, d))
    };
    layout::page(s, Some(v), name, body)
}

fn judgments(
    s: &UiState,
    v: &Viewer,
    product: &str,
    view: &ProductView,
    gate_error: Option<&str>,
) -> Markup {
    let waiting: Vec<_> = view
        .envs
        .iter()
        .filter_map(|e| Some((e, e.pending_judgment.as_ref()?)))
        .collect();
    html! {
        @match gate_error {
            Some(e) => { p class="error" role="status" { "Cannot list pending judgments: " (e) } }
            None if waiting.is_empty() => { p class="muted" { "Nothing waits for a judgment." } }
            None => {
                div class="scroll" { table {
                    thead { tr { th { "environment" } th { "waiting in" } th { "since" } th { "promotion" } th { "action" } } }
                    tbody { @for (e, j) in &waiting { tr {
                        td { strong { (e.name) } }
                        td {
                            (j.stage_name.as_deref().unwrap_or("manual judgment")) " · execution "
                            (link(super::execution_url(s, product, &j.execution_id).as_deref(), &j.execution_id))
                            br; span { (j.artifact.describe()) }
                            @if let Some(ev) = &j.baton_event { br; span { "started by " code { (ev) } } }
                        }
                        td { @if let Some(t) = j.since { (when(t)) } }
                        td {
                            @if e.promotion.allowed { "allowed now" }
                            @else { "refused without --force: " (e.promotion.reason.as_deref().unwrap_or("")) }
                        }
                        td { (judgment_form(s, v, product, &e.name)) }
                    } } }
                } }
            }
        }
    }
}

pub(in crate::ui) fn judgment_form(s: &UiState, v: &Viewer, product: &str, env: &str) -> Markup {
    let action = s
        .paths
        .at(&format!("/products/{product}/environments/{env}/judgment"));
    let (promote, stop) = (v.may(s, Right::Promote), v.may(s, Right::Stop));
    html! {
        @match &v.csrf {
            Some(_) if !promote && !stop => { span { "no right to promote or stop" } }
            Some(csrf) => {
                form method="post" action=(action) class="actions" aria-label={ "judgment for " (env) } {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="text" name="input" maxlength="4096" placeholder="note (optional)" aria-label="note recorded with the judgment";
                    @if promote {
                        button type="submit" name="decision" value="continue" class="go" { "Promote " (env) }
                    }
                    @if stop {
                        button type="submit" name="decision" value="stop" class="stop" { "Stop" }
                    }
                }
            }
            None => { a href=(s.paths.at("/login")) { "Log in to promote or stop" } }
        }
    }
}

fn sources(sources: &Result<Vec<Explained>, String>) -> Markup {
    html! {
        @match sources {
            Err(e) => { p class="error" role="status" { (e) } }
            Ok(list) if list.is_empty() => { p class="muted" { "This product has no watched sources." } }
            Ok(list) => {
                div class="scroll" { table {
                    thead { tr { th { "source" } th { "last seen" } th { "verdict" } th { "why" } } }
                    tbody { @for x in list { tr {
                        td { code { (x.source) } }
                        td { @if let Some((value, at)) = &x.seen { code title=(value) { (super::short(value)) } br; (when(*at)) } @else { span { "not yet" } } }
                        td { strong { (x.verdict.replace('_', " ")) } }
                        td { @for line in x.why.lines() { (line.trim_start_matches([' ', '-'])) br; } }
                    } } }
                } }
            }
        }
    }
}

fn timeline(s: &UiState, product: &str, d: &ProductPage) -> Markup {
    let here = s.paths.at(&format!("/products/{product}"));
    html! {
        @if d.events.is_empty() {
            p class="muted" { "No events recorded for this product yet." }
        } @else {
            div class="scroll" { table {
                thead { tr { th { "when" } th { "kind" } th { "correlation: commit or base digest → queue item → build → Echo event → execution" } } }
                tbody { @for e in &d.events { tr {
                    td { (when(e.created_at)) br; code class="muted" { (e.id) } }
                    td { (e.kind) @if let Some(i) = &e.image { br; span { (i) } } }
                    td { (chain(s, product, e)) }
                } } }
            } }
        }
        nav class="pager" aria-label="timeline pages" {
            @if d.page > 0 { a href={ (here) "?page=" (d.page - 1) "#timeline" } { "← newer" } }
            span { "page " (d.page + 1) }
            @if d.more { a href={ (here) "?page=" (d.page + 1) "#timeline" } { "older →" } }
        }
    }
}

/// The event's correlation chain as `baton events` prints it, with the build and the
/// execution linked.
fn chain(s: &UiState, product: &str, e: &Event) -> Markup {
    let c = &e.correlation;
    html! {
        ul class="chain" {
            @for (label, value) in crate::explain::text::chain(e, None) {
                li {
                    span { (label) " " }
                    @match label {
                        "build" => { (link(c.build_url.as_deref(), &format!("#{value}"))) }
                        "execution" => { (link(super::execution_url(s, product, &value).as_deref(), &value)) }
                        "note" => { (value) }
                        _ => { code { (value) } }
                    }
                }
            }
        }
    }
}
