//! `product_files`: products from other files, in order, with problems named in their file.

use std::collections::HashMap;
use std::path::Path;

use super::*;

fn write(dir: &Path, name: &str, text: &str) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn names(l: &Loaded) -> Vec<&str> {
    l.config.products.iter().map(|p| p.name.as_str()).collect()
}

fn problems(dir: &Path) -> Vec<Problem> {
    load_with_env(&dir.join("baton.yaml"), HashMap::new())
        .unwrap_err()
        .problems
}

fn has(problems: &[Problem], path: &str, needle: &str) -> bool {
    problems
        .iter()
        .any(|p| p.path == path && p.message.contains(needle))
}

const IMAGE: &str = r#"{"name": "img", "base": "registry.example.com/base:1", "check": "*/5 * * * *", "target": "registry.example.com/acme/img", "jenkins_job": "acme/img"}"#;

#[test]
fn files_add_their_products_in_order_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "baton.yaml",
        "jenkins: {url: 'https://jenkins.example.com', user: u, token_file: jt}\nspinnaker: {gate_url: 'https://gate.example.com'}\nproducts:\n  - name: own\nproduct_files: [teams/*.json, extra.toml, more.yml]\n",
    );
    write(
        dir.path(),
        "teams/b.json",
        &format!(r#"{{"products": [{{"name": "b1", "images": [{IMAGE}]}}, {{"name": "b2"}}]}}"#),
    );
    write(
        dir.path(),
        "teams/a.json",
        r#"{"products": [{"name": "a1"}]}"#,
    );
    write(dir.path(), "teams/notes.txt", "not matched by the pattern");
    write(dir.path(), "extra.toml", "[[products]]\nname = \"t1\"\n");
    write(dir.path(), "more.yml", "products:\n  - name: y1\n");
    let l = load_with_env(&dir.path().join("baton.yaml"), HashMap::new()).unwrap();
    assert_eq!(names(&l), ["own", "a1", "b1", "b2", "t1", "y1"]);
    let img = &l.product("b1").unwrap().images[0];
    assert_eq!(img.jenkins_job, "acme/img");
    assert_eq!(img.check.as_ref().map(|c| c.as_str()), Some("*/5 * * * *"));
}

#[test]
fn a_problem_in_a_file_is_named_by_the_file_and_its_own_index() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "baton.yaml",
        "products:\n  - name: own\nproduct_files: [teams/*.yaml]\n",
    );
    write(
        dir.path(),
        "teams/a.yaml",
        "products:\n  - name: a1\n  - name: a2\n    colour: blue\n    images:\n      - {name: i, base: 'r.example.com/b:1', check: 'not a cron', target: 'r.example.com/t', jenkins_job: j}\n",
    );
    write(
        dir.path(),
        "teams/b.yaml",
        "state: sqlite://elsewhere.db\nproducts:\n  - name: b1\n  - name: own\n",
    );
    let p = problems(dir.path());
    assert!(
        has(&p, "teams/a.yaml: products[1].colour", "unknown key"),
        "{p:?}"
    );
    assert!(
        has(&p, "teams/a.yaml: products[1].images[0].check", "cron"),
        "{p:?}"
    );
    assert!(has(&p, "teams/b.yaml: state", "unknown key"), "{p:?}");

    // Once the files decode, whole-config checks name the file too: `own` is defined twice.
    write(dir.path(), "teams/a.yaml", "products:\n  - name: a1\n");
    write(
        dir.path(),
        "teams/b.yaml",
        "products:\n  - name: b1\n  - name: own\n",
    );
    let p = problems(dir.path());
    assert!(
        has(
            &p,
            "teams/b.yaml: products[1].name",
            "\"own\" is defined twice"
        ),
        "{p:?}"
    );
    // The config's own products keep their paths.
    assert!(!p.iter().any(|p| p.path.starts_with("products[")), "{p:?}");
}

#[test]
fn an_entry_that_names_no_file_is_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "baton.yaml",
        "products:\n  - name: own\nproduct_files: [none/*.json, missing.json, bad.ini]\n",
    );
    write(dir.path(), "bad.ini", "products = x");
    let p = problems(dir.path());
    assert!(
        has(&p, "product_files[0]", "no file matches \"none/*.json\""),
        "{p:?}"
    );
    assert!(has(&p, "missing.json", "cannot read the file"), "{p:?}");
    assert!(has(&p, "bad.ini", "unknown format"), "{p:?}");
}

#[test]
fn more_files_than_the_limit_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "baton.yaml",
        "products:\n  - name: own\nproduct_files: ['many/*.yaml']\n",
    );
    for i in 0..=product_files::MAX_FILES {
        write(dir.path(), &format!("many/{i:04}.yaml"), "products: []\n");
    }
    let p = problems(dir.path());
    assert!(
        has(&p, "product_files", "1001 files; at most 1000"),
        "{p:?}"
    );
}
