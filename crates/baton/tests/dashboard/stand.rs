//! A demo-like setup for the dashboard: the Spinnaker stand-in with `<app>-deploy-<env>`
//! pipelines (staging and prod start with a manual judgment), a state store seeded with what
//! baton's chart job records (deliveries, a chart event and its outbox record, an image
//! build), and the real `baton serve` on it. The daemon's outbox worker delivers the chart
//! event, so Spinnaker deploys dev and staging waits for its judgment.

use std::path::Path;

use base64::Engine as _;
use std::time::Duration;

use baton::clock::Clock;
use baton::outbox::{Effect, Outbox};
use baton::store::Store;
use baton::store::events::{Correlation, Delivered, Event};
use baton::wire::{ChartArtifact, ChartEvent, chart_event};
use testkit::baton::BatonProcess;
use testkit::spinnaker::FakeSpinnaker;
use testkit::spinnaker::sample::deploy_pipeline;
use time::OffsetDateTime;

pub const APP: &str = "micro-gw";
/// `alice:<TOKEN>` is the token file's line: the caller is alice.
pub const TOKEN: &str = "alice-dashboard-token-0123456789";
pub const WAIT: Duration = Duration::from_secs(30);

pub struct Stand {
    pub fake: FakeSpinnaker,
    pub baton: BatonProcess,
    _dir: tempfile::TempDir,
}

fn config(dir: &Path, gate: &str) -> String {
    format!(
        r#"state: "sqlite://{db}"
listen: 127.0.0.1:0
api_tokens_file: api-tokens
spinnaker: {{gate_url: "{gate}"}}
# Nothing is built in this test; the section is there because the product has an image.
jenkins: {{url: "http://127.0.0.1:9", user: baton, token_file: jenkins-token}}
outbox: {{initial_delay: 100ms, max_delay: 1s, jitter: none}}
products:
  - name: {APP}
    environments: [dev, staging, prod]
    chart: {{repository: "https://charts.example.invalid", name: microgateway, version: "^3.0"}}
    chart_source: {{git: "file:///nonexistent/charts.git", poll: 1h}}
    images:
      - name: petstore
        base: "registry.example.invalid/vendor/base:1.0"
        target: "registry.example.invalid/acme/petstore"
        jenkins_job: micro-gw/petstore-image
  - name: orders
    environments: [dev, prod]
"#,
        db = dir.join("state/baton.db").display()
    )
}

async fn seed(store: &Store) {
    let now = OffsetDateTime::now_utc();
    let outbox = Outbox::new(store.clone(), Clock::system());
    let event = |id: &str, kind: &str, image: Option<&str>, ago: i64, c: Correlation| Event {
        id: id.into(),
        product: APP.into(),
        kind: kind.into(),
        image: image.map(str::to_owned),
        created_at: now - time::Duration::minutes(ago),
        correlation: c,
    };
    let base = format!("sha256:{}", "b".repeat(64));
    let built = format!("sha256:{}", "c".repeat(64));
    store
        .insert_event(&event(
            "ev-rebuild",
            "rebuild",
            Some("petstore"),
            50,
            Correlation {
                base_digest: Some(base),
                jenkins_queue_id: Some(41),
                build_number: Some(7),
                build_result: Some("SUCCESS".into()),
                build_url: Some(
                    "http://jenkins.example.invalid/job/micro-gw/job/petstore-image/7/".into(),
                ),
                image_digest: Some(built),
                detail: Some("base moved".into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let commit = "0123abcd0123abcd0123abcd0123abcd0123abcd";
    let id = "ev-chart";
    store
        .insert_event(&event(
            id,
            "chart",
            None,
            2,
            Correlation {
                commit: Some(commit.into()),
                detail: Some("chart microgateway 3.0.1 to dev,staging,prod".into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    for env in ["dev", "staging", "prod"] {
        store
            .record_delivered(&Delivered {
                product: APP.into(),
                environment: env.into(),
                chart_version: "3.0.1".into(),
                chart_digest: format!("sha256:{}", "a".repeat(64)),
                values_digest: format!("sha256:{}", "d".repeat(64)),
                event_id: Some(id.into()),
                delivered_at: now - time::Duration::minutes(2),
            })
            .await
            .unwrap();
    }
    let envs = ["dev", "staging", "prod"];
    let body = chart_event(&ChartEvent {
        product: APP,
        commit,
        chart: "microgateway",
        version: "3.0.1",
        artifact: ChartArtifact::Embedded {
            base64: "H4tjaGFydC0zLjAuMS0x",
        },
        environments: envs.to_vec(),
        // values are base64 in the event, as the chart job sends them
        values: envs
            .iter()
            .map(|e| {
                (
                    *e,
                    base64::engine::general_purpose::STANDARD.encode(format!("env: {e}\n")),
                )
            })
            .collect(),
        event_id: id,
    });
    let effect = Effect::SpinnakerWebhook {
        source: "chart".into(),
        body,
    };
    outbox
        .enqueue(&effect, APP, "chart:micro-gw:seed", Some(id))
        .await
        .unwrap();
}

impl Stand {
    pub async fn start() -> Self {
        baton::install_crypto_provider();
        let mut builder = FakeSpinnaker::builder()
            .application(APP)
            .application("orders")
            .match_delay(Duration::from_millis(20))
            .stage_duration(Duration::from_millis(20));
        for (env, judgment) in [("dev", false), ("staging", true), ("prod", true)] {
            builder =
                builder.pipeline(deploy_pipeline(APP, env, "microgateway", "chart", judgment));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake = builder.start(listener).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("api-tokens"), format!("alice:{TOKEN}\n")).unwrap();
        std::fs::write(dir.path().join("jenkins-token"), "unused\n").unwrap();
        let file = dir.path().join("baton.yaml");
        std::fs::write(&file, config(dir.path(), fake.url())).unwrap();
        let loaded = baton::config::load_with_env(&file, Default::default()).unwrap();
        let store = Store::open(&loaded.config.state.connect_url())
            .await
            .unwrap();
        seed(&store).await;
        store.close().await;
        let baton = tokio::task::spawn_blocking(move || {
            BatonProcess::serve(env!("CARGO_BIN_EXE_baton"), &file).start()
        })
        .await
        .unwrap()
        .expect("baton serve starts");
        Self {
            fake,
            baton,
            _dir: dir,
        }
    }

    /// The staging execution once it waits for its judgment (bounded by [`WAIT`]).
    pub async fn staging_waiting(&self) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let found = self.fake.executions(APP).into_iter().find(|x| {
                x.name.as_deref() == Some("micro-gw-deploy-staging")
                    && x.pending_judgment().is_some()
            });
            if let Some(x) = found {
                return x.id;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "staging did not wait for a judgment within {WAIT:?}; baton's log:\n{}",
                self.baton.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
