//! Debian's chromium, headless, driven through chromedriver (WebDriver) with fantoccini.
//! chromedriver runs on a free port of 127.0.0.1 and is killed when the [`Browser`] drops;
//! chromium gets a fresh profile folder and no network beyond what the page asks for.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// The first `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// chromedriver and a WebDriver session of headless chromium.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `None` (after `testkit::skip_or_fail`, which panics under CI or BATON_REQUIRE_RIG) when
    /// chromium or chromedriver is not installed (`scripts/asset-tools` installs both).
    pub async fn start() -> Option<Self> {
        let (Some(chromium), Some(driver)) = (on_path("chromium"), on_path("chromedriver")) else {
            testkit::skip_or_fail(
                "chromium",
                "chromium and chromedriver are not on PATH; scripts/asset-tools installs Debian's chromium and chromium-driver",
            );
            return None;
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().unwrap().port()
        };
        let driver = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let caps = caps.as_object().unwrap().clone();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no WebDriver session from chromedriver at {url} within 30s: {e}"),
            }
        };
        Some(Self {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Saves a screenshot of the viewport as `target/screenshots/<name>.png` on every run, and
    /// as the committed `docs/screenshots/<name>.png` (README's pictures) only with
    /// `BATON_WRITE_SCREENSHOTS=1`, so a test run leaves the checkout clean.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dir = if std::env::var_os("BATON_WRITE_SCREENSHOTS").is_some() {
            root.join("docs/screenshots")
        } else {
            root.join("target/screenshots")
        };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    /// The visible text of the page.
    pub async fn text(&self) -> String {
        self.client
            .find(fantoccini::Locator::Css("body"))
            .await
            .expect("a body")
            .text()
            .await
            .expect("its text")
    }

    /// Ends the session and chromedriver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
