//! Property tests of the parsers that read what registries, Helm repositories and git hosts
//! send (issue 17, "Prove it"): values YAML, `index.yaml`, `WWW-Authenticate` challenges, image
//! indexes and image references. Arbitrary input never panics and never escapes the limits;
//! well-formed input generated from its parts parses back to those parts.
//!
//! `PROPTEST_CASES=100000 cargo test -p baton-sources --test sources parsers_prop --release` runs a
//! long campaign (docs/hardening.md).

use baton_sources::helm::index::parse_index;
use baton_sources::registry::challenge::{Challenge, parse_challenge};
use baton_sources::registry::{ImageReference, Platform, select_platform};
use baton_sources::yaml::{YamlLimits, validate};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    // Mostly the characters these formats are made of, plus anything.
    prop_oneof![
        "[a-zA-Z0-9 :,\"'=&*!|>\\[\\]{}#\\n\\t.-]{0,200}",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn values_yaml_never_panics_and_respects_limits(bytes in proptest::collection::vec(any::<u8>(), 0..512), s in text()) {
        let limits = YamlLimits { max_bytes: 4096, max_depth: 16, max_events: 2_000, max_aliases: 8 };
        let _ = validate(&bytes, &limits);
        let _ = validate(s.as_bytes(), &limits);
    }

    #[test]
    fn alias_chains_are_refused_not_expanded(width in 2usize..12, depth in 2usize..12) {
        let mut doc = String::from("a0: &a0 [x]\n");
        for i in 1..depth {
            let refs = vec![format!("*a{}", i - 1); width].join(",");
            doc.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        // The default budget's shape, scaled down so each case stays fast.
        let limits = YamlLimits { max_events: 20_000, ..YamlLimits::default() };
        // Either it fits the budget or a limit refuses it: never an expansion past the budget.
        let expanded = (width as f64).powi(depth as i32 - 1);
        if expanded > limits.max_events as f64 {
            prop_assert!(validate(doc.as_bytes(), &limits).is_err());
        }
    }

    #[test]
    fn generated_values_files_are_valid(keys in proptest::collection::btree_map("[a-z][a-z0-9_]{0,12}", "[a-zA-Z0-9 ._-]{0,20}", 0..20)) {
        let doc: String = keys.iter().map(|(k, v)| format!("{k}: \"{v}\"\n")).collect();
        prop_assert!(validate(doc.as_bytes(), &YamlLimits::default()).is_ok(), "{doc}");
    }

    #[test]
    fn index_yaml_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024), s in text()) {
        let _ = parse_index(&bytes, "chart", "prop");
        let _ = parse_index(s.as_bytes(), "chart", "prop");
    }

    #[test]
    fn index_yaml_lists_exactly_the_generated_versions(
        versions in proptest::collection::btree_set((0u64..20, 0u64..20, 0u64..20), 1..15),
        other in proptest::collection::btree_set((0u64..5, 0u64..5, 0u64..5), 0..5),
    ) {
        let mut doc = String::from("apiVersion: v1\nentries:\n  other:\n");
        for (a, b, c) in &other {
            doc.push_str(&format!("    - name: other\n      version: {a}.{b}.{c}\n      urls: [other-{a}.{b}.{c}.tgz]\n"));
        }
        doc.push_str("  mychart:\n");
        for (a, b, c) in &versions {
            doc.push_str(&format!("    - name: mychart\n      version: {a}.{b}.{c}\n      urls: [mychart-{a}.{b}.{c}.tgz]\n"));
        }
        let entries = parse_index(doc.as_bytes(), "mychart", "prop").expect("valid index");
        let mut got: Vec<String> = entries.iter().map(|e| e.version.clone()).collect();
        let mut want: Vec<String> = versions.iter().map(|(a, b, c)| format!("{a}.{b}.{c}")).collect();
        got.sort();
        want.sort();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn challenges_never_panic(s in text()) {
        let _ = parse_challenge(&s);
        let _ = parse_challenge(&format!("Bearer {s}"));
    }

    #[test]
    fn bearer_challenges_round_trip(
        realm in "https://[a-z]{1,10}\\.example/[a-z]{0,10}",
        service in proptest::option::of("[a-zA-Z0-9.:-]{1,20}"),
        scope in proptest::option::of("repository:[a-z/]{1,20}:pull"),
    ) {
        let mut h = format!("Bearer realm=\"{realm}\"");
        if let Some(s) = &service { h.push_str(&format!(",service=\"{s}\"")); }
        if let Some(s) = &scope { h.push_str(&format!(",scope=\"{s}\"")); }
        prop_assert_eq!(parse_challenge(&h), Some(Challenge::Bearer { realm, service, scope }));
    }

    #[test]
    fn image_indexes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024), s in text()) {
        let want = Platform::try_from("linux/amd64".to_owned()).unwrap();
        let _ = select_platform(&bytes, &want, "prop");
        let _ = select_platform(s.as_bytes(), &want, "prop");
    }

    #[test]
    fn the_wanted_platform_is_found_in_a_generated_index(
        arches in proptest::collection::btree_set("(amd64|arm64|s390x|ppc64le|riscv64)", 1..5),
    ) {
        let manifests: Vec<String> = arches.iter().enumerate().map(|(i, a)| format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{i:064x}","size":1,"platform":{{"os":"linux","architecture":"{a}"}}}}"#
        )).collect();
        let doc = format!(r#"{{"schemaVersion":2,"manifests":[{}]}}"#, manifests.join(","));
        for (i, a) in arches.iter().enumerate() {
            let want = Platform::try_from(format!("linux/{a}")).unwrap();
            let got = select_platform(doc.as_bytes(), &want, "prop").expect("valid index");
            prop_assert_eq!(got, Some(format!("sha256:{i:064x}")));
        }
    }

    #[test]
    fn image_references_never_panic_and_round_trip(s in text(),
        host in "[a-z]{1,8}\\.example(:[1-9][0-9]{0,3})?",
        repo in "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}",
        tag in "[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,20}",
    ) {
        let _ = ImageReference::parse(&s);
        let written = format!("{host}/{repo}:{tag}");
        let r = ImageReference::parse(&written).expect("valid reference");
        prop_assert_eq!(r.to_string(), written);
        prop_assert_eq!(r.manifest_ref(), tag.as_str());
    }
}
