//! Checks of `jenkins/` with real tools: every Jenkinsfile and Job DSL script parses with Groovy
//! 2.4.21 (Jenkins core's Groovy) to the CONVERSION phase; the declarative Jenkinsfiles run under a
//! stub runner (`jenkins/tests/stub-runner.groovy`) whose recorded step sequence is asserted; the
//! JCasC values agree with baton's example config. Tools: `scripts/asset-tools`.

mod assets;

use std::path::{Path, PathBuf};

use assets::http::{Recorded, serve_once};
use assets::{groovy, read, repo_root, run, run_ok, tool, yaml};
use serde_json::Value;

const JENKINSFILES: [&str; 2] = [
    "jenkins/image-build.Jenkinsfile",
    "jenkins/chart-sync.Jenkinsfile",
];

/// The build parameters baton sends (DESIGN.md, "Jenkins rebuild"), in order.
const BUILD_PARAMETERS: [&str; 7] = [
    "BASE_IMAGE",
    "BASE_DIGEST",
    "BASE_REF",
    "TARGET_IMAGE",
    "GIT_COMMIT",
    "CAUSE",
    "BATON_EVENT",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn script(name: &str) -> PathBuf {
    repo_root().join("jenkins/tests").join(name)
}

/// Runs the stub runner; returns its JSON report.
fn stub_run(fixture_json: &Path, jenkinsfile: &Path) -> Option<Value> {
    let mut cmd = groovy()?;
    cmd.arg(script("stub-runner.groovy"))
        .arg(fixture_json)
        .arg(jenkinsfile);
    let out = run_ok(&mut cmd);
    let report: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("stub runner printed no JSON ({e}):\n{out}"));
    Some(report)
}

fn steps(report: &Value) -> &[Value] {
    report["steps"].as_array().expect("report has steps")
}

/// Index of the first step of `kind` whose script/message contains `needle`.
fn find(report: &Value, kind: &str, needle: &str) -> usize {
    steps(report)
        .iter()
        .position(|s| {
            s["step"] == kind
                && ["script", "message", "file", "scm"]
                    .iter()
                    .any(|k| s[k].as_str().is_some_and(|t| t.contains(needle)))
        })
        .unwrap_or_else(|| {
            panic!(
                "no {kind} step containing {needle:?} in:\n{:#}",
                report["steps"]
            )
        })
}

fn str_list(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A secret variable may appear in a script only as `printf '...' "$VAR" |`: the value goes to
/// the next tool on stdin, never on a command line (visible in `ps`) or in an argument list.
fn secrets_on_command_lines(report: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for step in steps(report).iter().filter(|s| s["step"] == "sh") {
        let script = step["script"].as_str().unwrap_or_default();
        for var in str_list(&step["secrets"]) {
            let uses = [format!("${var}"), format!("${{{var}}}")];
            for line in script
                .lines()
                .filter(|l| uses.iter().any(|u| l.contains(u)))
            {
                let piped = line.trim_start().starts_with("printf '")
                    && line.contains(&format!("\"${var}\" |"));
                if !piped {
                    found.push(format!("{var} in: {}", line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn jenkinsfiles_parse_with_jenkins_groovy() {
    let Some(mut cmd) = groovy() else { return };
    let root = repo_root();
    cmd.arg(script("parse.groovy"));
    for f in JENKINSFILES {
        cmd.arg(root.join(f));
    }
    let out = run_ok(&mut cmd);
    assert!(
        out.starts_with("groovy 2.4.21\n"),
        "not Jenkins' Groovy: {out}"
    );
    for f in JENKINSFILES {
        assert!(
            out.contains(&format!("ok {}", root.join(f).display())),
            "{out}"
        );
    }
}

#[test]
fn groovy_parse_check_rejects_a_broken_jenkinsfile() {
    let Some(mut cmd) = groovy() else { return };
    let text = read("jenkins/image-build.Jenkinsfile");
    // Drop the closing brace of `pipeline {`.
    let broken = &text[..text.rfind('}').expect("has a brace")];
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.Jenkinsfile");
    std::fs::write(&path, broken).expect("write");
    let out = run(cmd.arg(script("parse.groovy")).arg(&path));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a truncated Jenkinsfile parsed");
    assert!(
        stderr.contains("broken.Jenkinsfile"),
        "error names no file: {stderr}"
    );
}

#[test]
fn image_build_pushes_then_reports_the_digest_to_baton() {
    let Some(report) = stub_run(
        &fixture("jenkins-fixture-image.json"),
        &repo_root().join("jenkins/image-build.Jenkinsfile"),
    ) else {
        return;
    };
    assert_eq!(report["result"], "SUCCESS", "{:#}", report);
    assert_eq!(str_list(&report["violations"]), Vec::<&str>::new());
    assert_eq!(secrets_on_command_lines(&report), Vec::<String>::new());

    let names: Vec<&str> = report["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, BUILD_PARAMETERS);
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

    // Then, and only then, the report to baton, carrying that digest.
    let report_call = find(
        &report,
        "sh",
        "/v1/products/$BATON_PRODUCT/images/$BATON_IMAGE/built",
    );
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
    let body = call["script"].as_str().unwrap();
    assert!(body.contains(r#"{"reference":"%s@%s","tag":"%s","build_url":"%s","event_id":"%s"}"#));
    assert!(
        body.contains(
            r#""$TARGET_IMAGE" "$IMAGE_DIGEST" "$IMAGE_TAG" "$BUILD_URL" "$BATON_EVENT""#
        )
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

#[test]
fn image_build_refuses_to_build_without_a_base_digest() {
    let Some(_) = groovy() else { return };
    let mut fx: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("jenkins-fixture-image.json")).unwrap(),
    )
    .unwrap();
    fx["params"]["BASE_REF"] = Value::from("docker.wso2.com/wso2micro-gw:3.0.1");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fixture.json");
    std::fs::write(&path, fx.to_string()).unwrap();
    let report = stub_run(&path, &repo_root().join("jenkins/image-build.Jenkinsfile")).unwrap();
    assert_eq!(report["result"], "FAILURE");
    assert!(
        report["error"]
            .as_str()
            .unwrap()
            .contains("BASE_REF must be repo@sha256:"),
        "{}",
        report["error"]
    );
    assert!(
        steps(&report)
            .iter()
            .all(|s| s["step"] != "sh" && s["step"] != "checkout")
    );
}

#[test]
fn chart_sync_asks_baton_to_sync_the_polled_commit() {
    let Some(report) = stub_run(
        &fixture("jenkins-fixture-chart-sync.json"),
        &repo_root().join("jenkins/chart-sync.Jenkinsfile"),
    ) else {
        return;
    };
    assert_eq!(report["result"], "SUCCESS", "{:#}", report);
    assert_eq!(str_list(&report["violations"]), Vec::<&str>::new());
    assert_eq!(secrets_on_command_lines(&report), Vec::<String>::new());
    let checkout = find(&report, "checkout", "cicd-sample-chart-mgw.git");
    let call = find(&report, "sh", "/v1/products/$BATON_PRODUCT/sync");
    assert!(checkout < call);
    let call = &steps(&report)[call];
    assert_eq!(
        call["env"]["CHART_COMMIT"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert!(
        call["script"]
            .as_str()
            .unwrap()
            .contains(r#"printf '{"commit":"%s"}' "$CHART_COMMIT""#)
    );
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

/// The JCasC values: (values, configScripts parsed as YAML by name).
fn jcasc() -> (Value, Vec<(String, Value)>) {
    let values = yaml(
        &read("jenkins/casc/values.yaml"),
        "jenkins/casc/values.yaml",
    );
    let scripts = values["controller"]["JCasC"]["configScripts"]
        .as_object()
        .expect("controller.JCasC.configScripts is a map")
        .iter()
        .map(|(name, text)| {
            let text = text
                .as_str()
                .unwrap_or_else(|| panic!("configScripts.{name} is not a string"));
            (name.clone(), yaml(text, &format!("configScripts.{name}")))
        })
        .collect();
    (values, scripts)
}

/// Job DSL scripts of the JCasC `jobs:` entries, written to files in `dir`.
fn job_dsl_files(dir: &Path) -> Vec<PathBuf> {
    let (_, scripts) = jcasc();
    let mut files = Vec::new();
    for (name, doc) in scripts {
        for (i, job) in doc["jobs"].as_array().into_iter().flatten().enumerate() {
            let text = job["script"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}.jobs[{i}] has no script"));
            let path = dir.join(format!("{}_{i}.groovy", name.replace('-', "_")));
            std::fs::write(&path, text).expect("write job dsl");
            files.push(path);
        }
    }
    files
}

#[test]
fn jcasc_and_its_groovy_parse_with_jenkins_groovy() {
    let Some(mut cmd) = groovy() else { return };
    let (values, scripts) = jcasc();
    let names: Vec<&str> = scripts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["baton-credentials", "baton-jobs"]);
    for key in ["securityRealm", "authorizationStrategy"] {
        let text = values["controller"]["JCasC"][key].as_str().expect(key);
        yaml(text, &format!("controller.JCasC.{key}"));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = job_dsl_files(dir.path());
    assert_eq!(files.len(), 1, "one Job DSL script expected");
    for (name, text) in values["controller"]["initScripts"]
        .as_object()
        .expect("initScripts")
    {
        let path = dir
            .path()
            .join(format!("init_{}.groovy", name.replace('-', "_")));
        std::fs::write(&path, text.as_str().expect("init script text")).unwrap();
        files.push(path);
    }
    let out = run_ok(cmd.arg(script("parse.groovy")).args(&files));
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        files.len(),
        "{out}"
    );
}

fn dsl_children<'a>(node: &'a Value, call: &str) -> Vec<&'a Value> {
    node["body"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["call"] == call)
        .collect()
}

fn dsl_path<'a>(node: &'a Value, calls: &[&str]) -> Option<&'a Value> {
    calls
        .iter()
        .try_fold(node, |n, c| dsl_children(n, c).into_iter().next())
}

#[test]
fn jcasc_jobs_agree_with_the_example_config_and_the_jenkinsfiles() {
    let Some(mut cmd) = groovy() else { return };
    let example = yaml(
        &std::fs::read_to_string(fixture("design-example.yaml")).unwrap(),
        "design-example.yaml",
    );
    let product = &example["products"][0];
    let image = &product["images"][0];
    let product_name = product["name"].as_str().unwrap();
    let job_name = image["jenkins_job"].as_str().unwrap();

    let dir = tempfile::tempdir().expect("tempdir");
    let files = job_dsl_files(dir.path());
    let out = run_ok(cmd.arg(script("jobdsl-stub.groovy")).arg(&files[0]));
    let tree: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let nodes = tree.as_array().expect("top-level calls");
    let by = |call: &str, name: &str| {
        nodes
            .iter()
            .find(|n| n["call"] == call && n["args"][0] == name)
            .unwrap_or_else(|| panic!("no {call}('{name}') in the Job DSL: {tree:#}"))
    };
    by("folder", product_name);

    // The image job: parameters exactly as baton sends them, defaults from the config.
    let job = by("pipelineJob", job_name);
    let params: Vec<&Value> = dsl_path(job, &["parameters"])
        .map(|p| dsl_children(p, "stringParam"))
        .unwrap_or_default();
    let names: Vec<&str> = params
        .iter()
        .filter_map(|p| p["args"][0].as_str())
        .collect();
    assert_eq!(names, BUILD_PARAMETERS);
    let default =
        |name: &str| params.iter().find(|p| p["args"][0] == name).unwrap()["args"][1].clone();
    assert_eq!(default("BASE_IMAGE"), image["base"]);
    assert_eq!(default("TARGET_IMAGE"), image["target"]);

    // Same parameters and defaults in the Jenkinsfile (declarative parameters overwrite the job's).
    let Some(run_report) = stub_run(
        &fixture("jenkins-fixture-image.json"),
        &repo_root().join("jenkins/image-build.Jenkinsfile"),
    ) else {
        return;
    };
    for p in run_report["parameters"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        assert_eq!(
            p["defaultValue"],
            default(name),
            "default of {name} differs between JCasC and Jenkinsfile"
        );
    }
    let env = &run_report["environment"];
    assert_eq!(env["BATON_PRODUCT"], product["name"]);
    assert_eq!(env["BATON_IMAGE"], image["name"]);
    assert_eq!(env["ARTIFACT_SOURCE"], image["artifact_source"]["git"]);
    assert_eq!(env["ARTIFACT_BRANCH"], image["artifact_source"]["branch"]);

    // Each job loads a Jenkinsfile that exists here.
    let sync = by("pipelineJob", &format!("{product_name}/chart-sync"));
    for (j, file) in [
        (job, "jenkins/image-build.Jenkinsfile"),
        (sync, "jenkins/chart-sync.Jenkinsfile"),
    ] {
        let path = dsl_path(j, &["definition", "cpsScm", "scriptPath"]).expect("cpsScm.scriptPath");
        assert_eq!(path["args"][0], file);
        assert!(repo_root().join(file).is_file());
    }
    let sync_report = stub_run(
        &fixture("jenkins-fixture-chart-sync.json"),
        &repo_root().join("jenkins/chart-sync.Jenkinsfile"),
    )
    .unwrap();
    assert_eq!(
        sync_report["environment"]["CHART_SOURCE"],
        product["chart_source"]["git"]
    );
    assert_eq!(
        sync_report["environment"]["CHART_BRANCH"],
        product["chart_source"]["branch"]
    );

    // Polling through pipelineTriggers, never the deprecated triggers { scm() }.
    let poll = dsl_path(
        sync,
        &[
            "properties",
            "pipelineTriggers",
            "triggers",
            "pollSCM",
            "scmpoll_spec",
        ],
    )
    .expect("chart-sync polls via properties.pipelineTriggers.triggers.pollSCM");
    assert!(
        poll["args"][0]
            .as_str()
            .is_some_and(|s| s.split_whitespace().count() == 5)
    );
    for j in nodes.iter().filter(|n| n["call"] == "pipelineJob") {
        assert!(
            dsl_children(j, "triggers").is_empty(),
            "deprecated job-level triggers {{ }} in {}",
            j["args"][0]
        );
    }

    // Every credential a Jenkinsfile binds or checks out with is defined by JCasC, from a secret.
    let (values, scripts) = jcasc();
    let creds = &scripts
        .iter()
        .find(|(n, _)| n == "baton-credentials")
        .unwrap()
        .1;
    let defined: Vec<(String, String)> =
        creds["credentials"]["system"]["domainCredentials"][0]["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c.as_object().unwrap().values())
            .map(|c| (c["id"].as_str().unwrap().to_owned(), c.to_string()))
            .collect();
    for (id, body) in &defined {
        assert!(
            body.contains("${baton-jenkins-") && !body.contains("\"secret\":\"\""),
            "credential {id} does not come from the baton-jenkins secret: {body}"
        );
    }
    let mut used: Vec<String> = Vec::new();
    for report in [&run_report, &sync_report] {
        for s in steps(report) {
            for b in s["bindings"].as_array().into_iter().flatten() {
                used.push(b["credentialsId"].as_str().unwrap().to_owned());
            }
            if let Some(scm) = s["scm"].as_str() {
                let scm: Value = serde_json::from_str(scm).unwrap();
                used.push(
                    scm["userRemoteConfigs"][0]["credentialsId"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
        }
    }
    used.push("baton-jenkinsfiles-git".to_owned());
    for id in &used {
        assert!(
            defined.iter().any(|(d, _)| d == id),
            "credential {id} is used but not defined by JCasC"
        );
    }

    // The baton service user exists and may build jobs.
    let realm = yaml(
        values["controller"]["JCasC"]["securityRealm"]
            .as_str()
            .unwrap(),
        "securityRealm",
    );
    assert!(
        realm["local"]["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == "baton")
    );
    let authz = yaml(
        values["controller"]["JCasC"]["authorizationStrategy"]
            .as_str()
            .unwrap(),
        "authz",
    );
    let baton = authz["globalMatrix"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user"]["name"] == "baton")
        .expect("baton has a globalMatrix entry");
    assert!(str_list(&baton["user"]["permissions"]).contains(&"Job/Build"));
    let plugins = str_list(&values["controller"]["additionalPlugins"]);
    for p in [
        "job-dsl",
        "matrix-auth",
        "credentials-binding",
        "kubernetes",
        "git",
    ] {
        assert!(
            plugins.iter().any(|x| x.split(':').next() == Some(p)),
            "plugin {p} missing"
        );
    }
}

const TEST_TOKEN: &str = "test-token-5f0e";

/// Runs a recorded `sh` step for real with `sh -c`, in the environment the stub saw, with baton's
/// URL pointed at a local listener answering `status`, and the bound secrets set to TEST_TOKEN.
/// Returns whether the script succeeded, its stderr, and the request the listener got.
fn run_baton_call(step: &Value, status: u16) -> Option<(bool, String, Option<Recorded>)> {
    let curl = tool("ASSETS_CURL", "curl", "scripts/asset-tools")?;
    let (base, served) = serve_once(status, r#"{"event_id":"ev-8"}"#);
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(step["script"].as_str().expect("sh step has a script"))
        .env_clear();
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        curl.parent().expect("curl has a folder").display()
    );
    cmd.env("PATH", path);
    for (k, v) in step["env"].as_object().expect("sh step has env") {
        let v = v.as_str().expect("env values are strings");
        let v = if v.starts_with("<secret:") {
            TEST_TOKEN
        } else {
            v
        };
        cmd.env(k, v);
    }
    cmd.env("BATON_URL", &base);
    let dir = tempfile::tempdir().expect("tempdir");
    cmd.current_dir(dir.path());
    let out = run(&mut cmd);
    let recorded = served.join().expect("listener thread");
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        recorded,
    ))
}

fn baton_step(report: &Value, path_part: &str) -> Value {
    steps(report)[find(report, "sh", path_part)].clone()
}

#[test]
fn image_build_report_reaches_baton_as_the_api_expects() {
    let Some(report) = stub_run(
        &fixture("jenkins-fixture-image.json"),
        &repo_root().join("jenkins/image-build.Jenkinsfile"),
    ) else {
        return;
    };
    let step = baton_step(&report, "/built");
    let Some((ok, stderr, req)) = run_baton_call(&step, 202) else {
        return;
    };
    assert!(ok, "the report step failed against a 202: {stderr}");
    let req = req.expect("the report step sent a request");
    assert_eq!(
        req.request_line,
        "POST /v1/products/micro-gw/images/petstore/built HTTP/1.1"
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TEST_TOKEN}").as_str())
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&req.body)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", req.body));
    assert_eq!(
        body,
        serde_json::json!({
            "reference": "registry.internal:5000/acme/petstore@sha256:2222222222222222222222222222222222222222222222222222222222222222",
            "tag": "3.0.1-abcdef0-42",
            "build_url": "https://jenkins.example.com/job/micro-gw/job/petstore-image/42/",
            "event_id": "ev-7"
        })
    );
}

#[test]
fn image_build_fails_when_baton_refuses_the_report() {
    let Some(report) = stub_run(
        &fixture("jenkins-fixture-image.json"),
        &repo_root().join("jenkins/image-build.Jenkinsfile"),
    ) else {
        return;
    };
    let step = baton_step(&report, "/built");
    let Some((ok, stderr, req)) = run_baton_call(&step, 422) else {
        return;
    };
    assert!(!ok, "a 422 from baton must fail the build");
    assert!(req.is_some());
    assert!(stderr.contains("422"), "curl does not say why: {stderr}");
    assert!(
        !stderr.contains(TEST_TOKEN),
        "the token reached the log: {stderr}"
    );
}

#[test]
fn chart_sync_request_reaches_baton_as_the_api_expects() {
    let Some(report) = stub_run(
        &fixture("jenkins-fixture-chart-sync.json"),
        &repo_root().join("jenkins/chart-sync.Jenkinsfile"),
    ) else {
        return;
    };
    let step = baton_step(&report, "/sync");
    let Some((ok, stderr, req)) = run_baton_call(&step, 202) else {
        return;
    };
    assert!(ok, "{stderr}");
    let req = req.expect("the sync step sent a request");
    assert_eq!(req.request_line, "POST /v1/products/micro-gw/sync HTTP/1.1");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TEST_TOKEN}").as_str())
    );
    let body: Value = serde_json::from_str(&req.body).expect("JSON body");
    assert_eq!(
        body,
        serde_json::json!({"commit": "0123456789abcdef0123456789abcdef01234567"})
    );
}
