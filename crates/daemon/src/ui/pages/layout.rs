//! The page shell (header with navigation and who is logged in, main, footer) and the one
//! stylesheet, served from the binary: system fonts, no external resources, readable from a
//! phone's width up, colours with text beside them.

use axum::http::header;
use axum::response::IntoResponse;
use maud::{DOCTYPE, Markup, html};

use crate::ui::UiState;
use crate::ui::auth::Viewer;

/// A whole page: `title`, the navigation, and `body` in `<main>`.
pub fn page(s: &UiState, v: Option<&Viewer>, title: &str, body: Markup) -> Markup {
    let caller = v.and_then(Viewer::caller);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · baton" }
                link rel="stylesheet" href=(s.paths.at("/style.css"));
            }
            body {
                header {
                    nav aria-label="main" {
                        a class="brand" href=(s.paths.home()) { "baton" }
                        a href=(s.paths.home()) { "Overview" }
                        a href=(s.paths.at("/outbox")) { "Outbox" }
                    }
                    div class="who" {
                        @if let (Some(name), Some(csrf)) = (caller, v.and_then(|v| v.csrf.as_deref())) {
                            span { "Signed in as " strong { (name) } }
                            form method="post" action=(s.paths.at("/logout")) class="inline" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" class="link" { "Log out" }
                            }
                        } @else {
                            span { "Read-only view" }
                            a href=(s.paths.at("/login")) { "Log in" }
                        }
                    }
                }
                main { (body) }
                footer { "baton " (env!("CARGO_PKG_VERSION")) }
            }
        }
    }
}

/// `GET /style.css`.
#[utoipa::path(get, path = "/style.css", tag = "dashboard", summary = "The dashboard's stylesheet",
    responses((status = 200, description = "CSS", content_type = "text/css")))]
pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

const CSS: &str = r#"
:root { --fg:#1b1f24; --muted:#57606a; --bg:#fff; --line:#d0d7de; --card:#f6f8fa;
  --ok:#1a7f37; --okbg:#dafbe1; --busy:#0969da; --busybg:#ddf4ff; --wait:#9a6700; --waitbg:#fff8c5;
  --bad:#cf222e; --badbg:#ffebe9; --none:#57606a; --nonebg:#eaeef2; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color:var(--fg); background:var(--bg); }
header { display:flex; flex-wrap:wrap; gap:.5rem 1.5rem; align-items:center; justify-content:space-between;
  padding:.6rem 1rem; border-bottom:1px solid var(--line); background:var(--card); }
nav a { margin-right:1rem; }
.brand { font-weight:700; color:var(--fg); text-decoration:none; }
.who { display:flex; gap:.75rem; align-items:center; color:var(--muted); }
main { padding:1rem; max-width:80rem; margin:0 auto; }
footer { padding:1rem; color:var(--muted); font-size:.85rem; text-align:center; }
h1 { font-size:1.4rem; margin:.2rem 0 1rem; } h2 { font-size:1.15rem; margin:1.5rem 0 .5rem; }
a { color:#0550ae; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:.88em; overflow-wrap:anywhere; }
.product { border:1px solid var(--line); border-radius:8px; padding:.75rem 1rem; margin-bottom:1rem; }
.product h2 { margin-top:0; }
.envs { display:grid; grid-template-columns:repeat(auto-fill, minmax(15rem, 1fr)); gap:.75rem; }
.env { border:1px solid var(--line); border-radius:6px; padding:.6rem .75rem; background:var(--card); min-width:0; }
.env h3 { margin:0 0 .35rem; font-size:1rem; }
dl { display:grid; grid-template-columns:max-content minmax(0, 1fr); gap:.15rem .6rem; margin:.3rem 0; }
dt { color:var(--muted); } dd { margin:0; min-width:0; overflow-wrap:anywhere; }
td { overflow-wrap:break-word; }
.state { display:inline-block; padding:.05rem .5rem; border-radius:1rem; font-weight:600; font-size:.9rem; border:1px solid; }
.state.ok { color:var(--ok); background:var(--okbg); } .state.busy { color:var(--busy); background:var(--busybg); }
.state.wait { color:var(--wait); background:var(--waitbg); } .state.bad { color:var(--bad); background:var(--badbg); }
.state.none { color:var(--none); background:var(--nonebg); }
.scroll { overflow-x:auto; }
table { border-collapse:collapse; width:100%; }
th, td { text-align:left; vertical-align:top; padding:.4rem .5rem; border-bottom:1px solid var(--line); }
th { background:var(--card); font-weight:600; }
.chain { list-style:none; padding:0; margin:0; display:flex; flex-wrap:wrap; gap:.2rem .4rem; }
.chain li + li::before { content:"→ "; color:var(--muted); }
.muted { color:var(--muted); }
.error { color:var(--bad); background:var(--badbg); padding:.5rem .75rem; border-radius:6px; }
.notice { color:var(--ok); background:var(--okbg); padding:.5rem .75rem; border-radius:6px; }
form.inline { display:inline; margin:0; }
.actions { display:flex; flex-wrap:wrap; gap:.5rem; align-items:center; }
button { font:inherit; padding:.35rem .9rem; border-radius:6px; border:1px solid var(--line); background:#fff; cursor:pointer; }
button.go { background:var(--ok); color:#fff; border-color:var(--ok); }
button.stop { background:var(--bad); color:#fff; border-color:var(--bad); }
button.link { border:none; background:none; color:#0550ae; text-decoration:underline; padding:0; }
input[type=text], input[type=password] { font:inherit; padding:.4rem .5rem; border:1px solid var(--line); border-radius:6px; width:100%; max-width:28rem; }
label { display:block; margin:.5rem 0 .25rem; font-weight:600; }
.pager { display:flex; gap:1rem; margin:.75rem 0; }
@media (max-width: 40rem) { main { padding:.6rem; } nav a { margin-right:.6rem; } th, td { padding:.35rem .3rem; } }
"#;
