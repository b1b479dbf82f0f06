//! Idempotency keys (docs/wire.md, "Idempotency"). A key names the *content* of an
//! effect, so the same content is never sent twice however it was reached.

use sha2::{Digest, Sha256};

/// Chart event key: product + chart + version + .tgz digest + sha256 of each values file.
/// `values` are `(environment, sha256)`; their order does not matter. Commits are not part of
/// it: a docs-only commit changes nothing and sends nothing.
pub fn chart(
    product: &str,
    chart: &str,
    version: &str,
    tgz_digest: &str,
    values: &[(&str, &str)],
) -> String {
    let mut values: Vec<_> = values.to_vec();
    values.sort();
    let mut h = Sha256::new();
    for part in [product, chart, version, tgz_digest] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for (env, digest) in values {
        h.update(env.as_bytes());
        h.update([b'=']);
        h.update(digest.as_bytes());
        h.update([0]);
    }
    format!("chart:{product}:{}", hex::encode(h.finalize()))
}

/// Rebuild key: product + image + base digest + artifact-source commit (empty if none).
pub fn rebuild(product: &str, image: &str, base_digest: &str, commit: Option<&str>) -> String {
    format!(
        "rebuild:{product}:{image}:{base_digest}:{}",
        commit.unwrap_or("")
    )
}

/// A rebuild an operator asked for: unique per request, since asking again means "build again".
pub fn manual_rebuild(product: &str, image: &str, event_id: &str) -> String {
    format!("rebuild:{product}:{image}:manual:{event_id}")
}

/// Image event key: one Spinnaker image event per pushed digest.
pub fn image(product: &str, image: &str, digest: &str) -> String {
    format!("image:{product}:{image}:{digest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_key_follows_content_not_order() {
        let a = chart(
            "p",
            "c",
            "1.0.0",
            "sha256:t",
            &[("dev", "sha256:1"), ("prod", "sha256:2")],
        );
        let b = chart(
            "p",
            "c",
            "1.0.0",
            "sha256:t",
            &[("prod", "sha256:2"), ("dev", "sha256:1")],
        );
        assert_eq!(a, b);
        assert!(a.starts_with("chart:p:"));
        let changed = chart(
            "p",
            "c",
            "1.0.0",
            "sha256:t",
            &[("dev", "sha256:1"), ("prod", "sha256:3")],
        );
        assert_ne!(a, changed);
        assert_ne!(
            a,
            chart(
                "p",
                "c",
                "1.0.1",
                "sha256:t",
                &[("dev", "sha256:1"), ("prod", "sha256:2")]
            )
        );
        // Field boundaries are kept: moving a character between fields changes the key.
        assert_ne!(
            chart("ab", "c", "1", "d", &[]),
            chart("a", "bc", "1", "d", &[])
        );
    }

    #[test]
    fn rebuild_and_image_keys() {
        assert_eq!(
            rebuild("p", "i", "sha256:b", Some("abc")),
            "rebuild:p:i:sha256:b:abc"
        );
        assert_eq!(rebuild("p", "i", "sha256:b", None), "rebuild:p:i:sha256:b:");
        assert_ne!(
            manual_rebuild("p", "i", "ev-1"),
            manual_rebuild("p", "i", "ev-2")
        );
        assert_eq!(image("p", "i", "sha256:d"), "image:p:i:sha256:d");
    }
}
