//! The jobs' pipelines (library steps) under the stub runner: step order, what each step sees,
//! secret rules, the library's checks of its settings.

use serde_json::Value;

use super::stub::{
    baton_post, find, fixture, fixture_json, job_script, run_job, secrets_on_command_lines, steps,
    str_list, stub_run,
};
use super::{BUILD_PARAMETERS, IMAGE_JOB, SYNC_JOB};

#[test]
fn image_build_pushes_then_reports_the_digest_to_baton() {
    let Some(report) = run_job(&fixture_json("jenkins-fixture-image.json"), IMAGE_JOB) else {
        return;
    };
    assert_eq!(report["result"], "SUCCESS", "{:#}", report);
    assert_eq!(report["libraries"], serde_json::json!(["baton"]));
    assert_eq!(str_list(&report["violations"]), Vec::<&str>::new());
    assert_eq!(secrets_on_command_lines(&report), Vec::<String>::new());

    // baton's parameters, then the smoke test command (baton does not send it: its default).
    let names: Vec<&str> = report["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names[..BUILD_PARAMETERS.len()], BUILD_PARAMETERS);
    assert_eq!(names[BUILD_PARAMETERS.len()..], ["SMOKE_TEST"]);
    assert!(
        report["agent"]["kubernetes"]["yaml"]
            .as_str()
            .is_some_and(|y| !y.contains("docker.sock"))
    );

    let digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    let base_ref = "docker.wso2.com/wso2micro-gw@sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let all = steps(&report);

    // The checkout takes the commit baton passed, with git in the agent container.
    let checkout = find(
        &report,
        "checkout",
        "abcdef0123456789abcdef0123456789abcdef01",
    );
    assert_eq!(all[checkout]["container"], "jnlp");

    // Build on the exact base digest; tag <baseTag>-<shortSha>-<buildNumber>.
    let build = find(&report, "sh", "buildah bud");
    let build_step = &all[build];
    assert!(
        build_step["script"]
            .as_str()
            .unwrap()
            .contains("BASE_IMAGE=$BASE_REF")
    );
    assert_eq!(build_step["env"]["BASE_REF"], base_ref);
    assert_eq!(build_step["env"]["IMAGE_TAG"], "3.0.1-abcdef0-42");
    assert_eq!(build_step["container"], "buildah");
    assert_eq!(str_list(&build_step["secrets"]), ["BASE_REGISTRY_PASSWORD"]);
    assert_eq!(build_step["gstring"], false);

    // Push with the registry credential on stdin; the digest comes from buildah's digest file.
    let push = find(&report, "sh", "buildah push");
    let push_step = &all[push];
    assert!(
        push_step["script"]
            .as_str()
            .unwrap()
            .contains("--password-stdin")
    );
    assert!(
        push_step["script"]
            .as_str()
            .unwrap()
            .contains("--digestfile image.digest")
    );
    assert_eq!(str_list(&push_step["secrets"]), ["REGISTRY_PASSWORD"]);
    let read_digest = find(&report, "readFile", "image.digest");

    // The smoke test runs in the built image between build and push, with no credentials.
    let test = find(&report, "sh", "buildah run");
    assert!(
        build < test && test < push,
        "build {build} < test {test} < push {push}"
    );
    assert_eq!(all[test]["stage"], "Test image");
    assert_eq!(str_list(&all[test]["credentials"]), Vec::<&str>::new());
    assert_eq!(
        all[test]["env"]["SMOKE_TEST"],
        "test -s /home/exec/petstore.balx"
    );

    // Then, and only then, the report to baton, carrying that digest.
    let report_call = baton_post(&report, "/v1/products/micro-gw/images/petstore/built");
    let call = &all[report_call];
    assert!(
        checkout < build && build < push && push < read_digest && read_digest < report_call,
        "order checkout {checkout} < build {build} < push {push} < digest {read_digest} < report {report_call}"
    );
    assert_eq!(
        call["env"]["IMAGE_DIGEST"], digest,
        "the /built call must see the pushed digest"
    );
    assert_eq!(call["env"]["BATON_PRODUCT"], "micro-gw");
    assert_eq!(call["env"]["BATON_IMAGE"], "petstore");
    assert_eq!(call["env"]["BATON_EVENT"], "ev-7");
    // The body is written by writeJSON just before, from the pushed digest, and sent from the
    // file (its exact shape is checked by running the step for real in `calls`).
    let json = find(&report, "writeJSON", "@sha256:2222");
    assert!(read_digest < json && json < report_call);
    assert_eq!(all[json]["file"], "baton-built.json");
    assert_eq!(call["env"]["BATON_BODY"], "baton-built.json");
    let body = call["script"].as_str().unwrap();
    assert!(body.contains(r#"--data-binary "@$BATON_BODY""#), "{body}");
    assert!(
        !body.contains("printf '{"),
        "JSON built with printf: {body}"
    );
    assert_eq!(str_list(&call["secrets"]), ["BATON_TOKEN"]);
    assert_eq!(call["gstring"], false);
    assert_eq!(call["container"], "curl");
    assert!(body.contains("--max-time"), "the baton call has no timeout");
    // No step after the report pushes anything else.
    assert!(
        all[report_call..]
            .iter()
            .all(|s| !s["script"].as_str().unwrap_or("").contains("buildah push"))
    );
}

/// Runs the image job with the standard fixture's parameters overridden by `params`.
fn image_run_with(params: &[(&str, &str)]) -> Option<Value> {
    let mut fx = fixture_json("jenkins-fixture-image.json");
    for (k, v) in params {
        fx["params"][*k] = Value::from(*v);
    }
    run_job(&fx, IMAGE_JOB)
}

#[test]
fn image_build_refuses_bad_parameters_before_any_step() {
    let cases = [
        (
            "BASE_REF",
            "docker.wso2.com/wso2micro-gw:3.0.1",
            "BASE_REF must be repo@sha256:",
        ),
        ("BASE_REF", "", "BASE_REF must be repo@sha256:"),
        (
            "TARGET_IMAGE",
            "registry.internal:5000/acme/petstore:latest",
            "TARGET_IMAGE must be a repository",
        ),
        (
            "GIT_COMMIT",
            "master; rm -rf /",
            "GIT_COMMIT must be empty or a commit id",
        ),
        ("BATON_EVENT", r#"ev","x":"y"#, "BATON_EVENT may hold only"),
        ("SMOKE_TEST", " ", "SMOKE_TEST is empty"),
    ];
    for (name, value, message) in cases {
        let Some(report) = image_run_with(&[(name, value)]) else {
            return;
        };
        assert_eq!(report["result"], "FAILURE", "{name}={value:?} was accepted");
        let error = report["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{name}={value:?}: {error}");
        assert!(
            steps(&report)
                .iter()
                .all(|s| s["step"] != "sh" && s["step"] != "checkout"),
            "{name}={value:?}: a step ran before the parameters were checked"
        );
    }
}

#[test]
fn image_tag_takes_the_base_tag_not_a_registry_port() {
    let Some(report) = image_run_with(&[("BASE_IMAGE", "127.0.0.1:5000/vendor/base")]) else {
        return;
    };
    assert_eq!(report["result"], "SUCCESS", "{:#}", report);
    let build = &steps(&report)[find(&report, "sh", "buildah bud")];
    assert_eq!(build["env"]["IMAGE_TAG"], "latest-abcdef0-42");
}

#[test]
fn chart_sync_asks_baton_to_sync_the_polled_commit() {
    let Some(report) = run_job(&fixture_json("jenkins-fixture-chart-sync.json"), SYNC_JOB) else {
        return;
    };
    assert_eq!(report["result"], "SUCCESS", "{:#}", report);
    assert_eq!(str_list(&report["violations"]), Vec::<&str>::new());
    assert_eq!(secrets_on_command_lines(&report), Vec::<String>::new());
    let checkout = find(&report, "checkout", "cicd-sample-chart-mgw.git");
    let json = find(&report, "writeJSON", "0123456789abcdef");
    let call = baton_post(&report, "/v1/products/micro-gw/sync");
    assert!(checkout < json && json < call);
    assert_eq!(
        steps(&report)[json]["text"],
        r#"{"commit":"0123456789abcdef0123456789abcdef01234567"}"#
    );
    let call = &steps(&report)[call];
    assert_eq!(call["env"]["BATON_BODY"], "baton-sync.json");
    assert_eq!(str_list(&call["secrets"]), ["BATON_TOKEN"]);
}

#[test]
fn stub_runner_catches_leaked_credentials() {
    let Some(report) = stub_run(
        &fixture("jenkins-fixture-chart-sync.json"),
        &fixture("leaky.Jenkinsfile"),
    ) else {
        return;
    };
    let violations = str_list(&report["violations"]).join("\n");
    assert!(
        violations.contains("got a secret value through Groovy"),
        "{violations}"
    );
    assert!(violations.contains("is a Groovy GString"), "{violations}");
    assert!(violations.contains("set -x"), "{violations}");
    // The interpolated one is already reported above; the single-quoted one puts the token on
    // curl's command line.
    let on_cli = secrets_on_command_lines(&report);
    assert_eq!(
        on_cli,
        [
            r#"BATON_TOKEN in: curl -H "Authorization: Bearer $BATON_TOKEN" https://baton.example/v1/status"#
        ]
    );
}

#[test]
fn agent_pods_are_valid_kubernetes_pods_without_docker_sock() {
    let Some(kv) = crate::support::tool(
        "ASSETS_KUBERNETES_VALIDATE",
        "kubernetes-validate",
        "scripts/asset-tools",
    ) else {
        return;
    };
    let runs = [
        ("jenkins-fixture-image.json", IMAGE_JOB),
        ("jenkins-fixture-chart-sync.json", SYNC_JOB),
        ("jenkins-fixture-verify.json", super::VERIFY_JOB),
    ];
    for (fx, file) in runs {
        let Some(report) = run_job(&fixture_json(fx), file) else {
            return;
        };
        let k8s = &report["agent"]["kubernetes"];
        let text = k8s["yaml"]
            .as_str()
            .expect("a kubernetes agent with a pod yaml");
        assert!(!text.contains("docker.sock"), "{file} mounts docker.sock");
        // The Kubernetes plugin names the pod; the schema wants a name.
        let mut pod = crate::support::yaml(text, &format!("{file} agent pod"));
        pod["metadata"] = serde_json::json!({"name": "jenkins-agent"});
        let names: Vec<&str> = pod["spec"]["containers"]
            .as_array()
            .expect("containers")
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert!(
            names.contains(&k8s["defaultContainer"].as_str().expect("defaultContainer")),
            "{file}: defaultContainer is not one of {names:?}"
        );
        for s in steps(&report) {
            if let Some(c) = s["container"].as_str() {
                assert!(
                    c == "jnlp" || names.contains(&c),
                    "{file}: step in unknown container {c}"
                );
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pod.json");
        std::fs::write(&path, pod.to_string()).expect("write pod");
        let out = crate::support::run(
            std::process::Command::new(&kv)
                .args(["--strict", "-k", "1.30.0"])
                .arg(&path),
        );
        assert!(
            out.status.success(),
            "{file}: agent pod is not a valid Pod:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn library_steps_refuse_bad_settings_naming_the_setting() {
    let Some(jenkinsfile) = job_script(IMAGE_JOB) else {
        return;
    };
    let text = std::fs::read_to_string(&jenkinsfile).expect("job script");
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            text.replace(", smokeTest: 'test -s /home/exec/petstore.balx'", ""),
            "batonImageBuild: setting 'smokeTest' is missing or empty",
        ),
        (
            text.replace("image: 'petstore'", "imag: 'petstore'"),
            "batonImageBuild: unknown setting 'imag'; the settings are",
        ),
    ];
    for (i, (broken, message)) in cases.into_iter().enumerate() {
        assert_ne!(broken, text, "case {i} changed nothing");
        let path = dir.path().join(format!("broken{i}.Jenkinsfile"));
        std::fs::write(&path, &broken).expect("write");
        let Some(report) = stub_run(&fixture("jenkins-fixture-image.json"), &path) else {
            return;
        };
        assert_eq!(report["result"], "FAILURE", "{broken}");
        let error = report["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{error}");
        assert!(steps(&report).iter().all(|s| s["step"] != "sh"));
    }
}
