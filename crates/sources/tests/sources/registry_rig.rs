//! Digest checks against the rig's real registries (distribution 2.8): no auth, htpasswd Basic
//! and the bearer-token flow. Skips when the rig is not up; fails under CI.

use baton_sources::registry::{ImageWatch, Registries, RegistryConfig, RegistryObservation};
use baton_sources::{CheckOutcome, ErrorKind};
use testkit::rig::{RegistryEndpoint, Rig};

fn insecure(host: &str) -> RegistryConfig {
    let mut c = RegistryConfig::anonymous(host);
    c.insecure = true;
    c
}

fn with_password(ep: &RegistryEndpoint, password: &str, dir: &tempfile::TempDir) -> RegistryConfig {
    let file = dir.path().join(format!("pw-{}", ep.host.replace(':', "_")));
    std::fs::write(&file, format!("{password}\n")).expect("write password file");
    let mut c = insecure(&ep.host);
    c.username = Some(ep.username.clone());
    c.password_file = Some(file);
    c
}

/// What a first check of `reference` (on `platform`, if any) against `regs` found.
async fn first_check(
    reference: &str,
    platform: Option<&str>,
    regs: &Registries,
) -> CheckOutcome<RegistryObservation> {
    ImageWatch::new(reference, platform)
        .expect("watch")
        .check(regs, None)
        .await
        .outcome
}

fn repo_name(prefix: &str) -> String {
    format!("test/{prefix}-{:08x}", rand_u32())
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos(),
    );
    h.finish() as u32
}

fn changed(
    outcome: CheckOutcome<RegistryObservation>,
) -> (Option<RegistryObservation>, RegistryObservation) {
    match outcome {
        CheckOutcome::Changed { old, new } => (old, new),
        other => panic!("expected a change, got {other:?}"),
    }
}

/// The rig's bearer-token registry; `None` (a loud skip, or a failure where the rig is
/// required) when the rig was started without it.
fn token_registry(rig: &Rig) -> Option<RegistryEndpoint> {
    let ep = rig.registry_token.clone();
    if ep.is_none() {
        testkit::skip_or_fail("rig token registry", "the rig has no RIG_REGISTRY_TOKEN");
    }
    ep
}

/// The kind of a failed check; panics (showing the outcome) when it did not fail.
fn kind_of(outcome: &CheckOutcome<RegistryObservation>) -> ErrorKind {
    outcome.error().unwrap_or_else(|| panic!("{outcome:?}")).0
}

/// How many requests of `method` (or `TOKEN`) the client of `host` has sent.
fn requests(regs: &Registries, host: &str, method: &str) -> u64 {
    let counts = regs.client(host).expect("client").request_counts();
    counts
        .iter()
        .filter(|((m, _), _)| m == method)
        .map(|(_, n)| n)
        .sum()
}

/// The digest of the arm64 manifest of a pushed index.
fn arm64(platforms: &[(String, String)]) -> String {
    platforms
        .iter()
        .find(|(p, _)| p.contains("arm64"))
        .map(|(_, d)| d.clone())
        .expect("arm64 in the index")
}

/// Tag moves are seen, non-moves cost exactly one HEAD each, on every auth mode.
async fn watch_a_moving_tag(rig: &Rig, host: &str, regs: &Registries) {
    let repo = repo_name("base");
    let d1 = rig
        .push_image(host, &repo, "1.0", "seed-one")
        .await
        .expect("push 1");
    let watch = ImageWatch::new(&format!("{host}/{repo}:1.0"), None).expect("watch");
    let (old, first) = changed(watch.check(regs, None).await.outcome);
    assert!(old.is_none());
    assert_eq!(first.digest, d1);

    let heads_before = requests(regs, host, "HEAD");
    let again = watch.check(regs, Some(&first)).await;
    assert!(
        matches!(again.outcome, CheckOutcome::Unchanged { .. }),
        "{:?}",
        again.outcome
    );
    let heads_after = requests(regs, host, "HEAD");
    assert_eq!(
        heads_after - heads_before,
        1,
        "an unchanged check is one HEAD: {:?}",
        regs.client(host).expect("client").request_counts()
    );

    let d2 = rig
        .push_image(host, &repo, "1.0", "seed-two")
        .await
        .expect("push 2");
    assert_ne!(d1, d2);
    let (old, moved) = changed(watch.check(regs, Some(&first)).await.outcome);
    assert_eq!(old.map(|o| o.digest), Some(d1));
    assert_eq!(moved.digest, d2);
}

#[tokio::test]
async fn no_auth_registry() {
    let Some(rig) = Rig::for_test() else { return };
    let regs = Registries::new(vec![insecure(&rig.registry)]).expect("registries");
    watch_a_moving_tag(&rig, &rig.registry, &regs).await;
    // The seeded base image resolves to what the registry itself reports.
    let seeded = ImageWatch::new(&rig.base_image, None)
        .expect("watch")
        .observe(&regs, None)
        .await
        .expect("base image");
    let (repo, tag) = rig
        .base_image
        .split_once('/')
        .map(|(_, r)| r.rsplit_once(':').expect("tag"))
        .expect("host");
    assert_eq!(
        Some(seeded.digest),
        rig.manifest_digest(&rig.registry, repo, tag)
            .await
            .expect("testkit digest")
    );
    // A missing tag is NotFound, not a crash.
    let r = first_check(
        &format!("{}/vendor/base:does-not-exist", rig.registry),
        None,
        &regs,
    )
    .await;
    assert_eq!(kind_of(&r), ErrorKind::NotFound);
}

#[tokio::test]
async fn basic_auth_registry() {
    let Some(rig) = Rig::for_test() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let ep = &rig.registry_basic;
    let regs = Registries::new(vec![with_password(ep, &ep.password, &dir)]).expect("registries");
    watch_a_moving_tag(&rig, &ep.host, &regs).await;

    let wrong =
        Registries::new(vec![with_password(ep, "not-the-password", &dir)]).expect("registries");
    let r = first_check(&format!("{}/vendor/base:1.0", ep.host), None, &wrong).await;
    let (kind, message) = r.error().expect("a wrong password fails");
    assert_eq!(kind, ErrorKind::Auth);
    assert!(!message.contains("not-the-password"), "{message}");
    let anonymous = Registries::new(vec![insecure(&ep.host)]).expect("registries");
    let r = first_check(&format!("{}/vendor/base:1.0", ep.host), None, &anonymous).await;
    assert_eq!(kind_of(&r), ErrorKind::Auth);
}

#[tokio::test]
async fn token_auth_registry_caches_its_token() {
    let Some(rig) = Rig::for_test() else { return };
    let Some(ep) = token_registry(&rig) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = with_password(&ep, &ep.password, &dir);
    // The rig's token server is another origin (its own port): credentials go there only
    // because the config names it.
    config.token_hosts = vec![rig.token_server.clone().expect("the rig's token server")];
    let regs = Registries::new(vec![config]).expect("registries");
    watch_a_moving_tag(&rig, &ep.host, &regs).await;
    assert_eq!(
        requests(&regs, &ep.host, "TOKEN"),
        1,
        "one token for the repository, reused while valid"
    );
}

#[tokio::test]
async fn multi_arch_index_and_one_platform() {
    let Some(rig) = Rig::for_test() else { return };
    let regs = Registries::new(vec![insecure(&rig.registry)]).expect("registries");
    let repo = repo_name("multi");
    let (index1, platforms1) = rig
        .push_index(&rig.registry, &repo, "2.0", "multi-one")
        .await
        .expect("push index");
    let arm1 = arm64(&platforms1);
    let reference = format!("{}/{repo}:2.0", rig.registry);

    let by_index = ImageWatch::new(&reference, None)
        .expect("watch")
        .observe(&regs, None)
        .await
        .expect("index");
    assert_eq!(by_index.digest, index1);
    assert!(by_index.platform_digest.is_none());

    let arm = ImageWatch::new(&reference, Some("linux/arm64/v8")).expect("watch");
    let (_, first) = changed(arm.check(&regs, None).await.outcome);
    assert_eq!(
        (first.digest.as_str(), first.platform_digest.as_deref()),
        (index1.as_str(), Some(arm1.as_str()))
    );

    let (index2, platforms2) = rig
        .push_index(&rig.registry, &repo, "2.0", "multi-two")
        .await
        .expect("push index 2");
    let arm2 = arm64(&platforms2);
    let (_, second) = changed(arm.check(&regs, Some(&first)).await.outcome);
    assert_eq!(
        (second.digest.as_str(), second.platform_digest.as_deref()),
        (index2.as_str(), Some(arm2.as_str()))
    );
    let moved = second.moved_from(&first);
    assert!(moved.index && moved.platform, "{moved:?}");

    let none = first_check(&reference, Some("linux/s390x"), &regs).await;
    assert_eq!(kind_of(&none), ErrorKind::NotFound);
}

/// Docker Hub's anonymous flow: no credentials, a 401 with a bearer challenge, an anonymous
/// token for `public/*`, and an auth error for everything else.
#[tokio::test]
async fn anonymous_bearer_tokens_for_public_repositories() {
    let Some(rig) = Rig::for_test() else { return };
    let Some(ep) = token_registry(&rig) else {
        return;
    };
    let repo = format!("public/{}", repo_name("anon").replace('/', "-"));
    let digest = rig
        .push_image(&ep.host, &repo, "1.0", "anon-seed")
        .await
        .expect("push");
    let regs = Registries::new(vec![insecure(&ep.host)]).expect("registries");
    let watch = ImageWatch::new(&format!("{}/{repo}:1.0", ep.host), None).expect("watch");
    let (_, first) = changed(watch.check(&regs, None).await.outcome);
    assert_eq!(first.digest, digest);
    let again = watch.check(&regs, Some(&first)).await;
    assert!(
        matches!(again.outcome, CheckOutcome::Unchanged { .. }),
        "{:?}",
        again.outcome
    );
    let private = first_check(&format!("{}/vendor/base:1.0", ep.host), None, &regs).await;
    assert_eq!(kind_of(&private), ErrorKind::Auth);
}
