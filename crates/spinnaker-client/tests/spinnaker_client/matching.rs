//! kork's expected-artifact rule and Echo's payload constraints.

use serde_json::{Map, Value, json};
use spinnaker_client::model::artifact::{Artifact, ExpectedArtifact, REMOTE_BASE64};
use spinnaker_client::model::pipeline::Trigger;
use spinnaker_client::model::triggering::{Verdict, constraints_hold, constraints_verdict};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn constructors_fill_the_fields_kork_expects() {
    let a = Artifact::embedded_base64("values-dev.yaml", b"a: 1\n");
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        json!({"type": "embedded/base64", "name": "values-dev.yaml", "reference": "YTogMQo="})
    );
    assert_eq!(a.embedded_bytes().unwrap().unwrap(), b"a: 1\n");
    let img = Artifact::docker_image_digest("registry.internal:5000/acme/petstore", "sha256:abc");
    assert_eq!(
        img.reference.as_deref(),
        Some("registry.internal:5000/acme/petstore@sha256:abc")
    );
    assert_eq!(img.version.as_deref(), Some("sha256:abc"));
    let tagged = Artifact::docker_image_tag("acme/petstore", "1.2");
    assert_eq!(tagged.reference.as_deref(), Some("acme/petstore:1.2"));
    let chart = Artifact::helm_chart("microgateway", "3.0.1-1", "wso2-helm");
    assert_eq!(
        serde_json::to_value(&chart).unwrap(),
        json!({"type": "helm/chart", "name": "microgateway", "version": "3.0.1-1", "artifactAccount": "wso2-helm"})
    );
    assert_eq!(
        Artifact::git_repo("https://g/x.git", "main").type_str(),
        "git/repo"
    );
    assert_eq!(
        Artifact::http_file("f", "https://h/f", "http")
            .reference
            .as_deref(),
        Some("https://h/f")
    );
}

#[test]
fn expected_artifact_fields_match_fully_or_equal() {
    let e = ExpectedArtifact::matching("v", "embedded/base64", r"values-dev\.yaml");
    assert!(e.matches(&Artifact::embedded_base64("values-dev.yaml", b"")));
    assert!(
        !e.matches(&Artifact::embedded_base64("values-dev.yaml.bak", b"")),
        "full match, not find"
    );
    assert!(!e.matches(&Artifact::embedded_base64("old-values-dev.yaml", b"")));
    let chart = ExpectedArtifact::matching("c", "embedded/base64", r"microgateway-.*\.tgz");
    assert!(chart.matches(&Artifact::embedded_base64("microgateway-3.0.1-1.tgz", b"")));
    assert!(
        !chart.matches(&Artifact::helm_chart(
            "microgateway-3.0.1-1.tgz",
            "1",
            "acct"
        )),
        "type differs"
    );
}

#[test]
fn embedded_and_remote_base64_match_each_other() {
    let e = ExpectedArtifact::matching("m", "embedded/base64", "manifest");
    let mut remote = Artifact::embedded_base64("manifest", b"x");
    remote.artifact_type = Some(REMOTE_BASE64.into());
    assert!(e.matches(&remote));
    let r = ExpectedArtifact::matching("m", REMOTE_BASE64, "manifest");
    assert!(r.matches(&Artifact::embedded_base64("manifest", b"x")));
}

#[test]
fn empty_fields_match_anything_and_account_is_ignored() {
    let mut e = ExpectedArtifact::matching("any", "", "");
    assert!(e.matches(&Artifact::helm_chart("x", "1", "a")));
    e.match_artifact.as_mut().unwrap().artifact_account = Some("other".into());
    assert!(
        e.matches(&Artifact::helm_chart("x", "1", "a")),
        "account is not compared"
    );
    e.match_artifact.as_mut().unwrap().version = Some("2".into());
    assert!(!e.matches(&Artifact::helm_chart("x", "1", "a")));
    let mut plus = ExpectedArtifact::matching("b", "embedded/base64", "");
    plus.match_artifact.as_mut().unwrap().reference = Some("a+b=".into());
    let mut art = Artifact::embedded_base64("n", b"");
    art.reference = Some("a+b=".into());
    assert!(
        plus.matches(&art),
        "equal strings match even when the regex would not"
    );
}

#[test]
fn bad_patterns_are_reported() {
    let e = ExpectedArtifact::matching("x", "embedded/base64", "values-(dev");
    let bad = e.bad_patterns();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].field, "name");
}

#[test]
fn constraints_are_found_unanchored_in_top_level_values() {
    let payload = obj(
        json!({"application": "micro-gw", "envs": "dev,staging,prod", "n": 42,
                             "list": ["a", "b"], "parameters": {"environments": "dev,prod"}}),
    );
    let holds = |c: Value| constraints_hold(&obj(c), &payload);
    assert!(holds(json!({"envs": "staging"})), "found mid-string");
    assert!(holds(json!({"application": "gw"})), "unanchored");
    assert!(!holds(json!({"application": "^gw"})));
    assert!(holds(json!({"application": "^micro-gw$"})));
    assert!(!holds(json!({"application": "^micro-gw-2$"})));
    assert!(holds(json!({"n": "^42$"})), "numbers print as Java does");
    assert!(
        holds(json!({"list": r"^\[a, b\]$"})),
        "lists print as Java's List.toString"
    );
    assert!(
        holds(json!({"application": null})),
        "null constraint: key presence only"
    );
    assert!(!holds(json!({"missing": null})));
    assert!(
        !holds(json!({"application": "("})),
        "an invalid regex never matches"
    );
    assert!(
        holds(json!({"$.parameters.environments": "prod"})),
        "JsonPath fallback"
    );
    assert!(
        holds(json!({"parameters.environments": "dev"})),
        "Jayway adds $."
    );
    assert!(!holds(json!({"$.parameters.environments": "staging"})));
    assert!(!holds(json!({"$.parameters.nothing": "x"})));
}

#[test]
fn webhook_trigger_needs_enabled_exact_type_and_case_sensitive_source() {
    let payload = obj(json!({"application": "a"}));
    let t = Trigger::webhook("chart", obj(json!({"application": "a"})), vec![]);
    assert!(t.matches_webhook("chart", &payload));
    assert!(!t.matches_webhook("Chart", &payload));
    let mut off = t.clone();
    off.enabled = Some(false);
    assert!(!off.matches_webhook("chart", &payload));
    off.enabled = None;
    assert!(
        !off.matches_webhook("chart", &payload),
        "absent enabled is false in Echo"
    );
    let mut other = t.clone();
    other.trigger_type = "git".into();
    assert!(!other.matches_webhook("chart", &payload));
}

/// Java constructs with no rewrite here (`\h`, `\R`, `\p{javaX}`, `\p{InX}`) are neither a
/// match nor a miss: Java may accept them, so the model says it cannot evaluate them instead
/// of calling a working constraint dead or a pattern invalid (issue 18, difference 3), while
/// lookahead, `\Q...\E` and backreferences are evaluated as Java does.
#[test]
fn java_constructs_without_a_rewrite_cannot_be_evaluated() {
    let payload = obj(json!({"application": "micro gw"}));
    let verdict =
        |pattern: &str| constraints_verdict(&obj(json!({"application": pattern})), &payload);
    for pattern in [
        r"micro\hgw",
        r"gw\R?",
        r"^\p{javaLowerCase}+",
        r"\p{InBasicLatin}",
    ] {
        let v = verdict(pattern);
        assert!(
            matches!(&v, Verdict::CannotEvaluate(m) if m.contains("cannot evaluate this Java construct")),
            "{pattern}: {v:?}"
        );
    }
    assert_eq!(verdict(r"^(?=micro)\Qmicro gw\E$"), Verdict::Holds);
    assert_eq!(verdict(r"^(m)icro g\w$"), Verdict::Holds);
    assert_eq!(verdict(r"^(\w)\1"), Verdict::Fails);
    assert_eq!(
        verdict("("),
        Verdict::Fails,
        "an invalid regex never matches"
    );

    let unsupported = ExpectedArtifact::matching("img", "docker/image", r"reg/\p{javaLowerCase}+");
    let image = Artifact::docker_image_digest("reg/petstore", "sha256:0123");
    assert!(matches!(
        unsupported.match_verdict(&image),
        Verdict::CannotEvaluate(_)
    ));
    let bad = unsupported.bad_patterns();
    assert_eq!((bad.len(), bad[0].unsupported), (1, true), "{bad:?}");
    let invalid = ExpectedArtifact::matching("img", "docker/image", "reg/(");
    assert!(!invalid.bad_patterns()[0].unsupported);
}
