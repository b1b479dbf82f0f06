//! Every `${...}` the JCasC values resolve names a secret the chart mounts (or one the chart makes
//! itself), and every mounted secret key is used: the kind of drift that shipped the seed system
//! with a values file missing from a trigger.

use std::collections::BTreeSet;

use regex::Regex;

use crate::support::{read, yaml};

/// The `${...}` references in `text`, by name (a `:-default` stripped; `^${...}` is JCasC's escape
/// and not a reference).
fn references(text: &str) -> BTreeSet<String> {
    let re = Regex::new(r"(?:^|[^\^])\$\{([A-Za-z0-9_.-]+)(:-[^}]*)?\}").expect("regex");
    re.captures_iter(text).map(|c| c[1].to_owned()).collect()
}

#[test]
fn jcasc_references_only_mounted_secrets_and_uses_each() {
    let text = read("jenkins/casc/values.yaml");
    let values = yaml(&text, "jenkins/casc/values.yaml");
    let controller = &values["controller"];

    // What the chart mounts from existing secrets: /run/secrets/additional/<name>-<keyName>,
    // resolvable in JCasC as ${<name>-<keyName>}.
    let mounted: BTreeSet<String> = controller["additionalExistingSecrets"]
        .as_array()
        .expect("controller.additionalExistingSecrets")
        .iter()
        .map(|s| {
            format!(
                "{}-{}",
                s["name"].as_str().expect("name"),
                s["keyName"].as_str().expect("keyName")
            )
        })
        .collect();

    let casc = &controller["JCasC"];
    let mut jcasc_text = String::new();
    for key in ["securityRealm", "authorizationStrategy"] {
        jcasc_text.push_str(casc[key].as_str().expect(key));
    }
    for script in casc["configScripts"]
        .as_object()
        .expect("configScripts")
        .values()
    {
        jcasc_text.push_str(script.as_str().expect("config script text"));
    }
    let refs = references(&jcasc_text);
    // The chart's own admin secret, and environment variables with defaults, need no mount.
    let chart_made = ["chart-admin-username", "chart-admin-password"];
    let with_default: BTreeSet<String> = Regex::new(r"\$\{([A-Za-z0-9_]+):-")
        .unwrap()
        .captures_iter(&jcasc_text)
        .map(|c| c[1].to_owned())
        .collect();
    for r in &refs {
        assert!(
            mounted.contains(r) || chart_made.contains(&r.as_str()) || with_default.contains(r),
            "JCasC resolves ${{{r}}} but no additionalExistingSecrets entry mounts it"
        );
    }

    // Init scripts read their secrets as files under the same mount.
    let mut used: BTreeSet<String> = refs;
    let file_re = Regex::new(r"/run/secrets/additional/([A-Za-z0-9_.-]+)").unwrap();
    for (name, script) in controller["initScripts"].as_object().expect("initScripts") {
        for c in file_re.captures_iter(script.as_str().expect("init script")) {
            assert!(
                mounted.contains(&c[1]),
                "init script {name} reads {} which is not mounted",
                &c[1]
            );
            used.insert(c[1].to_owned());
        }
    }
    let unused: Vec<&String> = mounted.difference(&used).collect();
    assert!(unused.is_empty(), "mounted but never used: {unused:?}");
}

#[test]
fn reference_scan_sees_what_it_must() {
    let refs =
        references(r#"a: "${baton-jenkins-x}" b: ${ENV_VAR:-http://d} c: ^${escaped} d: $plain"#);
    let want: BTreeSet<String> = ["baton-jenkins-x", "ENV_VAR"].map(String::from).into();
    assert_eq!(refs, want);
}
