//! The registries: auth flows, pushes that move tags, indexes, and the Accept list.

use std::process::Command;

use sha2::{Digest, Sha256};
use testkit::rig::{MANIFEST_ACCEPT, Rig, http_client};

use crate::{rand_u32, run, skopeo_digest};

#[tokio::test]
async fn each_registry_answers_with_its_own_auth() {
    let Some(rig) = Rig::for_test() else { return };
    let http = http_client().unwrap();
    let v2 = |host: &str| format!("http://{host}/v2/");

    let open = http.get(v2(&rig.registry)).send().await.unwrap();
    assert_eq!(open.status(), 200);

    let basic = &rig.registry_basic;
    let anon = http.get(v2(&basic.host)).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    assert!(
        anon.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic ")
    );
    let wrong = http
        .get(v2(&basic.host))
        .basic_auth(&basic.username, Some("wrong"));
    assert_eq!(wrong.send().await.unwrap().status(), 401);
    let right = http
        .get(v2(&basic.host))
        .basic_auth(&basic.username, Some(&basic.password));
    assert_eq!(right.send().await.unwrap().status(), 200);

    let token = rig
        .registry_token
        .as_ref()
        .expect("the rig builds the token registry");
    let anon = http.get(v2(&token.host)).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let challenge = anon.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer realm=\"http://"),
        "{challenge}"
    );
    let realm = challenge.split('"').nth(1).unwrap();
    let refused = http.get(realm).query(&[("service", "baton-rig-registry")]);
    let refused = refused
        .basic_auth(&token.username, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let issued = http.get(realm).query(&[("service", "baton-rig-registry")]);
    let issued = issued
        .basic_auth(&token.username, Some(&token.password))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 200);
    let body: serde_json::Value = issued.json().await.unwrap();
    let jwt = body["token"].as_str().unwrap();
    let with = http
        .get(v2(&token.host))
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), 200);
    // Change one character well inside the signature (the last one may carry only padding bits).
    let at = jwt.len() - 10;
    let swap = if &jwt[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swap}{}", &jwt[..at], &jwt[at + 1..]);
    let with = http
        .get(v2(&token.host))
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(
        with.status(),
        401,
        "a token with a broken signature must be refused"
    );
}

/// Like Docker Hub: no credentials get an anonymous token that can pull `public/*` only.
#[tokio::test]
async fn token_registry_lets_anonymous_clients_pull_public_repos_only() {
    let Some(rig) = Rig::for_test() else { return };
    let token = rig.registry_token.clone().expect("token registry");
    let suffix = format!("{:08x}", rand_u32());
    let public = format!("public/anon-{suffix}");
    let private = format!("private/anon-{suffix}");
    rig.push_image(&token.host, &public, "1", "anon")
        .await
        .unwrap();
    rig.push_image(&token.host, &private, "1", "anon")
        .await
        .unwrap();
    let http = http_client().unwrap();
    let realm = format!(
        "http://{}/token",
        rig.token_server.as_deref().expect("token server")
    );
    for (repo, want) in [(&public, 200), (&private, 401)] {
        let scope = format!("repository:{repo}:pull");
        let resp = http
            .get(&realm)
            .query(&[("service", "baton-rig-registry"), ("scope", &scope)]);
        let body: serde_json::Value = resp.send().await.unwrap().json().await.unwrap();
        let jwt = body["token"].as_str().expect("an anonymous token");
        let url = format!("http://{}/v2/{repo}/manifests/1", token.host);
        let head = http
            .head(&url)
            .bearer_auth(jwt)
            .header("accept", MANIFEST_ACCEPT);
        assert_eq!(
            head.send().await.unwrap().status(),
            want,
            "anonymous HEAD {url}"
        );
    }
}

#[tokio::test]
async fn pushing_another_seed_moves_the_tag_on_every_registry() {
    let Some(rig) = Rig::for_test() else { return };
    let token = rig.registry_token.clone().expect("token registry");
    for host in [&rig.registry, &rig.registry_basic.host, &token.host] {
        let repo = format!("selftest/moving-{:08x}", rand_u32());
        let first = rig.push_image(host, &repo, "1", "first").await.unwrap();
        assert_eq!(
            rig.manifest_digest(host, &repo, "1").await.unwrap(),
            Some(first.clone())
        );
        let second = rig.push_image(host, &repo, "1", "second").await.unwrap();
        assert_ne!(first, second, "{host}: a new seed must change the digest");
        assert_eq!(
            rig.manifest_digest(host, &repo, "1").await.unwrap(),
            Some(second)
        );
        let again = rig.push_image(host, &repo, "1", "first").await.unwrap();
        assert_eq!(
            again, first,
            "{host}: the same seed must give the same digest"
        );
        assert_eq!(
            rig.manifest_digest(host, &repo, "1").await.unwrap(),
            Some(first)
        );
        assert_eq!(
            rig.manifest_digest(host, &repo, "absent").await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn pushed_index_lists_both_platforms() {
    let Some(rig) = Rig::for_test() else { return };
    let repo = format!("selftest/index-{:08x}", rand_u32());
    let (index, platforms) = rig
        .push_index(&rig.registry, &repo, "multi", "idx")
        .await
        .unwrap();
    let names: Vec<_> = platforms.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["linux/amd64", "linux/arm64/v8"]);
    assert_ne!(platforms[0].1, platforms[1].1);
    assert_eq!(
        rig.manifest_digest(&rig.registry, &repo, "multi")
            .await
            .unwrap(),
        Some(index.clone())
    );
    let raw = run(Command::new(&rig.skopeo).args([
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{}/{repo}:multi", rig.registry),
    ]))
    .unwrap();
    assert_eq!(
        format!("sha256:{}", hex::encode(Sha256::digest(raw.as_bytes()))),
        index
    );
    let listed: serde_json::Value = serde_json::from_str(&raw).unwrap();
    for (i, (_, digest)) in platforms.iter().enumerate() {
        assert_eq!(listed["manifests"][i]["digest"], digest.as_str());
        assert_eq!(
            rig.manifest_digest(&rig.registry, &repo, digest)
                .await
                .unwrap()
                .as_ref(),
            Some(digest)
        );
    }
    assert_eq!(listed["manifests"][1]["platform"]["variant"], "v8");
}

/// The registry gotcha: without all four Accept types distribution 2.8 refuses OCI manifests
/// (404) and will not hand out the digest of Docker v2 ones; with them it reports what skopeo does.
#[tokio::test]
async fn accept_list_gets_the_digest_skopeo_reports() {
    let Some(rig) = Rig::for_test() else { return };
    let http = http_client().unwrap();
    let repo = format!("selftest/accept-{:08x}", rand_u32());
    let oci = format!("{}/{repo}:oci", rig.registry);
    let docker = format!("{}/{repo}:docker", rig.registry);
    rig.push_image(&rig.registry, &repo, "oci", "accept")
        .await
        .unwrap();
    run(Command::new(&rig.skopeo).args([
        "--insecure-policy",
        "copy",
        "--quiet",
        "--format",
        "v2s2",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &format!("docker://{oci}"),
        &format!("docker://{docker}"),
    ]))
    .unwrap();
    for (tag, reference) in [("oci", &oci), ("docker", &docker)] {
        let skopeo = skopeo_digest(&rig, reference).unwrap();
        let ours = rig
            .manifest_digest(&rig.registry, &repo, tag)
            .await
            .unwrap();
        assert_eq!(ours, Some(skopeo.clone()), "{reference}");
        let url = format!("http://{}/v2/{repo}/manifests/{tag}", rig.registry);
        let bare = http.head(&url).send().await.unwrap();
        let bare_digest = bare
            .headers()
            .get("docker-content-digest")
            .map(|v| v.to_str().unwrap().to_string());
        assert!(
            !bare.status().is_success() || bare_digest.as_deref() != Some(skopeo.as_str()),
            "{reference}: a HEAD without Accept was expected to miss the digest"
        );
        let listed = http
            .head(&url)
            .header("accept", MANIFEST_ACCEPT)
            .send()
            .await
            .unwrap();
        assert_eq!(
            listed.headers()["docker-content-digest"].to_str().unwrap(),
            skopeo
        );
    }
    assert_ne!(
        skopeo_digest(&rig, &oci).unwrap(),
        skopeo_digest(&rig, &docker).unwrap()
    );
}

#[tokio::test]
async fn base_image_is_seeded() {
    let Some(rig) = Rig::for_test() else { return };
    let (host, rest) = rig.base_image.split_once('/').unwrap();
    let (repo, tag) = rest.rsplit_once(':').unwrap();
    let ours = rig.manifest_digest(host, repo, tag).await.unwrap();
    assert_eq!(ours, Some(skopeo_digest(&rig, &rig.base_image).unwrap()));
}
