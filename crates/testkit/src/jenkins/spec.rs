//! What the Jenkins stand-in serves: users, jobs, parameters and build scripts.
//!
//! A [`ServerSpec`] can be built in code or read from a YAML or JSON file
//! ([`ServerSpec::from_file`]), so tests, `baton demo` and manual trials share one format:
//!
//! ```yaml
//! version: "2.479.3"          # sent as X-Jenkins
//! executors: 2
//! csrf: true                  # crumb issuer on (API-token calls are exempt, as in Jenkins)
//! users:
//!   - { name: baton, api_token: "test-token-not-secret", password: "pw" }
//!   - { name: viewer, api_token: "viewer-token", read_only: true }
//! jobs:
//!   - path: micro-gw/petstore-image
//!     quiet_period: 1s
//!     parameters:
//!       - { name: BASE_DIGEST, kind: string, default: "" }
//!       - { name: CAUSE, kind: choice, choices: [base-image, artifact-source, manual] }
//!     script:
//!       duration: 20s
//!       result: SUCCESS
//!       console: ["Pulling base", "Pushing image"]
//!       stages: [{ name: Build, duration: 15s }, { name: Push, duration: 5s }]  # wfapi/describe
//!   - { path: old-job, disabled: true }
//! ```

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

/// The parameters baton's image rebuild sends a Jenkins job, in order (docs/wire.md, "Image
/// rebuild"): the stand-in's image jobs take them, and the shipped Jenkinsfile declares them.
pub const REBUILD_PARAMETERS: [&str; 7] = [
    "BASE_IMAGE",
    "BASE_DIGEST",
    "BASE_REF",
    "TARGET_IMAGE",
    "GIT_COMMIT",
    "CAUSE",
    "BATON_EVENT",
];

/// The whole stand-in configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// Version reported in the `X-Jenkins` header.
    #[serde(default = "default_version")]
    pub version: String,
    /// Number of executors on the built-in node.
    #[serde(default = "default_executors")]
    pub executors: usize,
    /// Whether the crumb issuer is on (`useCrumbs`); password-authenticated POSTs then need a crumb.
    #[serde(default = "yes")]
    pub csrf: bool,
    /// Whether anonymous callers may read (`Overall/Read` for anonymous).
    #[serde(default)]
    pub anonymous_read: bool,
    /// Context path such as `/jenkins`; empty for none.
    #[serde(default)]
    pub context_path: String,
    /// Users and their credentials.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// Jobs; folders are created from the path prefixes.
    #[serde(default)]
    pub jobs: Vec<JobSpec>,
}

/// A Jenkins user.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// User id.
    pub name: String,
    /// API token (exempt from crumbs).
    pub api_token: SecretString,
    /// Password (needs a crumb for POSTs when CSRF is on).
    pub password: Option<SecretString>,
    /// Only `Overall/Read` and `Item/Read`: POSTs answer 403.
    #[serde(default)]
    pub read_only: bool,
}

impl UserSpec {
    /// A user with an API token and every permission.
    pub fn new(name: &str, api_token: &str) -> Self {
        UserSpec {
            name: name.to_owned(),
            api_token: SecretString::from(api_token.to_owned()),
            password: None,
            read_only: false,
        }
    }

    /// Adds a password (used with CSRF on to exercise crumbs).
    pub fn with_password(mut self, password: &str) -> Self {
        self.password = Some(SecretString::from(password.to_owned()));
        self
    }

    /// Makes the user read-only.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

/// A job (freestyle project) at a folder path such as `micro-gw/petstore-image`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Full name, folders separated by `/`.
    pub path: String,
    /// Parameter definitions; empty means not parameterized.
    #[serde(default)]
    pub parameters: Vec<ParamSpec>,
    /// Quiet period before a queued item becomes buildable; absent = 5 s (Jenkins' global
    /// default). [`JobSpec::new`] sets 0.
    #[serde(default, with = "humantime_serde")]
    pub quiet_period: Option<Duration>,
    /// Disabled jobs answer 409 to build requests.
    #[serde(default)]
    pub disabled: bool,
    /// Whether builds of this job may run concurrently (`concurrentBuild`).
    #[serde(default)]
    pub concurrent: bool,
    /// What every build does unless a script was queued with `FakeJenkins::push_script`.
    #[serde(default)]
    pub script: BuildScript,
}

impl JobSpec {
    /// A job with no parameters, a 0 s quiet period and the default script.
    pub fn new(path: &str) -> Self {
        JobSpec {
            path: path.to_owned(),
            parameters: Vec::new(),
            quiet_period: Some(Duration::ZERO),
            disabled: false,
            concurrent: false,
            script: BuildScript::default(),
        }
    }

    /// Adds a parameter definition.
    pub fn param(mut self, p: ParamSpec) -> Self {
        self.parameters.push(p);
        self
    }

    /// Adds a string parameter, default empty, for each of `names` (e.g.
    /// [`REBUILD_PARAMETERS`]).
    pub fn string_params(self, names: &[&str]) -> Self {
        names
            .iter()
            .fold(self, |job, n| job.param(ParamSpec::string(n, "")))
    }

    /// Sets the quiet period.
    pub fn quiet_period(mut self, d: Duration) -> Self {
        self.quiet_period = Some(d);
        self
    }

    /// Marks the job disabled.
    pub fn disabled(mut self) -> Self {
        self.disabled = true;
        self
    }

    /// Sets the default build script.
    pub fn script(mut self, s: BuildScript) -> Self {
        self.script = s;
        self
    }
}

/// A parameter definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamSpec {
    /// Parameter name.
    pub name: String,
    /// Kind of definition.
    #[serde(default)]
    pub kind: ParamKind,
    /// Default value (string, boolean as "true"/"false"; first choice for choice parameters).
    pub default: Option<String>,
    /// Allowed values for `choice`.
    #[serde(default)]
    pub choices: Vec<String>,
    /// Description shown in the job JSON.
    #[serde(default)]
    pub description: String,
}

impl ParamSpec {
    /// A string parameter with a default.
    pub fn string(name: &str, default: &str) -> Self {
        ParamSpec {
            name: name.to_owned(),
            kind: ParamKind::String,
            default: Some(default.to_owned()),
            choices: Vec::new(),
            description: String::new(),
        }
    }

    /// A choice parameter; the first choice is the default.
    pub fn choice(name: &str, choices: &[&str]) -> Self {
        ParamSpec {
            name: name.to_owned(),
            kind: ParamKind::Choice,
            default: None,
            choices: choices.iter().map(|c| (*c).to_owned()).collect(),
            description: String::new(),
        }
    }

    /// A boolean parameter.
    pub fn boolean(name: &str, default: bool) -> Self {
        ParamSpec {
            name: name.to_owned(),
            kind: ParamKind::Boolean,
            default: Some(default.to_string()),
            choices: Vec::new(),
            description: String::new(),
        }
    }
}

/// Parameter definition kinds the stand-in models.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    /// `hudson.model.StringParameterDefinition`.
    #[default]
    String,
    /// `hudson.model.ChoiceParameterDefinition`; other values answer 500 as in Jenkins.
    Choice,
    /// `hudson.model.BooleanParameterDefinition`.
    Boolean,
}

/// What one build does: how long it runs, how it ends, which console lines it prints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildScript {
    /// Run time from start to end.
    #[serde(default = "default_duration", with = "humantime_serde")]
    pub duration: Duration,
    /// Final result: SUCCESS, UNSTABLE, FAILURE, NOT_BUILT or ABORTED.
    #[serde(default = "default_result")]
    pub result: String,
    /// Lines printed evenly over the run, after "Started by ..." and before "Finished: ...".
    #[serde(default)]
    pub console: Vec<String>,
    /// Pipeline stages run back to back from the build's start, as `wfapi/describe` shows them;
    /// empty means one stage `Build` spanning the whole run.
    #[serde(default)]
    pub stages: Vec<StageScript>,
}

/// One Pipeline stage of a [`BuildScript`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageScript {
    /// Stage name.
    pub name: String,
    /// Run time of the stage.
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

impl Default for BuildScript {
    fn default() -> Self {
        BuildScript {
            duration: default_duration(),
            result: default_result(),
            console: Vec::new(),
            stages: Vec::new(),
        }
    }
}

impl BuildScript {
    /// A script that runs for `duration` and ends with `result`.
    pub fn new(duration: Duration, result: &str) -> Self {
        BuildScript {
            duration,
            result: result.to_owned(),
            console: Vec::new(),
            stages: Vec::new(),
        }
    }

    /// Adds console lines.
    pub fn console(mut self, lines: &[&str]) -> Self {
        self.console = lines.iter().map(|l| (*l).to_owned()).collect();
        self
    }

    /// Sets the Pipeline stages (name, run time), run back to back from the build's start.
    pub fn stages(mut self, stages: &[(&str, Duration)]) -> Self {
        self.stages = stages
            .iter()
            .map(|(name, duration)| StageScript {
                name: (*name).to_owned(),
                duration: *duration,
            })
            .collect();
        self
    }
}

impl Default for ServerSpec {
    fn default() -> Self {
        ServerSpec {
            version: default_version(),
            executors: default_executors(),
            csrf: true,
            anonymous_read: false,
            context_path: String::new(),
            users: Vec::new(),
            jobs: Vec::new(),
        }
    }
}

fn default_version() -> String {
    "2.479.3".to_owned()
}
fn default_executors() -> usize {
    2
}
fn yes() -> bool {
    true
}
fn default_duration() -> Duration {
    Duration::from_secs(10)
}
fn default_result() -> String {
    "SUCCESS".to_owned()
}
