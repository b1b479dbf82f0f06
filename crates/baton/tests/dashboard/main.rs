//! The dashboard in a real headless browser (Debian chromium via chromedriver) against the
//! real `baton serve` and the Spinnaker stand-in: log in, see the products and environments,
//! promote the staging judgment with the button and see the stand-in record it, stop prod's,
//! have a forged CSRF token refused, log out. Saves screenshots to target/screenshots/ (and, with
//! BATON_WRITE_SCREENSHOTS=1, to docs/screenshots/ for README).

mod browser;
mod stand;

use baton_harness::common::api::documented_operations;
use baton_harness::daemon::get_json;
use fantoccini::Locator;

use browser::Browser;
use stand::{APP, BUILT, GATE_URL_SECRET, Stand, TOKEN};

/// Clicks `xpath` and waits (at most 15 s) for the next page, whose `<h1>` contains `h1`.
async fn click(b: &Browser, xpath: &str, h1: &str) {
    match b.client.find(Locator::XPath(xpath)).await {
        Ok(e) => e.click().await.unwrap(),
        Err(e) => panic!("no {xpath} on the page: {e}\n{}", b.text().await),
    }
    let heading = format!("//h1[contains(., '{h1}')]");
    if let Err(e) = b
        .client
        .wait()
        .at_most(std::time::Duration::from_secs(15))
        .for_element(Locator::XPath(&heading))
        .await
    {
        panic!(
            "after clicking {xpath}: no page headed {h1:?}: {e}\n{}",
            b.text().await
        );
    }
}

/// Clicks `xpath` (see [`click`]) and checks the next page says `says`.
async fn press(b: &Browser, xpath: &str, h1: &str, says: &str) {
    click(b, xpath, h1).await;
    let page = b.text().await;
    assert!(
        page.contains(says),
        "after clicking {xpath}: no {says:?} in\n{page}"
    );
}

async fn path(b: &Browser) -> String {
    b.client.current_url().await.unwrap().path().to_owned()
}

/// Asserts that `text`, the text of `place`, shows each of `texts`.
fn assert_shows(text: &str, place: &str, texts: &[&str]) {
    for t in texts {
        assert!(text.contains(t), "{t:?} not on {place}:\n{text}");
    }
}

/// Neither the API token nor the password in baton's Gate URL is anywhere in the page.
async fn no_secret_in(b: &Browser, page: &str) {
    let source = b.client.source().await.unwrap();
    for secret in [TOKEN, GATE_URL_SECRET] {
        assert!(!source.contains(secret), "{page} renders a secret");
    }
}

/// At a phone's width the page fits: nothing makes the document scroll sideways (wide
/// tables scroll inside their own box).
async fn fits_a_phone(b: &Browser, page: &str) {
    let widths = b
        .client
        .execute(
            "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, client) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
    assert!(
        client <= 400 && scroll <= client,
        "{page} at phone width: document {scroll}px wide in a {client}px viewport"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_promotes_staging_from_the_browser() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let stand = Stand::start().await;
    let staging = stand.waiting("staging").await;
    stand.image_deployed().await;
    let url = &stand.baton.url;

    // Not logged in: the dashboard sends the browser to the login form.
    b.client.goto(&format!("{url}/")).await.unwrap();
    assert_eq!(path(&b).await, "/ui/login");
    b.client
        .find(Locator::Id("token"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    click(&b, "//button[normalize-space()='Log in']", "Products").await;
    assert_eq!(path(&b).await, "/ui");
    let overview = b.text().await;
    let texts = [
        "Signed in as alice",
        "micro-gw",
        "orders",
        "dev",
        "staging",
        "prod",
        "3.0.1",
        "waiting for judgment",
        "Jenkins #7",
    ];
    assert_shows(&overview, "the overview", &texts);
    no_secret_in(&b, "the overview").await;
    // The dev card: state in words, the image the image pipeline rolled in (short digest, the
    // whole one on hover) and its execution linked to Gate without the URL's credentials.
    let dev = "//section[@aria-label='product micro-gw']//div[@class='env'][h3='dev']";
    let card = b
        .client
        .find(Locator::XPath(dev))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(card.contains("✔ deployed"), "{card}");
    let digest = b
        .client
        .find(Locator::XPath(&format!("{dev}//dd/code")))
        .await
        .unwrap();
    assert_eq!(digest.text().await.unwrap(), &BUILT[..19]);
    assert_eq!(digest.attr("title").await.unwrap().as_deref(), Some(BUILT));
    let run = b
        .client
        .find(Locator::XPath(&format!(
            "{dev}//dt[.='execution']/following-sibling::dd[1]/a"
        )))
        .await
        .unwrap();
    let id = run.text().await.unwrap();
    assert_eq!(
        run.attr("href").await.unwrap(),
        Some(format!(
            "{}/pipelines/{id}",
            stand.fake.url().trim_end_matches('/')
        ))
    );
    b.screenshot("overview").await;

    // The product page: matrix, the waiting judgment, sources, the timeline.
    click(&b, &format!("//h2/a[normalize-space()='{APP}']"), APP).await;
    assert_eq!(path(&b).await, format!("/ui/products/{APP}"));
    let page = b.text().await;
    let texts = [
        "Waiting for a judgment",
        &staging,
        "Promote staging",
        "chart-source:micro-gw",
        "commit 0123abcd0123",
        "Timeline",
    ];
    assert_shows(&page, "the product page", &texts);
    no_secret_in(&b, "the product page").await;
    b.screenshot("product").await;
    b.client.set_window_size(390, 844).await.unwrap();
    fits_a_phone(&b, "the product page").await;
    b.screenshot("product-phone").await;
    b.client.goto(&format!("{url}/ui")).await.unwrap();
    fits_a_phone(&b, "the overview").await;
    b.client.goto(&format!("{url}/ui/outbox")).await.unwrap();
    fits_a_phone(&b, "the outbox").await;
    b.client.set_window_size(1280, 1000).await.unwrap();
    b.client
        .goto(&format!("{url}/ui/products/{APP}"))
        .await
        .unwrap();

    // A forged CSRF token is refused and the judgment stays open.
    b.client
        .execute(
            "document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged');",
            vec![],
        )
        .await
        .unwrap();
    press(
        &b,
        "//button[normalize-space()='Promote staging']",
        "Forbidden",
        "CSRF token is missing or does not belong",
    )
    .await;
    assert_eq!(
        stand.judgment(&staging),
        (None, None),
        "a refused form must not judge"
    );

    // The real form promotes; the stand-in records the judgment and its input.
    b.client
        .goto(&format!("{url}/ui/products/{APP}"))
        .await
        .unwrap();
    let note = "//form[@aria-label='judgment for staging']//input[@name='input']";
    b.client
        .find(Locator::XPath(note))
        .await
        .unwrap()
        .send_keys("dev looks good")
        .await
        .unwrap();
    press(
        &b,
        "//button[normalize-space()='Promote staging']",
        "Promoted",
        "Promoted micro-gw staging: judgment continue by alice",
    )
    .await;
    assert_eq!(
        stand.judgment(&staging),
        (Some("continue".into()), Some("dev looks good".into()))
    );
    b.client
        .goto(&format!("{url}/ui/products/{APP}#sources"))
        .await
        .unwrap();
    let after = b.text().await;
    assert!(
        after.contains("continue micro-gw/staging by alice"),
        "{after}"
    );
    b.screenshot("product-timeline").await;

    // Stop: prod's judgment is answered `stop`, recorded with the caller like a promotion.
    let prod = stand.waiting("prod").await;
    b.client
        .goto(&format!("{url}/ui/products/{APP}"))
        .await
        .unwrap();
    press(
        &b,
        "//form[@aria-label='judgment for prod']//button[normalize-space()='Stop']",
        "Stopped",
        "Stopped micro-gw prod: judgment stop by alice",
    )
    .await;
    assert_eq!(stand.judgment(&prod).0.as_deref(), Some("stop"));

    // Log out: the session is gone and the pages ask for a login again.
    click(&b, "//button[normalize-space()='Log out']", "Log in").await;
    assert_eq!(path(&b).await, "/ui/login");
    b.client.goto(&format!("{url}/ui")).await.unwrap();
    assert_eq!(path(&b).await, "/ui/login");
    b.close().await;
}

/// `ui.enabled` (default on) decides whether `baton serve` mounts the dashboard at all.
/// The smallest product `serve` accepts (it refuses a config without products).
const PRODUCT: &str = "products:\n  - name: micro-gw\n    environments: [dev]\n";

#[tokio::test]
async fn the_daemon_serves_the_dashboard_unless_disabled() {
    for (extra, want) in [("", 303), ("ui: {enabled: false}\n", 404)] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("api-tokens"), format!("alice:{TOKEN}\n")).unwrap();
        let file = dir.path().join("baton.yaml");
        let state = dir.path().join("state/baton.db");
        let yaml = format!(
            "state: \"sqlite://{}\"\napi_tokens_file: api-tokens\n{extra}{PRODUCT}",
            state.display()
        );
        std::fs::write(&file, yaml).unwrap();
        let loaded = baton_core::config::load_with_env(&file, Default::default()).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut daemon = baton_daemon::daemon::Daemon::builder(loaded)
            .listener(listener)
            .cache_dir(dir.path().join("cache"))
            .build()
            .await
            .unwrap()
            .spawn();
        daemon.ready().await.unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap();
        let answer = http
            .get(format!("{}/ui/outbox", daemon.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), want, "with {extra:?}");
        if want == 303 {
            assert_eq!(
                answer.headers()["location"],
                "/ui/login?next=%2Fui%2Foutbox"
            );
        }
        // /openapi.json lists the dashboard exactly when it is served, and each page and
        // form it lists is routed (a wrong method would be 405, an unknown path 404).
        let doc = get_json(&http, &format!("{}/openapi.json", daemon.url()), TOKEN).await;
        let ui = documented_operations(&doc, "/ui");
        assert_eq!(ui.len(), if want == 303 { 9 } else { 0 }, "with {extra:?}");
        for (m, path, concrete) in ui {
            let answer = http
                .request(m.clone(), format!("{}{concrete}", daemon.url()))
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            assert!(
                ![404, 405].contains(&status),
                "{m} {path} is documented but answers {status}"
            );
        }
        daemon.stop().await.unwrap();
    }
}
