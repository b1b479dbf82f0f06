//! The demo's in-process Helm repository (classic `index.yaml` + one chart `.tgz`) and a
//! minimal OCI registry whose tags the demo can move.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Chart name and version the demo publishes.
pub const CHART: &str = "microgateway";
/// Chart version.
pub const CHART_VERSION: &str = "3.0.1";

/// A minimal valid Helm chart (`Chart.yaml` + `templates/deployment.yaml`) as a `.tgz`.
pub fn chart_tgz() -> anyhow::Result<Vec<u8>> {
    let chart_yaml = format!(
        "apiVersion: v2\nname: {CHART}\nversion: {CHART_VERSION}\nappVersion: \"3.0\"\n\
         description: Demo gateway chart\ntype: application\n"
    );
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n\
        spec:\n  replicas: {{ .Values.replicas | default 1 }}\n  selector:\n    matchLabels:\n      \
        app: {{ .Release.Name }}\n  template:\n    metadata:\n      labels:\n        app: {{ .Release.Name }}\n    \
        spec:\n      containers:\n        - name: gateway\n          image: {{ .Values.image | default \"gateway\" }}\n";
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, text) in [
        (format!("{CHART}/Chart.yaml"), chart_yaml.as_str()),
        (format!("{CHART}/templates/deployment.yaml"), deployment),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        tar.append_data(&mut h, &path, text.as_bytes())
            .with_context(|| format!("adding {path} to the demo chart"))?;
    }
    let gz = tar.into_inner().context("finishing the demo chart tar")?;
    gz.finish().context("compressing the demo chart")
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Serves `index.yaml` and the chart at `http://addr/`; returns the repository URL.
pub async fn helm_repo(shutdown: CancellationToken) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let tgz = chart_tgz()?;
    let file = format!("{CHART}-{CHART_VERSION}.tgz");
    let index = format!(
        "apiVersion: v1\nentries:\n  {CHART}:\n    - apiVersion: v2\n      name: {CHART}\n      \
         version: {CHART_VERSION}\n      appVersion: \"3.0\"\n      created: \"2026-01-01T00:00:00Z\"\n      \
         digest: {}\n      urls:\n        - {url}/{file}\ngenerated: \"2026-01-01T00:00:00Z\"\n",
        hex::encode(Sha256::digest(&tgz))
    );
    let files: Arc<HashMap<String, Vec<u8>>> = Arc::new(HashMap::from([
        ("index.yaml".to_owned(), index.into_bytes()),
        (file, tgz),
    ]));
    let app = Router::new()
        .route("/{file}", get(serve_file))
        .with_state(files);
    serve(listener, app, shutdown);
    Ok(url)
}

async fn serve_file(
    State(files): State<Arc<HashMap<String, Vec<u8>>>>,
    Path(file): Path<String>,
) -> Response {
    match files.get(&file) {
        Some(b) => b.clone().into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

fn serve(listener: TcpListener, app: Router, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
    });
}

/// Manifest bytes by (repository, tag).
type Manifests = Arc<Mutex<HashMap<(String, String), Vec<u8>>>>;

/// A minimal OCI registry: `/v2/` and `HEAD|GET /v2/<repo>/manifests/<tag>`.
#[derive(Clone)]
pub struct Registry {
    /// `127.0.0.1:PORT`.
    pub host: String,
    manifests: Manifests,
}

const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

impl Registry {
    /// Starts the registry.
    pub async fn start(shutdown: CancellationToken) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let reg = Self {
            host: listener.local_addr()?.to_string(),
            manifests: Arc::default(),
        };
        let app = Router::new()
            .route("/v2/", get(|| async { "{}" }))
            .route("/v2/{*rest}", get(manifest))
            .with_state(reg.clone());
        serve(listener, app, shutdown);
        Ok(reg)
    }

    /// Points `repo:tag` at a new image manifest made from `seed`; returns its digest.
    pub fn set_tag(&self, repo: &str, tag: &str, seed: &str) -> String {
        let config = sha256(seed.as_bytes());
        let layer = sha256(format!("layer {seed}").as_bytes());
        let body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": seed.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": 1}],
        })
        .to_string()
        .into_bytes();
        let digest = sha256(&body);
        self.manifests
            .lock()
            .expect("registry lock")
            .insert((repo.to_owned(), tag.to_owned()), body);
        digest
    }
}

/// `GET` (and, through axum, `HEAD`) of `/v2/<repo>/manifests/<reference>`.
async fn manifest(State(reg): State<Registry>, Path(rest): Path<String>) -> Response {
    let Some((repo, reference)) = rest.rsplit_once("/manifests/") else {
        return (StatusCode::NOT_FOUND, "unknown path").into_response();
    };
    let map = reg.manifests.lock().expect("registry lock");
    let found = map
        .iter()
        .find(|((r, t), body)| r == repo && (t == reference || sha256(body) == reference));
    let Some((_, body)) = found else {
        return (
            StatusCode::NOT_FOUND,
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
        )
            .into_response();
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(MANIFEST_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(&sha256(body)) {
        headers.insert("docker-content-digest", v);
    }
    (headers, body.clone()).into_response()
}
