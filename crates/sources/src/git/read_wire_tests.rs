//! The in-process read against a stand-in smart-HTTP server (wiremock) that answers what a
//! real one cannot be made to: broken packs, refusals, oversized objects. The rig tests
//! (`tests/sources/git_rig.rs`) cover real servers.

use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::git::snapshot::MAX_FILE_BYTES;
use crate::git::tests::{Upstream, git};
use crate::git::{AtCommit, OnBranch};

/// A pkt-line of bytes.
fn pkt(data: &[u8]) -> Vec<u8> {
    let mut v = format!("{:04x}", data.len() + 4).into_bytes();
    v.extend_from_slice(data);
    v
}

/// A v2 fetch answer carrying `pack` on side band 1.
fn answer(pack: &[u8]) -> Vec<u8> {
    let mut out = pkt(b"packfile\n");
    for chunk in pack.chunks(65515) {
        out.extend(pkt(&[&[1u8][..], chunk].concat()));
    }
    out.extend_from_slice(b"0000");
    out
}

/// `git pack-objects` of exactly the objects `ids`.
fn pack_objects(up: &Upstream, ids: &[String]) -> Vec<u8> {
    up.pack_objects(
        &[],
        &ids.iter().map(|i| format!("{i}\n")).collect::<String>(),
    )
}

/// A server at `/r.git` that wants the password `s3cret`, and a watch of it whose URL
/// carries that password.
async fn server() -> (MockServer, GitWatch, tempfile::TempDir) {
    let server = MockServer::start().await;
    let cache = tempfile::tempdir().expect("cache");
    let url = format!("http://bot:s3cret@{}/r.git", server.address());
    let watch = GitWatch::for_values(&url, "main", "chart", &["dev"], cache.path()).expect("watch");
    (server, watch, cache)
}

fn upload_pack() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/r.git/git-upload-pack"))
        .and(header("git-protocol", "version=2"))
        // base64("bot:s3cret")
        .and(header("authorization", "Basic Ym90OnMzY3JldA=="))
}

fn pushed(commit: &str) -> AtCommit {
    AtCommit {
        commit: commit.to_owned(),
        check: OnBranch::Pushed,
        changed: None,
    }
}

/// The error's text: it names the remote, never its password.
fn shown(err: &Error, server: &MockServer) -> String {
    let text = err.to_string();
    assert!(
        text.contains(&format!("http://{}/r.git", server.address())),
        "{text}"
    );
    assert!(
        !text.contains("s3cret") && !format!("{err:?}").contains("s3cret"),
        "{text}"
    );
    text
}

/// The error of reading the pushed `commit` with `watch` (`what` it is refused for), and its
/// text as [`shown`] checks it.
async fn refused(
    watch: &GitWatch,
    server: &MockServer,
    commit: &str,
    what: &str,
) -> (Error, String) {
    let err = watch
        .observe_at(&Git::new(), None, &pushed(commit))
        .await
        .expect_err(what);
    let text = shown(&err, server);
    (err, text)
}

#[tokio::test]
async fn a_broken_pack_is_an_error_naming_the_remote() {
    let (server, watch, _cache) = server().await;
    let mut broken = b"PACK\0\0\0\x02\0\0\0\x01".to_vec();
    broken.extend_from_slice(&[0u8; 40]);
    upload_pack()
        .respond_with(ResponseTemplate::new(200).set_body_bytes(answer(&broken)))
        .mount(&server)
        .await;
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let (err, text) = refused(&watch, &server, commit, "bad pack").await;
    assert!(matches!(err, Error::InvalidResponse { .. }), "{text}");
    assert!(text.contains("bad pack") && text.contains(commit), "{text}");
}

#[tokio::test]
async fn a_commit_the_remote_lacks_is_not_on_the_branch() {
    let (server, watch, _cache) = server().await;
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let refusal = [
        pkt(format!("ERR upload-pack: not our ref {commit}\n").as_bytes()),
        b"0000".to_vec(),
    ]
    .concat();
    upload_pack()
        .respond_with(ResponseTemplate::new(200).set_body_bytes(refusal))
        .mount(&server)
        .await;
    let (err, text) = refused(&watch, &server, commit, "not held").await;
    assert!(matches!(err, Error::NotOnBranch { .. }), "{text}");
    assert!(
        text.contains("is not on branch main") && text.contains("does not hold it"),
        "{text}"
    );
}

#[tokio::test]
async fn a_values_file_over_the_limit_is_refused_without_reading_it() {
    let up = Upstream::new();
    let big = "a: b\n".repeat((MAX_FILE_BYTES / 5) + 1);
    let commit = up.commit(&[("chart/values-dev.yaml", Some(big.as_str()))], "big");
    let ids = |revs: &[&str]| -> Vec<String> {
        revs.iter()
            .map(|r| git(&up.work, &["rev-parse", r]))
            .collect()
    };
    let trees = pack_objects(&up, &ids(&["main", "main^{tree}", "main:chart"]));
    let blob = pack_objects(&up, &ids(&["main:chart/values-dev.yaml"]));
    let (server, watch, _cache) = server().await;
    upload_pack()
        .and(body_string_contains("filter blob:none"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(answer(&trees)))
        .mount(&server)
        .await;
    upload_pack()
        .respond_with(ResponseTemplate::new(200).set_body_bytes(answer(&blob)))
        .mount(&server)
        .await;
    let (err, text) = refused(&watch, &server, &commit, "too large").await;
    assert!(matches!(err, Error::TooLarge { .. }), "{text}");
    assert!(
        text.contains("chart/values-dev.yaml") && text.contains(&commit),
        "{text}"
    );
}
