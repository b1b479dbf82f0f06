//! Every way a signature can be wrong, for every provider, over HTTP.

use super::*;

#[tokio::test]
async fn bad_signatures_are_refused_for_every_provider() {
    for provider in Provider::ALL {
        let mut h = harness();
        let body = fixture(provider);
        let good = signed(provider, body, "d-1");
        let sig_header = good[2].0;
        let good_sig = good[2].1.clone();
        let wrong_key = sign_sha256(
            &WebhookSecret::new(SecretString::from("not the secret".to_owned())).unwrap(),
            body.as_bytes(),
        );
        let mut cases: Vec<(&str, Option<String>)> = vec![
            ("signature missing", None),
            ("signature empty", Some(String::new())),
            (
                "signature invalid",
                Some(good_sig[..good_sig.len() - 4].to_owned()),
            ),
        ];
        match provider {
            Provider::GitLab => cases.push(("signature invalid", Some("not the secret".into()))),
            Provider::Gitea => cases.push(("signature invalid", Some(wrong_key[7..].to_owned()))),
            _ => {
                cases.push(("signature invalid", Some(wrong_key.clone())));
                let sha1 = format!("sha1={}", &good_sig[7..47]);
                cases.push(("signature wrong algorithm", Some(sha1)));
            }
        }
        for (i, (detail, value)) in cases.iter().enumerate() {
            let mut headers: Vec<(&str, String)> = good
                .iter()
                .filter(|(k, _)| *k != sig_header)
                .cloned()
                .collect();
            if let Some(v) = value {
                headers.push((sig_header, v.clone()));
            }
            let (status, json) = post(&h.app, &path(provider), &headers, body).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{provider} {detail}: {json}"
            );
            assert_eq!(json["error"], "unauthorized");
            assert_eq!(json["detail"], *detail, "{provider} case {i}");
            let text = json.to_string();
            assert!(!text.contains(SECRET), "{text}");
            assert!(!text.contains(&good_sig[7..]), "{text}");
        }
        assert!(drain(&mut h.checks).is_empty(), "{provider}");
        assert_eq!(
            h.counters.get(provider, Outcome::Unauthorized),
            cases.len() as u64
        );
        // A body changed after signing is refused too.
        let tampered = body.replacen("refs/heads/", "refs/heads/x", 1);
        let (status, _) = post(&h.app, &path(provider), &good, &tampered).await;
        let want = if provider == Provider::GitLab {
            StatusCode::ACCEPTED // GitLab signs nothing: the token is the proof.
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, want, "{provider}");
    }
}

#[tokio::test]
async fn github_sha1_only_header_is_wrong_algorithm() {
    let h = harness();
    let headers = vec![
        ("x-github-event", "push".to_owned()),
        ("x-github-delivery", "d".to_owned()),
        (
            "x-hub-signature",
            "sha1=0123456789abcdef0123456789abcdef01234567".to_owned(),
        ),
    ];
    let (status, json) = post(&h.app, "/hooks/github", &headers, GITHUB).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["detail"], "signature wrong algorithm");
}
