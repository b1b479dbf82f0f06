//! A demo-like setup for the dashboard: the Spinnaker stand-in with `<app>-deploy-<env>`
//! pipelines (staging and prod start with a manual judgment) and the image pipeline
//! `<app>-image-petstore` (dev), a state store seeded with what baton's jobs record
//! (deliveries, a chart event, an image build and its image event, with their outbox records),
//! and the real `baton serve` on it. The daemon's outbox worker delivers both events, so
//! Spinnaker deploys the chart and the image to dev and staging waits for its judgment.
//! baton reaches Gate through a URL with credentials in it, which no page may show.

use std::path::Path;

use base64::Engine as _;
use std::time::Duration;

use baton_core::wire::{ChartArtifact, ChartEvent, ImageEvent, chart_event, image_event};
use baton_daemon::clock::Clock;
use baton_daemon::outbox::{Effect, Outbox};
use baton_daemon::store::Store;
use baton_daemon::store::events::{Correlation, Delivered, Event};
use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use testkit::baton::BatonProcess;
use testkit::spinnaker::FakeSpinnaker;
use testkit::spinnaker::sample::{deploy_pipeline, image_pipeline};
use time::OffsetDateTime;

pub const APP: &str = "micro-gw";
/// `alice:<TOKEN>` is the token file's line: the caller is alice.
pub const TOKEN: &str = "alice-dashboard-token-0123456789";
pub const WAIT: Duration = Duration::from_secs(30);
/// The password in baton's `spinnaker.gate_url` (`http://dash:<this>@...`).
pub const GATE_URL_SECRET: &str = "gate-url-secret-4711";
/// The image Jenkins built and the image event rolled into dev.
pub const BUILT: &str = "sha256:c0ffee12c0ffee12c0ffee12c0ffee12c0ffee12c0ffee12c0ffee12c0ffee12";
const REPOSITORY: &str = "registry.example.invalid/acme/petstore";
/// The image pipeline (it rolls images into the first environment, dev).
const IMAGE_PIPELINE: &str = "micro-gw-image-petstore";

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
    let built = BUILT.to_owned();
    let jenkins_build = "http://jenkins.example.invalid/job/micro-gw/job/petstore-image/7/";
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
                build_url: Some(jenkins_build.into()),
                image_digest: Some(built.clone()),
                detail: Some("base moved".into()),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    // Jenkins reported the build: the image event, delivered to Echo's `image` webhook.
    store
        .insert_event(&event(
            "ev-image",
            "image",
            Some("petstore"),
            45,
            Correlation {
                build_number: Some(7),
                build_result: Some("SUCCESS".into()),
                build_url: Some(jenkins_build.into()),
                image_digest: Some(built.clone()),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let image = Effect::SpinnakerWebhook {
        source: "image".into(),
        body: image_event(&ImageEvent {
            product: APP,
            image: "petstore",
            repository: REPOSITORY,
            digest: &built,
            tag: Some("7"),
            event_id: "ev-image",
        }),
    };
    outbox
        .enqueue(&image, APP, "image:micro-gw:petstore", Some("ev-image"))
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
        baton_daemon::install_crypto_provider();
        let mut builder = FakeSpinnaker::builder()
            .application(APP)
            .application("orders")
            .match_delay(Duration::from_millis(20))
            .stage_duration(Duration::from_millis(20))
            .pipeline(image_pipeline(
                APP,
                IMAGE_PIPELINE,
                &regex::escape(REPOSITORY),
                false,
            ));
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
        let gate = fake
            .url()
            .replacen("http://", &format!("http://dash:{GATE_URL_SECRET}@"), 1);
        std::fs::write(&file, config(dir.path(), &gate)).unwrap();
        let loaded = baton_core::config::load_with_env(&file, Default::default()).unwrap();
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

    /// The first execution `wanted` finds (bounded by [`WAIT`]); `what` names it.
    async fn execution(&self, what: &str, wanted: impl Fn(&Execution) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(x) = self.fake.executions(APP).into_iter().find(&wanted) {
                return x.id;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} not seen within {WAIT:?}; baton's log:\n{}",
                self.baton.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The execution of `env`'s deploy pipeline once it waits for its judgment.
    pub async fn waiting(&self, env: &str) -> String {
        let pipeline = format!("{APP}-deploy-{env}");
        self.execution(&format!("{env} waiting for a judgment"), |x| {
            x.name.as_deref() == Some(pipeline.as_str()) && x.pending_judgment().is_some()
        })
        .await
    }

    /// The judgment status and input the stand-in recorded on `execution`'s judgment stage.
    pub fn judgment(&self, execution: &str) -> (Option<String>, Option<String>) {
        let x = self
            .fake
            .execution(execution)
            .expect("the execution exists");
        let stage = x
            .stages
            .into_iter()
            .find(|s| s.stage_type == "manualJudgment")
            .expect("a manual judgment stage");
        (stage.context.judgment_status, stage.context.judgment_input)
    }

    /// The image pipeline's execution once it rolled the built image into dev.
    pub async fn image_deployed(&self) -> String {
        self.execution("the image rolled into dev", |x| {
            x.name.as_deref() == Some(IMAGE_PIPELINE) && x.status == ExecutionStatus::Succeeded
        })
        .await
    }
}
