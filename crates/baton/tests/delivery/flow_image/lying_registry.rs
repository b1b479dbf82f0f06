//! Issue 17 item 3 end to end, without the rig: a registry whose `Docker-Content-Digest` does
//! not match the manifest it serves gets no Jenkins rebuild, only a source error naming both
//! digests; once it tells the truth, the moved base is rebuilt with the digest it serves.

use std::sync::{Arc, Mutex};

use axum::http::header;
use sha2::Digest as _;

use baton_harness::config::{Config, JENKINS_TOKEN};
use baton_harness::flow::{Daemon, TOKEN, fake_jenkins, wait_for};

const JOB: &str = "micro-gw/petstore-image";
const SOURCE: &str = "base-image:micro-gw/petstore";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// What the registry serves for its one tag: the manifest, and the digest it claims for it.
#[derive(Clone, Default)]
struct Tag(Arc<Mutex<(Vec<u8>, String)>>);

fn sha256(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(body)))
}

fn manifest(layer: &str) -> Vec<u8> {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[]}}"#,
        sha256(layer.as_bytes())
    )
    .into_bytes()
}

impl Tag {
    /// Serves `body` under `claimed` (its true digest unless a lie is wanted).
    fn set(&self, body: Vec<u8>, claimed: Option<&str>) -> String {
        let truth = sha256(&body);
        let claimed = claimed.map_or(truth.clone(), str::to_owned);
        *self.0.lock().unwrap() = (body, claimed);
        truth
    }

    /// A registry on 127.0.0.1 answering `HEAD`/`GET /v2/acme/base/manifests/1.0`.
    async fn serve(&self) -> String {
        let tag = self.clone();
        let app = axum::Router::new()
            .route("/v2/", axum::routing::get(|| async { "{}" }))
            .route(
                "/v2/acme/base/manifests/1.0",
                axum::routing::get(move || {
                    let (body, claimed) = tag.0.lock().unwrap().clone();
                    async move {
                        (
                            [
                                (header::CONTENT_TYPE, OCI_MANIFEST.to_owned()),
                                (
                                    header::HeaderName::from_static("docker-content-digest"),
                                    claimed,
                                ),
                            ],
                            body,
                        )
                    }
                }),
            );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = l.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(l, app).await });
        host
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_header_the_manifest_does_not_match_triggers_no_rebuild() {
    let tag = Tag::default();
    let first = tag.set(manifest("a"), None);
    let registry = tag.serve().await;
    let jenkins = fake_jenkins(JOB, std::time::Duration::from_millis(100)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = Config::new(TOKEN)
        .jenkins(Some(&jenkins.url()))
        .jenkins_token(JENKINS_TOKEN)
        .line("first_seen: baseline")
        .line(&format!("registries:\n  - {{host: \"{registry}\", insecure: true}}"))
        .products(&format!(
            r#"  - name: micro-gw
    environments: [dev]
    images:
      - {{name: petstore, base: "{registry}/acme/base:1.0", check: "* * * * * *", target: "{registry}/acme/petstore", jenkins_job: {JOB}}}
"#
        ))
        .write(dir.path());
    let daemon = Daemon::start(&file).await;
    let api = daemon.api();
    api.wait_checks(SOURCE, "unchanged", 1.0).await;

    // The tag moves, but the registry names a digest that is not the manifest's.
    let wrong = sha256(b"not the manifest");
    let moved = tag.set(manifest("b"), Some(&wrong));
    api.wait_checks(SOURCE, "error", 3.0).await;
    assert!(jenkins.builds_of(JOB).is_empty(), "a rebuild from a lie");
    let status = api.get("/v1/status").await;
    let error = status.to_string();
    assert!(
        error.contains(&wrong) && error.contains(&moved),
        "the source error names both digests: {status:#}"
    );

    // Told the truth, the same move is one rebuild with the digest the registry serves.
    tag.set(manifest("b"), None);
    let build = wait_for("the rebuild at the Jenkins stand-in", 30, || async {
        jenkins.builds_of(JOB).into_iter().next()
    })
    .await;
    assert_eq!(build.params["BASE_DIGEST"], moved);
    assert_ne!(moved, first);
    jenkins.shutdown().await;
}
