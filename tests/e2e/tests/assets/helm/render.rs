//! What the rendered objects say: the default install, the HA install, created secrets, NOTES,
//! and baton's own check of the rendered config.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use testkit::rig::Rig;

use super::{
    chart, docs, ha_values, helms, image, images_values, kind, kinds, sqlite_values, template,
    values_file,
};
use crate::support::{repo_root, run, run_ok};

/// The files the default config reads from /etc/baton/secrets/.
pub(crate) const SECRET_KEYS: [&str; 5] = [
    "api-tokens",
    "git-webhook-secret",
    "github-token",
    "jenkins-token",
    "wso2-password",
];

fn container(objects: &[Value]) -> &Value {
    &kind(objects, "Deployment").expect("Deployment")["spec"]["template"]["spec"]["containers"][0]
}

/// The item named `name` of the JSON list `list` (volumes, env); panics naming it if absent.
fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

/// The config the chart renders: `baton.json` in the ConfigMap (JSON, the format baton decodes
/// fastest; the Deployment points `--config` at it).
pub(crate) fn config_of(objects: &[Value]) -> Value {
    let text = kind(objects, "ConfigMap").expect("ConfigMap")["data"]["baton.json"]
        .as_str()
        .expect("ConfigMap has baton.json");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("ConfigMap baton.json: {e}\n{text}"))
}

#[test]
fn default_install_is_one_hardened_replica_on_sqlite() {
    let Some(rig) = Rig::for_test() else { return };
    for (name, helm) in helms(&rig) {
        let objects = docs(&template(helm, &[sqlite_values().as_path()], &[]));
        assert_eq!(
            kinds(&objects),
            [
                "ConfigMap",
                "Deployment",
                "PersistentVolumeClaim",
                "Pod",
                "Service",
                "ServiceAccount"
            ],
            "helm {name}"
        );
        let deploy = kind(&objects, "Deployment").unwrap();
        let pod = &deploy["spec"]["template"]["spec"];
        assert_eq!(deploy["spec"]["replicas"], 1);
        assert_eq!(deploy["spec"]["strategy"]["type"], "Recreate");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(pod["automountServiceAccountToken"], false);
        let c = container(&objects);
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(
            c["securityContext"]["capabilities"]["drop"],
            serde_json::json!(["ALL"])
        );
        assert!(
            c["resources"]["requests"]["memory"].is_string()
                && c["resources"]["limits"]["memory"].is_string()
        );
        // The probes ask the probe listener, out of reach of clients flooding the API port.
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(c["livenessProbe"]["httpGet"]["port"], "probe");
        assert_eq!(c["readinessProbe"]["httpGet"]["port"], "probe");
        assert_eq!(
            c["args"],
            serde_json::json!(["serve", "--config", "/etc/baton/config/baton.json"])
        );

        // The database lives on the claim the chart created.
        let pvc = kind(&objects, "PersistentVolumeClaim").unwrap();
        let state = named(&pod["volumes"], "state");
        assert_eq!(
            state["persistentVolumeClaim"]["claimName"],
            pvc["metadata"]["name"]
        );
        let config = config_of(&objects);
        assert_eq!(config["state"], "sqlite:///var/lib/baton/baton.db");
        assert_eq!(config["listen"], "0.0.0.0:8080");
        assert_eq!(config["products"][0]["name"], "micro-gw");
        assert_eq!(c["ports"][0]["containerPort"], 8080);
        assert_eq!(config["api"]["probe_listen"], "0.0.0.0:8081");
        assert_eq!(c["ports"][1]["name"], "probe");
        assert_eq!(c["ports"][1]["containerPort"], 8081);
        let service = kind(&objects, "Service").unwrap();
        assert_eq!(service["spec"]["ports"][1]["name"], "probe");
        assert_eq!(service["spec"]["ports"][1]["port"], 8081);
        // The Secret named in the values is mounted where the config's *_file keys point.
        let secrets = named(&pod["volumes"], "secrets");
        assert_eq!(secrets["secret"]["secretName"], "baton-secrets");
    }
}

#[test]
fn ha_install_runs_replicas_on_postgres_with_every_option() {
    let Some(rig) = Rig::for_test() else { return };
    for (name, helm) in helms(&rig) {
        let objects = docs(&template(helm, &[ha_values().as_path()], &[]));
        assert_eq!(
            kinds(&objects),
            [
                "ConfigMap",
                "Deployment",
                "Ingress",
                "NetworkPolicy",
                "Pod",
                "PodDisruptionBudget",
                "PrometheusRule",
                "Service",
                "ServiceAccount",
                "ServiceMonitor"
            ],
            "helm {name}"
        );
        let deploy = kind(&objects, "Deployment").unwrap();
        assert_eq!(deploy["spec"]["replicas"], 3);
        assert_eq!(deploy["spec"]["strategy"]["type"], "RollingUpdate");
        let c = container(&objects);
        assert!(
            c["image"].as_str().unwrap().ends_with(
                "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            )
        );
        // The postgres URL (with its password) comes from a Secret, never the ConfigMap.
        let state_env = named(&c["env"], "BATON__STATE");
        assert_eq!(
            state_env["valueFrom"]["secretKeyRef"]["name"],
            "baton-postgres"
        );
        assert_eq!(state_env["valueFrom"]["secretKeyRef"]["key"], "url");
        let config = config_of(&objects);
        assert!(
            config.get("state").is_none(),
            "state leaked into the ConfigMap: {config}"
        );
        let pod = &deploy["spec"]["template"]["spec"];
        let secrets = named(&pod["volumes"], "secrets");
        assert_eq!(secrets["secret"]["secretName"], "baton-secrets");
        // Only the webhook endpoints and the dashboard (behind its login) are exposed, not /v1.
        let ingress = kind(&objects, "Ingress").unwrap();
        let paths: Vec<&str> = ingress["spec"]["rules"][0]["http"]["paths"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["path"].as_str())
            .collect();
        assert_eq!(paths, ["/hooks", "/ui"]);
        let np = kind(&objects, "NetworkPolicy").unwrap();
        assert_eq!(
            np["spec"]["policyTypes"],
            serde_json::json!(["Ingress", "Egress"])
        );
        assert_eq!(
            np["spec"]["ingress"][0]["ports"],
            serde_json::json!([
                {"port": "http", "protocol": "TCP"},
                {"port": "probe", "protocol": "TCP"}
            ])
        );
        // Prometheus scrapes the probe listener too.
        let monitor = kind(&objects, "ServiceMonitor").unwrap();
        assert_eq!(monitor["spec"]["endpoints"][0]["port"], "probe");
        assert_eq!(
            kind(&objects, "PodDisruptionBudget").unwrap()["spec"]["minAvailable"],
            1
        );
    }
}

#[test]
fn created_secret_is_mounted_and_rolls_the_pods() {
    let Some(rig) = Rig::for_test() else { return };
    let with_token = |token: &str| {
        let mut set: Vec<String> = SECRET_KEYS[1..]
            .iter()
            .map(|k| format!("secrets.values.{k}=x"))
            .collect();
        set.push(format!("secrets.values.{}={token}", SECRET_KEYS[0]));
        let set: Vec<&str> = set.iter().map(String::as_str).collect();
        docs(&template(&rig.helm_v4, &[], &set))
    };
    let (one, two) = (with_token("one"), with_token("two"));
    let secret = kind(&one, "Secret").expect("Secret created from secrets.values");
    assert_eq!(secret["stringData"]["api-tokens"], "one");
    let checksum = |o: &[Value]| {
        kind(o, "Deployment").unwrap()["spec"]["template"]["metadata"]["annotations"]["checksum/secret"].clone()
    };
    assert!(checksum(&one).is_string());
    assert_ne!(
        checksum(&one),
        checksum(&two),
        "changing a secret must roll the pods"
    );
}

/// baton's own loader accepts the config the chart renders (default and HA values), as baton in
/// the pod will read it: `baton check --offline` with the Secret's files at the mount path
/// (here a temporary folder standing in for /etc/baton/secrets). Without one of them it fails.
#[test]
fn config_map_config_passes_baton_check_offline() {
    let Some(rig) = Rig::for_test() else { return };
    let mount = regex::Regex::new(r"/etc/baton/secrets/([A-Za-z0-9._-]+)").unwrap();
    for values in [vec![sqlite_values()], vec![ha_values()]] {
        let refs: Vec<&Path> = values.iter().map(PathBuf::as_path).collect();
        let objects = docs(&template(&rig.helm_v4, &refs, &[]));
        let text = kind(&objects, "ConfigMap").unwrap()["data"]["baton.json"]
            .as_str()
            .unwrap()
            .to_owned();
        let dir = tempfile::tempdir().unwrap();
        let secrets = dir.path().join("secrets");
        std::fs::create_dir(&secrets).unwrap();
        let keys: Vec<String> = mount
            .captures_iter(&text)
            .map(|c| c[1].to_owned())
            .collect();
        assert!(
            keys.len() >= 5,
            "secret files named by the config: {keys:?}"
        );
        for key in &keys {
            std::fs::write(secrets.join(key), "value-of-the-secret\n").unwrap();
        }
        let file = dir.path().join("baton.json");
        std::fs::write(
            &file,
            text.replace("/etc/baton/secrets/", &format!("{}/", secrets.display())),
        )
        .unwrap();
        let check = || {
            let mut cmd = Command::new(env!("CARGO"));
            cmd.current_dir(repo_root())
                .args([
                    "run",
                    "-q",
                    "-p",
                    "baton",
                    "--",
                    "check",
                    "--offline",
                    "--config",
                ])
                .arg(&file);
            if values[0] == ha_values() {
                cmd.env(
                    "BATON__STATE",
                    "postgres://baton:secret@127.0.0.1:5432/baton",
                );
            }
            cmd
        };
        let out = run_ok(&mut check());
        assert!(out.contains("all readable"), "{out}");
        std::fs::remove_file(secrets.join(&keys[0])).unwrap();
        let out = check().output().expect("run baton check");
        assert_eq!(
            out.status.code(),
            Some(1),
            "a missing secret file fails the check"
        );
    }
}

/// NOTES.txt as `helm install --dry-run=client` prints it (helm v4; v3 wants a cluster for this).
fn notes(rig: &Rig, values: &[&Path]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(&rig.helm_v4);
    cmd.args(["install", "baton"])
        .arg(chart())
        .args(["--namespace", "baton", "--dry-run=client"])
        .env("KUBECONFIG", dir.path().join("no-cluster"));
    for v in values {
        cmd.arg("-f").arg(v);
    }
    let out = run_ok(&mut cmd);
    let at = out
        .find("NOTES:")
        .unwrap_or_else(|| panic!("no NOTES in:\n{out}"));
    out[at..].to_owned()
}

#[test]
fn notes_tell_how_to_reach_and_test_baton() {
    let Some(rig) = Rig::for_test() else { return };
    let default = notes(&rig, &[sqlite_values().as_path()]);
    assert!(
        default.contains("kubectl -n baton rollout status deployment/baton"),
        "{default}"
    );
    assert!(
        default.contains(
            "http://baton.baton.svc.cluster.local:8080/v1/products/<product>/images/<image>/built"
        ),
        "{default}"
    );
    assert!(default.contains("helm test baton -n baton"), "{default}");
    let ha = notes(&rig, &[ha_values().as_path()]);
    assert!(ha.contains("(3 replica(s), state: postgres)"), "{ha}");
    assert!(ha.contains("https://baton.example.com/hooks/"), "{ha}");
    assert!(
        ha.contains("Dashboard (log in with an API token): https://baton.example.com/ui\n"),
        "{ha}"
    );
}

/// Kubernetes refuses a ConfigMap whose data passes 1 MiB. The chart writes the config as compact
/// JSON (1.45 MB for 10,000 images against 1.70 MB as YAML); past ~1 MB it moves the products
/// into ConfigMaps of their own (at most ~900 KB each), mounted as `products/NNN.json` beside
/// `baton.json`, whose `product_files` names them; baton reads them back in order.
#[test]
fn products_past_what_a_config_map_holds_move_to_config_maps_of_their_own() {
    let Some(rig) = Rig::for_test() else { return };
    let config_maps = |objects: &[Value]| -> Vec<(String, Value)> {
        objects
            .iter()
            .filter(|o| o["kind"] == "ConfigMap")
            .map(|o| {
                let name = o["metadata"]["name"].as_str().unwrap().to_owned();
                (name, o["data"].clone())
            })
            .collect()
    };
    let size = |data: &Value| -> usize {
        data.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| k.len() + v.as_str().unwrap().len())
            .sum()
    };
    let (fits, over) = (images_values(6_000), images_values(10_000));
    let huge = values_file(&serde_json::json!({"config": {"products": [
        {"name": "huge", "images": (0..8_000).map(image).collect::<Vec<_>>()}
    ]}}));
    for (name, helm) in helms(&rig) {
        // 6,000 images: one ConfigMap holds them.
        let objects = docs(&template(helm, &[&sqlite_values(), fits.path()], &[]));
        let maps = config_maps(&objects);
        assert_eq!(maps.len(), 1, "helm {name}");
        assert!(size(&maps[0].1) <= 1 << 20, "helm {name}");
        let config = config_of(&objects);
        assert_eq!(config["products"].as_array().unwrap().len(), 60);
        assert!(config.get("product_files").is_none(), "helm {name}");

        // 10,000: baton.json without products, and the products in ConfigMaps of their own.
        let objects = docs(&template(helm, &[&sqlite_values(), over.path()], &[]));
        let maps = config_maps(&objects);
        assert!(maps.len() >= 3, "helm {name}: {} ConfigMaps", maps.len());
        for (map, data) in &maps {
            assert!(
                size(data) <= 1 << 20,
                "helm {name}: {map} holds {} bytes",
                size(data)
            );
        }
        let config = config_of(&objects);
        assert!(config.get("products").is_none(), "helm {name}");
        assert_eq!(
            config["product_files"],
            serde_json::json!(["products/*.json"])
        );
        // The pod sees them as the files product_files names, as the projected volume lays out.
        let pod = &kind(&objects, "Deployment").unwrap()["spec"]["template"]["spec"];
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "config")
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let sources = volume["projected"]["sources"].as_array().unwrap();
        assert_eq!(
            sources.len(),
            maps.len(),
            "helm {name}: every ConfigMap is mounted"
        );
        for source in sources {
            let map = source["configMap"]["name"].as_str().unwrap();
            let data = &maps.iter().find(|(n, _)| n == map).unwrap().1;
            let items: Vec<(String, String)> = match source["configMap"]["items"].as_array() {
                Some(items) => items
                    .iter()
                    .map(|i| {
                        (
                            i["key"].as_str().unwrap().into(),
                            i["path"].as_str().unwrap().into(),
                        )
                    })
                    .collect(),
                None => data
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|k| (k.clone(), k.clone()))
                    .collect(),
            };
            for (key, path) in items {
                let file = dir.path().join(path);
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(file, data[&key].as_str().unwrap()).unwrap();
            }
        }
        let loaded = baton_core::config::load_with_env(
            &dir.path().join("baton.json"),
            std::collections::HashMap::new(),
        )
        .unwrap_or_else(|e| panic!("helm {name}: {e}"));
        let products = &loaded.config.products;
        assert_eq!(products.len(), 100, "helm {name}");
        assert_eq!(products[0].name, "p000");
        assert_eq!(products[99].name, "p099", "in order");
        let images: usize = products.iter().map(|p| p.images.len()).sum();
        assert_eq!(images, 10_000, "helm {name}");

        // One product must fit in a ConfigMap of its own.
        let out = run(Command::new(helm)
            .args(["template", "baton"])
            .arg(chart())
            .arg("-f")
            .arg(sqlite_values())
            .arg("-f")
            .arg(huge.path()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "helm {name} rendered a 1.1 MB product"
        );
        assert!(
            stderr.contains("product huge renders to")
                && stderr.contains("split its images over two products"),
            "{stderr}"
        );

        // product_files is the chart's to set.
        let out = run(Command::new(helm)
            .args(["template", "baton"])
            .arg(chart())
            .arg("-f")
            .arg(sqlite_values())
            .args(["--set", "config.product_files={a.json}"]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "helm {name} rendered config.product_files"
        );
        assert!(
            stderr.contains("config.product_files is set by the chart"),
            "{stderr}"
        );
    }
}
