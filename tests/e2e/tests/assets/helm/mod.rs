//! Checks of the `helm/baton` chart with real tools: `helm lint --strict` with helm v4.1 and v3.17
//! (from the rig), `helm template` with the default values and with `ci/ha-values.yaml`, offline
//! validation of every rendered manifest against the Kubernetes schemas (`kubernetes-validate`,
//! installed by `scripts/asset-tools`), and what the rendered objects say.
//!
//! The ServiceMonitor and PrometheusRule are Prometheus Operator CRDs, absent from the core
//! schemas: they are checked by their own tests (`alerts` for the rule).
//!
//! Submodules: `render` asserts what the rendered objects say, `install` what a platform
//! team meets first (required secrets, the image, `helm test`, HA spread), `alerts` the
//! PrometheusRule against baton's metrics, `readme` the chart README against values.yaml.

mod alerts;
mod install;
mod readme;
mod render;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{repo_root, run, run_ok, tool};
use serde_json::Value;
use testkit::rig::Rig;

/// Kubernetes versions the manifests are validated against: the lead's floor and helm v4's client.
const KUBE_VERSIONS: [&str; 2] = ["1.30.0", "1.35.0"];

pub(crate) fn chart() -> PathBuf {
    repo_root().join("helm/baton")
}

pub(crate) fn ha_values() -> PathBuf {
    chart().join("ci/ha-values.yaml")
}

/// The smallest working install: the defaults plus `secrets.existingSecret`.
pub(crate) fn sqlite_values() -> PathBuf {
    chart().join("ci/sqlite-values.yaml")
}

/// A values file whose `config.products` hold `images` images, 100 to a product, in the shape
/// `bench/run-scale` writes (~145 bytes each as JSON).
pub(crate) fn images_values(images: usize) -> tempfile::NamedTempFile {
    let products: Vec<Value> = (0..images.div_ceil(100))
        .map(|p| {
            let images: Vec<Value> = (p * 100..images.min((p + 1) * 100)).map(image).collect();
            serde_json::json!({"name": format!("p{p:03}"), "images": images})
        })
        .collect();
    values_file(&serde_json::json!({"config": {"products": products}}))
}

/// Image `k` of [`images_values`].
pub(crate) fn image(k: usize) -> Value {
    serde_json::json!({
        "name": format!("i{k:05}"),
        "base": format!("registry.example.com/scale/base:t{k:05}"),
        "check": "* * * * *",
        "target": format!("registry.example.com/acme/i{k:05}"),
        "jenkins_job": format!("p/i{k:05}"),
    })
}

/// `values` in a temporary file.
pub(crate) fn values_file(values: &Value) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("a values file");
    std::fs::write(file.path(), values.to_string()).expect("write the values file");
    file
}

/// Kinds the Kubernetes schemas do not know (Prometheus Operator CRDs).
const CRD_KINDS: [&str; 2] = ["ServiceMonitor", "PrometheusRule"];

pub(crate) fn helms(rig: &Rig) -> [(&'static str, &Path); 2] {
    [("v4", &rig.helm_v4), ("v3", &rig.helm_v3)]
}

/// `helm template` output for the given values files.
pub(crate) fn template(helm: &Path, values: &[&Path], set: &[&str]) -> String {
    let mut cmd = Command::new(helm);
    cmd.args(["template", "baton"])
        .arg(chart())
        .args(["--namespace", "baton"]);
    for v in values {
        cmd.arg("-f").arg(v);
    }
    for s in set {
        cmd.args(["--set", s]);
    }
    run_ok(&mut cmd)
}

pub(crate) fn docs(rendered: &str) -> Vec<Value> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(rendered)
        .unwrap_or_else(|e| panic!("helm template printed invalid YAML: {e}\n{rendered}"));
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

pub(crate) fn kind<'a>(docs: &'a [Value], kind: &str) -> Option<&'a Value> {
    docs.iter().find(|d| d["kind"] == kind)
}

pub(crate) fn kinds(docs: &[Value]) -> Vec<&str> {
    let mut k: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    k.sort_unstable();
    k
}

#[test]
fn chart_lints_strict_with_helm_v4_and_v3() {
    let Some(rig) = Rig::for_test() else { return };
    for (name, helm) in helms(&rig) {
        let version = run_ok(Command::new(helm).args(["version", "--short"]));
        let want = if name == "v4" { "v4.1." } else { "v3.17." };
        assert!(version.starts_with(want), "helm {name} is {version}");
        for values in [sqlite_values(), ha_values()] {
            let mut cmd = Command::new(helm);
            cmd.args(["lint", "--strict"])
                .arg(chart())
                .arg("-f")
                .arg(values);
            let out = run_ok(&mut cmd);
            assert!(
                out.contains("1 chart(s) linted, 0 chart(s) failed"),
                "helm {name}: {out}"
            );
        }
    }
}

#[test]
fn chart_refuses_values_that_cannot_work() {
    let Some(rig) = Rig::for_test() else { return };
    for (name, helm) in helms(&rig) {
        for bad in [
            "replicaCount=3",
            "state.kind=postgres",
            "replicaCount=three",
            "config.listen=0.0.0.0:1",
            "config.api.probe_listen=0.0.0.0:1",
        ] {
            let out = run(Command::new(helm)
                .args(["lint", "--strict"])
                .arg(chart())
                .arg("-f")
                .arg(sqlite_values())
                .args(["--set", bad]));
            assert!(
                !out.status.success(),
                "helm {name} lint accepted --set {bad}"
            );
        }
    }
    // Past the schema, the templates name the problem and the fix.
    for (set, wanted) in [
        (
            "replicaCount=2",
            [
                "replicaCount is 2 but state.kind is sqlite",
                "state.kind: postgres",
            ],
        ),
        (
            "probes.port=8080",
            [
                "probes.port and service.port are both 8080",
                "a port of its own",
            ],
        ),
    ] {
        let out = run(Command::new(&rig.helm_v4)
            .args(["template", "baton"])
            .arg(chart())
            .arg("-f")
            .arg(sqlite_values())
            .args(["--skip-schema-validation", "--set", set]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--set {set} rendered");
        assert!(wanted.iter().all(|w| stderr.contains(w)), "{stderr}");
    }
}

/// Runs kubernetes-validate --strict on `rendered`; returns its stdout+stderr and success.
fn kubernetes_validate(kv: &Path, rendered: &str, version: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, rendered).expect("write rendered manifests");
    let out = run(Command::new(kv)
        .args(["--strict", "-k", version])
        .arg(&file));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn rendered_manifests_validate_against_kubernetes_schemas() {
    let Some(rig) = Rig::for_test() else { return };
    let Some(kv) = tool(
        "ASSETS_KUBERNETES_VALIDATE",
        "kubernetes-validate",
        "scripts/asset-tools",
    ) else {
        return;
    };
    let (ha, sqlite) = (ha_values(), sqlite_values());
    // Products split over ConfigMaps of their own, mounted through a projected volume.
    let many = images_values(10_000);
    for (name, helm) in helms(&rig) {
        for (label, values) in [
            ("sqlite", vec![sqlite.as_path()]),
            ("ha", vec![ha.as_path()]),
            ("10,000 images", vec![sqlite.as_path(), many.path()]),
        ] {
            let rendered = template(helm, &values, &[]);
            let objects = docs(&rendered);
            for version in KUBE_VERSIONS {
                let (ok, text) = kubernetes_validate(&kv, &rendered, version);
                assert!(
                    ok,
                    "helm {name}, {label} values, Kubernetes {version}:\n{text}"
                );
                let short = &version[..version.rfind('.').unwrap()];
                let crd = |o: &&Value| CRD_KINDS.iter().any(|k| o["kind"] == *k);
                for o in objects.iter().filter(|o| !crd(o)) {
                    let res = format!(
                        "passed for resource {}/{} against version {short}",
                        o["kind"].as_str().unwrap().to_lowercase(),
                        o["metadata"]["name"].as_str().unwrap()
                    );
                    assert!(text.contains(&res), "{label}: no '{res}' in:\n{text}");
                }
                let unchecked: Vec<&str> = text
                    .lines()
                    .filter(|l| l.contains("Couldn't find schema"))
                    .collect();
                let expected = objects.iter().filter(crd).count();
                assert_eq!(
                    unchecked.len(),
                    expected,
                    "{label}: unexpected schema-less objects: {unchecked:?}"
                );
            }
        }
    }
    // The check catches a mistake: a misspelt field in the Deployment.
    let rendered = template(&rig.helm_v4, &[sqlite.as_path()], &[])
        .replace("readinessProbe:", "readinesProbe:");
    let (ok, text) = kubernetes_validate(&kv, &rendered, KUBE_VERSIONS[0]);
    assert!(
        !ok && text.contains("readinesProbe"),
        "a misspelt field passed:\n{text}"
    );
}

#[test]
fn service_monitor_scrapes_metrics_on_the_probe_port() {
    let Some(rig) = Rig::for_test() else { return };
    let objects = docs(&template(&rig.helm_v4, &[ha_values().as_path()], &[]));
    let sm = kind(&objects, "ServiceMonitor").expect("ServiceMonitor rendered with the HA values");
    let svc = kind(&objects, "Service").expect("Service");
    assert_eq!(sm["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(sm["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(
        sm["spec"]["selector"]["matchLabels"],
        svc["spec"]["selector"]
    );
    let svc_labels = svc["metadata"]["labels"].as_object().unwrap();
    for (k, v) in sm["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(
            svc_labels.get(k),
            Some(v),
            "Service lacks label {k} the ServiceMonitor selects on"
        );
    }
    // Scraped on the probe listener, which attackers of the API port cannot crowd out.
    let ep = &sm["spec"]["endpoints"][0];
    assert_eq!(ep["port"], "probe");
    assert_eq!(svc["spec"]["ports"][1]["name"], "probe");
    assert_eq!(ep["path"], "/metrics");
}
