//! kork's `Artifact` and `ExpectedArtifact` as Echo and Orca read them, written from kork
//! (`kork-artifacts/.../model/Artifact.java`, `ExpectedArtifact.java`).
//!
//! - Reading goes through Jackson: string fields take numbers and booleans as text, `kind` is
//!   ignored, unknown keys go into `metadata` (`ArtifactBuilder.putMetadata`), an object or
//!   array where a string belongs fails the whole read.
//! - Equality covers every field, metadata included (Lombok `@EqualsAndHashCode`), which is
//!   what Orca's `ImmutableSet` of received artifacts collapses on.
//! - `ExpectedArtifact.matches`: type, name, version, location, reference; an empty field
//!   matches anything, else equal or a FULL Java regex match; `embedded/base64` and
//!   `remote/base64` match each other; an invalid regex throws, and so does an incoming
//!   artifact without a type against a typed expectation (`other.equals` on null).

use serde_json::{Map, Value, json};

use super::java::{self, Thrown};

const EMBEDDED: &str = "embedded/base64";
const REMOTE: &str = "remote/base64";

/// kork `Artifact` after Jackson read it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct KArtifact {
    pub kind: Option<String>,
    pub custom_kind: bool,
    pub name: Option<String>,
    pub version: Option<String>,
    pub location: Option<String>,
    pub reference: Option<String>,
    pub metadata: Map<String, Value>,
    pub artifact_account: Option<String>,
    pub provenance: Option<String>,
    pub uuid: Option<String>,
}

impl KArtifact {
    /// Reads one artifact as Jackson does; `Err` is the message Jackson would throw.
    pub(crate) fn read(v: &Value, path: &str) -> Result<Self, String> {
        let Value::Object(fields) = v else {
            return Err(format!(
                "Cannot construct instance of `Artifact` (no delegate creator) from {} at {path}",
                java::to_string(v)
            ));
        };
        let mut a = KArtifact::default();
        for (key, value) in fields {
            let at = format!("{path}.{key}");
            let s = || java::coerce_string(value, &at);
            match key.as_str() {
                "type" => a.kind = s()?,
                "customKind" => a.custom_kind = java::coerce_bool(value, &at)?,
                "name" => a.name = s()?,
                "version" => a.version = s()?,
                "location" => a.location = s()?,
                "reference" => a.reference = s()?,
                "artifactAccount" => a.artifact_account = s()?,
                "provenance" => a.provenance = s()?,
                "uuid" => a.uuid = s()?,
                "kind" => {}
                "metadata" => match value {
                    Value::Null => {}
                    Value::Object(m) => a.metadata.extend(m.clone()),
                    _ => return Err(format!("Cannot deserialize a Map from {value} at {at}")),
                },
                _ => {
                    a.metadata.insert(key.clone(), value.clone());
                }
            }
        }
        Ok(a)
    }

    /// The JSON Orca writes back (`NON_NULL`: absent strings dropped; `customKind` and
    /// `metadata` always present).
    pub(crate) fn to_json(&self) -> Value {
        let mut m = Map::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                m.insert(k.to_owned(), Value::String(v.clone()));
            }
        };
        put("type", &self.kind);
        put("name", &self.name);
        put("version", &self.version);
        put("location", &self.location);
        put("reference", &self.reference);
        put("artifactAccount", &self.artifact_account);
        put("provenance", &self.provenance);
        put("uuid", &self.uuid);
        m.insert("customKind".into(), Value::Bool(self.custom_kind));
        m.insert("metadata".into(), Value::Object(self.metadata.clone()));
        Value::Object(m)
    }

    /// Lombok `toString`, as Orca's messages print artifacts.
    pub(crate) fn lombok(&self) -> String {
        let f = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".into());
        format!(
            "Artifact(type={}, customKind={}, name={}, version={}, location={}, reference={}, \
             metadata={}, artifactAccount={}, provenance={}, uuid={})",
            f(&self.kind),
            self.custom_kind,
            f(&self.name),
            f(&self.version),
            f(&self.location),
            f(&self.reference),
            java::to_string(&Value::Object(self.metadata.clone())),
            f(&self.artifact_account),
            f(&self.provenance),
            f(&self.uuid)
        )
    }
}

/// kork `ExpectedArtifact` after Jackson read it (unknown keys such as `displayName` ignored).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct KExpected {
    pub id: String,
    pub match_artifact: KArtifact,
    pub use_prior: bool,
    pub use_default: bool,
    pub default_artifact: Option<KArtifact>,
}

impl KExpected {
    pub(crate) fn read(v: &Value, path: &str) -> Result<Self, String> {
        let Value::Object(fields) = v else {
            return Err(format!(
                "Cannot construct `ExpectedArtifact` from {v} at {path}"
            ));
        };
        let artifact = |key: &str| -> Result<Option<KArtifact>, String> {
            match fields.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(a) => KArtifact::read(a, &format!("{path}.{key}")).map(Some),
            }
        };
        let flag = |key: &str| {
            fields.get(key).map_or(Ok(false), |b| {
                java::coerce_bool(b, &format!("{path}.{key}"))
            })
        };
        Ok(KExpected {
            id: match fields.get("id") {
                Some(id) => java::coerce_string(id, &format!("{path}.id"))?.unwrap_or_default(),
                None => String::new(),
            },
            match_artifact: artifact("matchArtifact")?.unwrap_or_default(),
            use_prior: flag("usePriorArtifact")?,
            use_default: flag("useDefaultArtifact")?,
            default_artifact: artifact("defaultArtifact")?,
        })
    }

    /// `ExpectedArtifact.matches(other)`.
    pub(crate) fn matches(&self, other: &KArtifact) -> Result<bool, Thrown> {
        let m = &self.match_artifact;
        if !match_types(m.kind.as_deref(), other.kind.as_deref())? {
            return Ok(false);
        }
        for (ours, theirs) in [
            (&m.name, &other.name),
            (&m.version, &other.version),
            (&m.location, &other.location),
            (&m.reference, &other.reference),
        ] {
            if !field(ours.as_deref(), theirs.as_deref())? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Lombok `toString`, as Orca's messages print expected artifacts.
    pub(crate) fn lombok(&self, bound: Option<&KArtifact>) -> String {
        let opt = |a: Option<&KArtifact>| a.map_or_else(|| "null".to_owned(), KArtifact::lombok);
        format!(
            "ExpectedArtifact(matchArtifact={}, usePriorArtifact={}, useDefaultArtifact={}, \
             defaultArtifact={}, id={}, boundArtifact={})",
            self.match_artifact.lombok(),
            self.use_prior,
            self.use_default,
            opt(self.default_artifact.as_ref()),
            self.id,
            opt(bound)
        )
    }

    /// The expected artifact as Orca stores it in `trigger.resolvedExpectedArtifacts`.
    pub(crate) fn to_json(&self, bound: &KArtifact) -> Value {
        let mut v = json!({
            "id": self.id,
            "matchArtifact": self.match_artifact.to_json(),
            "usePriorArtifact": self.use_prior,
            "useDefaultArtifact": self.use_default,
            "boundArtifact": bound.to_json(),
        });
        if let Some(d) = &self.default_artifact {
            v["defaultArtifact"] = d.to_json();
        }
        v
    }
}

fn field(ours: Option<&str>, other: Option<&str>) -> Result<bool, Thrown> {
    let Some(ours) = ours.filter(|s| !s.is_empty()) else {
        return Ok(true);
    };
    let Some(other) = other else {
        return Ok(false);
    };
    Ok(ours == other || java::full_match(ours, other)?)
}

fn match_types(ours: Option<&str>, other: Option<&str>) -> Result<bool, Thrown> {
    if field(ours, other)? {
        return Ok(true);
    }
    // `us.equals(...)` / `other.equals(...)` on a null type throws.
    let ours = ours.ok_or_else(|| Thrown::npe("matchArtifact.type is null"))?;
    if ours == EMBEDDED {
        let other = other.ok_or_else(|| Thrown::npe("artifact type is null"))?;
        return Ok(other == REMOTE);
    }
    let other = other.ok_or_else(|| Thrown::npe("artifact type is null"))?;
    Ok(other == EMBEDDED && ours == REMOTE)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn jackson_reads_numbers_as_text_and_unknown_keys_as_metadata() {
        let a = KArtifact::read(
            &json!({"type": "helm/chart", "version": 3, "kind": "x", "extra": 1}),
            "a",
        )
        .unwrap();
        assert_eq!(a.version.as_deref(), Some("3"));
        assert_eq!(a.metadata.get("extra"), Some(&json!(1)));
        assert!(KArtifact::read(&json!({"name": {"a": 1}}), "a").is_err());
        assert!(KArtifact::read(&json!("x"), "a").is_err());
    }

    #[test]
    fn matching_follows_kork() {
        let e = KExpected::read(
            &json!({"id": "v", "matchArtifact": {"type": "embedded/base64", "name": "values-dev\\.yaml"}}),
            "e",
        )
        .unwrap();
        let remote = KArtifact::read(
            &json!({"type": "remote/base64", "name": "values-dev.yaml"}),
            "a",
        )
        .unwrap();
        assert_eq!(e.matches(&remote), Ok(true));
        let untyped = KArtifact::read(&json!({"name": "values-dev.yaml"}), "a").unwrap();
        assert!(e.matches(&untyped).is_err(), "kork throws on a null type");
        let bad = KExpected::read(&json!({"matchArtifact": {"name": "[x"}}), "e").unwrap();
        assert!(bad.matches(&remote).is_err());
    }
}
