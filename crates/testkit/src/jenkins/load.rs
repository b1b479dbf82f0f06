//! Reading a [`ServerSpec`] from a YAML or JSON file and checking what serde cannot.

use std::path::Path;

use super::spec::{ParamKind, ServerSpec};

/// Errors reading a spec file. A variant with a `source` names only where and what; print the
/// cause with it through `baton_http::chain` (or `anyhow`'s `{:#}`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read jenkins stand-in spec {path}")]
    Read {
        /// File path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The YAML did not parse.
    #[error("{path}: invalid YAML jenkins stand-in spec")]
    Yaml {
        /// File path.
        path: String,
        /// Cause.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// The JSON did not parse.
    #[error("{path}: invalid JSON jenkins stand-in spec")]
    Json {
        /// File path.
        path: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// Address asked for.
        addr: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A value is out of range.
    #[error("{path}: {what}")]
    Invalid {
        /// File path or "spec".
        path: String,
        /// What is wrong and how to fix it.
        what: String,
    },
}

impl ServerSpec {
    /// Reads a spec from a `.json`, `.yaml` or `.yml` file.
    pub fn from_file(path: &Path) -> Result<Self, SpecError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
            path: shown.clone(),
            source,
        })?;
        let spec: ServerSpec = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|source| SpecError::Json {
                path: shown.clone(),
                source,
            })?
        } else {
            serde_saphyr::from_str(&text).map_err(|source| SpecError::Yaml {
                path: shown.clone(),
                source: Box::new(source),
            })?
        };
        spec.validate(&shown)?;
        Ok(spec)
    }

    /// Checks values that serde cannot.
    pub fn validate(&self, path: &str) -> Result<(), SpecError> {
        let bad = |what: String| SpecError::Invalid {
            path: path.to_owned(),
            what,
        };
        if self.executors == 0 {
            return Err(bad("executors: must be at least 1".into()));
        }
        if !self.context_path.is_empty()
            && (!self.context_path.starts_with('/') || self.context_path.ends_with('/'))
        {
            return Err(bad(format!(
                "context_path: {:?} must start with '/' and not end with one, e.g. \"/jenkins\"",
                self.context_path
            )));
        }
        const RESULTS: [&str; 5] = ["SUCCESS", "UNSTABLE", "FAILURE", "NOT_BUILT", "ABORTED"];
        for (i, job) in self.jobs.iter().enumerate() {
            if job.path.is_empty() || job.path.split('/').any(str::is_empty) {
                return Err(bad(format!(
                    "jobs[{i}].path: {:?} must be folder/…/name with no empty segment",
                    job.path
                )));
            }
            if !RESULTS.contains(&job.script.result.as_str()) {
                return Err(bad(format!(
                    "jobs[{i}].script.result: {:?} is not one of {RESULTS:?}",
                    job.script.result
                )));
            }
            let staged: std::time::Duration = job.script.stages.iter().map(|s| s.duration).sum();
            if staged > job.script.duration {
                return Err(bad(format!(
                    "jobs[{i}].script.stages: the stages take {staged:?} but the build runs {:?}; \
                     raise script.duration to at least the sum of the stage durations",
                    job.script.duration
                )));
            }
            for (k, p) in job.parameters.iter().enumerate() {
                if p.kind == ParamKind::Choice && p.choices.is_empty() {
                    return Err(bad(format!(
                        "jobs[{i}].parameters[{k}].choices: a choice parameter needs at least one choice"
                    )));
                }
            }
        }
        Ok(())
    }
}
