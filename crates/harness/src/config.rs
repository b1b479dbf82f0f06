//! A test's `baton.yaml`: the head every test writes the same way (state, listen address, API
//! and Jenkins token files, Jenkins and Gate URLs) and the parts a test varies (top-level
//! lines such as `outbox:` or `registries:`, and the products), written next to its token files.
//!
//! ```no_run
//! # let dir = std::path::Path::new("/tmp");
//! let file = baton_harness::config::Config::new("token")
//!     .gate("http://127.0.0.1:8084")
//!     .line("first_seen: baseline")
//!     .products("  - name: micro-gw\n    images: []\n")
//!     .write(dir);
//! ```

use std::path::{Path, PathBuf};

/// A config to write; see the module docs. Unset parts: SQLite in `data/baton.db` under the
/// folder, `listen: 127.0.0.1:0`, Jenkins and Gate at a closed port (`127.0.0.1:9`).
#[derive(Debug, Clone)]
pub struct Config {
    api_tokens: String,
    state: Option<String>,
    listen: String,
    jenkins: Option<String>,
    jenkins_token: String,
    gate: String,
    lines: Vec<String>,
    products: String,
}

impl Config {
    /// A config whose `api_tokens_file` holds `api_tokens` (one token per line; a `NAME:`
    /// prefix names the caller).
    pub fn new(api_tokens: &str) -> Self {
        Self {
            api_tokens: api_tokens.to_owned(),
            state: None,
            listen: "127.0.0.1:0".to_owned(),
            jenkins: Some("http://127.0.0.1:9".to_owned()),
            jenkins_token: "jenkins-secret".to_owned(),
            gate: "http://127.0.0.1:9".to_owned(),
            lines: Vec::new(),
            products: String::new(),
        }
    }

    /// The state URL (`sqlite://…` or `postgres://…`).
    pub fn state(mut self, url: &str) -> Self {
        self.state = Some(url.to_owned());
        self
    }

    /// The API's listen address.
    pub fn listen(mut self, addr: &str) -> Self {
        self.listen = addr.to_owned();
        self
    }

    /// Jenkins' URL; `None` leaves the `jenkins:` block out (a config of charts only).
    pub fn jenkins(mut self, url: Option<&str>) -> Self {
        self.jenkins = url.map(str::to_owned);
        self
    }

    /// The Jenkins API token written to `jenkins-token`.
    pub fn jenkins_token(mut self, token: &str) -> Self {
        self.jenkins_token = token.to_owned();
        self
    }

    /// Gate's URL.
    pub fn gate(mut self, url: &str) -> Self {
        self.gate = url.to_owned();
        self
    }

    /// One more top-level YAML line (or block), e.g. `outbox: {lease: 2s}`.
    pub fn line(mut self, yaml: &str) -> Self {
        self.lines.push(yaml.to_owned());
        self
    }

    /// The body of `products:` (its list items, indented by two spaces).
    pub fn products(mut self, yaml: &str) -> Self {
        self.products = yaml.to_owned();
        self
    }

    /// Writes the token files and `baton.yaml` into `dir`; returns the config's path.
    pub fn write(&self, dir: &Path) -> PathBuf {
        std::fs::write(dir.join("api-tokens"), format!("{}\n", self.api_tokens)).unwrap();
        let state = self
            .state
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", dir.join("data/baton.db").display()));
        let mut yaml = format!(
            "state: \"{state}\"\nlisten: {}\napi_tokens_file: api-tokens\n",
            self.listen
        );
        if let Some(url) = &self.jenkins {
            std::fs::write(
                dir.join("jenkins-token"),
                format!("{}\n", self.jenkins_token),
            )
            .unwrap();
            yaml.push_str(&format!(
                "jenkins: {{url: \"{url}\", user: baton, token_file: jenkins-token}}\n"
            ));
        }
        yaml.push_str(&format!("spinnaker: {{gate_url: \"{}\"}}\n", self.gate));
        for line in &self.lines {
            yaml.push_str(line.trim_end());
            yaml.push('\n');
        }
        yaml.push_str("products:\n");
        yaml.push_str(&self.products);
        let file = dir.join("baton.yaml");
        std::fs::write(&file, yaml).unwrap();
        file
    }
}

/// The outbox of the flow tests: retries after 100 ms, at most 1 s apart, without jitter.
pub const FAST_OUTBOX: &str = "outbox: {initial_delay: 100ms, max_delay: 1s, jitter: none}";

/// The API token of the Jenkins stand-in's user `baton` (`flow::fake_jenkins`).
pub const JENKINS_TOKEN: &str = "jenkins-api-token";

/// The `products:` body of one product `name` with environments dev and prod and a chart only:
/// `microgateway` 3.0.1 from the Helm repository `helm`, its values from branch `main` of the
/// git remote `git`, polled every `poll`.
pub fn chart_product(name: &str, helm: &str, git: &str, poll: &str) -> String {
    format!(
        r#"  - name: {name}
    environments: [dev, prod]
    chart: {{repository: "{helm}", name: microgateway, version: "3.0.1"}}
    chart_source: {{git: "{git}", branch: main, poll: {poll}}}
"#
    )
}
