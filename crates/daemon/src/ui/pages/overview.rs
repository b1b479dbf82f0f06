//! The overview: every product and its environments, each with chart version, image digest,
//! since when, state, the verification result, and links to the Spinnaker execution and the
//! Jenkins build.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::{layout, link, short, state, when};
use crate::promote::matrix::{NO_STAGE, NOT_RUN};
use crate::ui::UiState;
use crate::ui::auth::Viewer;
use crate::ui::data::{self, EnvView, ImageView, ProductView};

/// `GET /`.
#[utoipa::path(get, path = "/", tag = "dashboard", summary = "Overview: every product's environments and images",
    responses(
        (status = 200, description = "The page (HTML)", content_type = "text/html"),
        (status = 303, description = "Not logged in: to the login form"),
    ))]
pub async fn handler(State(s): State<UiState>, v: Viewer) -> Response {
    match data::overview(&s).await {
        Ok(products) => super::html(render(&s, &v, &products)),
        Err(e) => super::api_error(&s, Some(&v), e),
    }
}

/// The page.
pub fn render(s: &UiState, v: &Viewer, products: &[ProductView]) -> Markup {
    let body = html! {
        h1 { "Products and environments" }
        @if products.is_empty() {
            p class="muted" { "The config lists no products yet: add them under products: in the daemon's config." }
        }
        @for p in products {
            (product_card(s, p, true))
        }
    };
    layout::page(s, Some(v), "Overview", body)
}

/// One product: its environments as a grid of cards and its images' newest builds. On the
/// overview the heading links to the product's page; on that page it just says what follows.
pub fn product_card(s: &UiState, p: &ProductView, heading_link: bool) -> Markup {
    let href = s.paths.at(&format!("/products/{}", p.name));
    html! {
        section class="product" aria-label={ "product " (p.name) } {
            h2 {
                @if heading_link { a href=(href) { (p.name) } } @else { "Environments" }
            }
            @if let Some(e) = &p.gate_error {
                p class="error" role="status" { "States unknown: " (e) }
            }
            @if p.envs.is_empty() {
                p class="muted" { "No environments configured." }
            }
            div class="envs" {
                @for e in &p.envs {
                    div class="env" {
                        h3 { (e.name) }
                        (state(e.state))
                        dl {
                            dt { "chart" }
                            dd {
                                @match (e.last_success.as_ref().and_then(|d| d.chart.as_ref()), &e.delivered) {
                                    (Some(c), _) => { (c.name) " " (c.version.as_deref().unwrap_or("")) }
                                    (None, Some(d)) => { (d.chart_version) " " span class="muted" { "(sent)" } }
                                    (None, None) => { span class="muted" { "—" } }
                                }
                            }
                            dt { "image" }
                            dd {
                                @match &e.image {
                                    Some(i) => { code title=(i.digest) { (short(&i.digest)) } }
                                    None => { span class="muted" { "—" } }
                                }
                            }
                            dt { "since" }
                            dd {
                                @match (&e.delivered, e.newest.as_ref().and_then(|x| x.started_at)) {
                                    (_, Some(t)) => { (when(t)) }
                                    (Some(d), None) => { (when(d.delivered_at)) }
                                    (None, None) => { span class="muted" { "—" } }
                                }
                            }
                            @if let Some(x) = &e.newest {
                                dt { "execution" }
                                dd { (link(super::execution_url(s, &p.name, &x.id).as_deref(), &x.id)) " " span class="muted" { (x.status) } }
                            }
                            dt { "verification" }
                            dd { (verification(e)) }
                            @if e.pending_judgment.is_some() {
                                dt { "promotion" }
                                dd {
                                    @if e.promotion.allowed { "allowed now" }
                                    @else { span class="muted" { "refused: " (e.promotion.reason.as_deref().unwrap_or("")) } }
                                }
                            }
                        }
                    }
                }
            }
            @if !p.images.is_empty() {
                (images(p))
            }
        }
    }
}

/// The verification stage's result of the newest execution and of the last successful one.
fn verification(e: &EnvView) -> Markup {
    let word = |r: &str| match r {
        NOT_RUN => "not run".to_owned(),
        NO_STAGE => "no verification stage".to_owned(),
        other => other.to_owned(),
    };
    html! {
        @match &e.newest {
            Some(x) => { "newest: " strong { (word(&x.verification)) } }
            None => { span class="muted" { "no execution" } }
        }
        @if let Some(d) = &e.last_success {
            br; span class="muted" { "last success: " (word(&d.verification)) }
        }
    }
}

fn images(p: &ProductView) -> Markup {
    html! {
        div class="scroll" {
            table {
                thead { tr { th { "image" } th { "newest build" } th { "digest" } th { "when" } } }
                tbody {
                    @for i in &p.images { (image_row(i)) }
                }
            }
        }
    }
}

fn image_row(i: &ImageView) -> Markup {
    html! {
        tr {
            td { (i.name) }
            @match &i.last {
                Some(e) => {
                    td {
                        @let c = &e.correlation;
                        @match c.build_number {
                            Some(n) => {
                                (link(c.build_url.as_deref(), &format!("Jenkins #{n}")))
                                " " span class="muted" { (c.build_result.as_deref().unwrap_or("running")) }
                            }
                            None => { (link(c.build_url.as_deref(), &e.kind)) }
                        }
                    }
                    td { @if let Some(d) = &e.correlation.image_digest { code title=(d) { (short(d)) } } @else { span class="muted" { "—" } } }
                    td { (when(e.created_at)) }
                }
                None => { td colspan="3" class="muted" { "no build yet" } }
            }
        }
    }
}
