//! What a platform team meets first when installing the chart: rendering refuses an install whose
//! secrets are missing, the default image is the one `scripts/image build` tags and a digest pins
//! it, `helm test` really asks `/readyz`, HA replicas spread over nodes and zones, and the ingress
//! serves the dashboard where baton does.

use std::process::Command;

use serde_json::Value;
use testkit::rig::Rig;

use super::render::SECRET_KEYS;
use super::{chart, docs, ha_values, helms, kind, sqlite_values, template};
use crate::support::{self as assets, run, run_ok};
use std::path::Path;

/// `helm template` that is expected to fail; returns stderr.
fn refused(helm: &std::path::Path, set: &[&str]) -> String {
    let mut cmd = Command::new(helm);
    cmd.args(["template", "baton"]).arg(chart());
    for s in set {
        cmd.args(["--set", s]);
    }
    let out = run(&mut cmd);
    assert!(!out.status.success(), "rendered with {set:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn chart_refuses_to_render_without_the_secrets_the_config_reads() {
    let Some(rig) = Rig::for_test() else { return };
    for (name, helm) in helms(&rig) {
        // The defaults name five secret files and provide none.
        let err = refused(helm, &[]);
        assert!(
            err.contains(&format!(
                "the config reads secret files under /etc/baton/secrets/ ({})",
                SECRET_KEYS.join(", ")
            )) && err.contains("set secrets.existingSecret=<its name>"),
            "helm {name}: {err}"
        );
        // Created from values: every key the config reads must be there.
        let err = refused(
            helm,
            &[
                "secrets.values.api-tokens=t",
                "secrets.values.jenkins-token=t",
            ],
        );
        assert!(
            err.contains("secrets.values lacks git-webhook-secret, github-token, wso2-password"),
            "helm {name}: {err}"
        );
        // A config that reads no secret file needs no Secret (null removes a default key).
        let objects = docs(&run_ok(Command::new(helm).args(["template", "baton"]).arg(chart()).args([
            "--set",
            "config.api_tokens_file=null,config.jenkins=null,config.registries=null,config.git=null",
        ])));
        assert!(kind(&objects, "Deployment").is_some(), "helm {name}");
    }
}

fn image_of(objects: &[Value]) -> String {
    kind(objects, "Deployment").expect("Deployment")["spec"]["template"]["spec"]["containers"][0]
        ["image"]
        .as_str()
        .expect("image")
        .to_owned()
}

#[test]
fn default_image_is_what_scripts_image_builds_and_a_digest_pins_it() {
    let Some(rig) = Rig::for_test() else { return };
    let version = assets::read("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .map(|v| v.trim_end_matches('"').to_owned())
        .expect("workspace version");
    let chart_yaml = assets::yaml(&assets::read("helm/baton/Chart.yaml"), "Chart.yaml");
    assert_eq!(
        chart_yaml["appVersion"],
        version.as_str(),
        "appVersion follows the crate version"
    );
    assert!(
        assets::read("scripts/image").contains("IMAGE=${BATON_IMAGE:-localhost/baton:$VERSION}"),
        "scripts/image no longer tags localhost/baton:<version>"
    );
    let sqlite = sqlite_values();
    let values = [sqlite.as_path()];
    let digest = format!("sha256:{}", "ab".repeat(32));
    let pinned = format!("image.digest={digest}");
    for (name, helm) in helms(&rig) {
        let objects = docs(&template(helm, &values, &[]));
        assert_eq!(
            image_of(&objects),
            format!("localhost/baton:{version}"),
            "helm {name}"
        );
        let test_pod = kind(&objects, "Pod").expect("helm test pod");
        assert_eq!(
            test_pod["spec"]["containers"][0]["image"],
            image_of(&objects).as_str()
        );
        let objects = docs(&template(helm, &values, &[&pinned, "image.tag=ignored"]));
        assert_eq!(
            image_of(&objects),
            format!("localhost/baton@{digest}"),
            "helm {name}"
        );
        let objects = docs(&template(
            helm,
            &values,
            &[
                "image.repository=registry.example.com/baton",
                "image.tag=0.2.0",
            ],
        ));
        assert_eq!(
            image_of(&objects),
            "registry.example.com/baton:0.2.0",
            "helm {name}"
        );
    }
}

/// Runs the `helm test` pod's script with bash against a local listener answering `status`.
fn run_helm_test_script(rig: &Rig, status: u16) -> (bool, String, Option<String>) {
    let (base, served) = assets::http::serve_once(status, "{\"status\":\"ready\"}");
    let port = base.rsplit(':').next().unwrap();
    let objects = docs(&template(
        &rig.helm_v4,
        &[sqlite_values().as_path()],
        &[&format!("probes.port={port}")],
    ));
    let pod = kind(&objects, "Pod").expect("helm test pod");
    assert_eq!(pod["metadata"]["annotations"]["helm.sh/hook"], "test");
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["command"], serde_json::json!(["/bin/bash", "-c"]));
    let script = c["args"][0].as_str().expect("script");
    assert!(script.contains("host=baton.baton.svc\n"), "{script}");
    let script = script.replace("host=baton.baton.svc\n", "host=127.0.0.1\n");
    let out = run(Command::new("bash").args(["-c", &script]));
    let request = served.join().unwrap().map(|r| r.request_line);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success(), text, request)
}

#[test]
fn helm_test_pod_asks_the_services_probe_port_for_readyz() {
    let Some(rig) = Rig::for_test() else { return };
    let (ok, out, request) = run_helm_test_script(&rig, 200);
    assert!(ok, "{out}");
    assert_eq!(request.as_deref(), Some("GET /readyz HTTP/1.0"));
    assert!(out.contains("/readyz: HTTP/1.1 200"), "{out}");
    let (ok, out, _) = run_helm_test_script(&rig, 503);
    assert!(!ok, "a 503 from /readyz passed the helm test: {out}");
}

#[test]
fn ha_replicas_spread_over_nodes_and_zones() {
    let Some(rig) = Rig::for_test() else { return };
    let spread = |values: &[&std::path::Path], set: &[&str]| {
        let objects = docs(&template(&rig.helm_v4, values, set));
        kind(&objects, "Deployment").unwrap()["spec"]["template"]["spec"]
            ["topologySpreadConstraints"]
            .clone()
    };
    let ha = ha_values();
    let default = spread(&[ha.as_path()], &[]);
    let keys: Vec<&str> = default
        .as_array()
        .expect("constraints with 3 replicas")
        .iter()
        .map(|c| c["topologyKey"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
    );
    for c in default.as_array().unwrap() {
        assert_eq!(c["whenUnsatisfiable"], "ScheduleAnyway");
        assert_eq!(
            c["labelSelector"]["matchLabels"]["app.kubernetes.io/name"],
            "baton"
        );
        assert_eq!(
            c["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"],
            "baton"
        );
    }
    // One replica: nothing to spread. Given constraints win.
    assert!(spread(&[sqlite_values().as_path()], &[]).is_null());
    let own = spread(
        &[ha.as_path()],
        &[
            "topologySpreadConstraints[0].maxSkew=2",
            "topologySpreadConstraints[0].topologyKey=rack",
            "topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule",
        ],
    );
    assert_eq!(own.as_array().unwrap().len(), 1);
    assert_eq!(own[0]["topologyKey"], "rack");
}

/// The ingress serves the dashboard at baton's own `config.ui.path_prefix` (issue 19): one
/// setting moves both, `config.ui.enabled: false` drops it, and `/` (which would expose the
/// API) is refused with what to set instead.
#[test]
fn ingress_serves_the_dashboard_at_its_path_prefix() {
    let Some(rig) = Rig::for_test() else { return };
    let paths = |helm: &Path, set: &[&str]| -> Vec<String> {
        let objects = docs(&template(helm, &[ha_values().as_path()], set));
        let ingress = kind(&objects, "Ingress").expect("Ingress");
        ingress["spec"]["rules"][0]["http"]["paths"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["path"].as_str().map(str::to_owned))
            .collect()
    };
    for (name, helm) in helms(&rig) {
        let sub = ["config.ui.path_prefix=/baton/ui/"];
        assert_eq!(paths(helm, &sub), ["/hooks", "/baton/ui"], "helm {name}");
        let objects = docs(&template(helm, &[ha_values().as_path()], &sub));
        assert_eq!(
            super::render::config_of(&objects)["ui"]["path_prefix"],
            "/baton/ui/",
            "helm {name}: baton serves where the ingress points"
        );
        let off = ["config.ui.enabled=false"];
        assert_eq!(paths(helm, &off), ["/hooks"], "helm {name}");
        let listed = ["ingress.paths={/hooks,/ui}"];
        assert_eq!(
            paths(helm, &listed),
            ["/hooks", "/ui"],
            "helm {name}: no duplicate"
        );
        let err = refused(
            helm,
            &[
                "secrets.existingSecret=baton-secrets",
                "ingress.enabled=true",
                "config.ui.path_prefix=/",
            ],
        );
        assert!(
            err.contains("config.ui.path_prefix is /") && err.contains("set a sub-path"),
            "helm {name}: {err}"
        );
    }
}
