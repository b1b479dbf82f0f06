//! The config file: YAML or TOML by extension, layered with `BATON__KEY__SUB` environment
//! overrides (via the `config` crate), decoded into [`model::Config`], then validated as a whole.
//! Every problem names the file and the key path; all problems are reported at once.
//!
//! Relative `*_file` paths are resolved against the config file's folder. Secrets are read by
//! [`secrets::Secrets::load`], never kept in the model.

pub mod api;
pub mod docs;
pub mod model;
pub mod notifications;
mod product;
pub mod secrets;
mod validate;

pub use validate::parse_cron;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use baton_sources::yaml::YamlLimits;

pub use model::Config;

/// One problem in the config: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Key path such as `products[0].chart.version`; empty for whole-file problems.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The config could not be used; lists every problem found.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// All problems, in file order where known.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let n = self.problems.len();
        write!(f, "{file}: {n} problem{}", if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            if p.path.is_empty() {
                write!(f, "\n  {file}: {}", p.message)?;
            } else {
                write!(f, "\n  {file}: {}: {}", p.path, p.message)?;
            }
        }
        Ok(())
    }
}

/// A validated config and the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The config file.
    pub file: PathBuf,
    /// Its validated content, with `*_file` paths made relative to the config's folder.
    pub config: Config,
}

impl Loaded {
    /// The product named `name`.
    pub fn product(&self, name: &str) -> Option<&model::Product> {
        self.config.products.iter().find(|p| p.name == name)
    }
}

/// Loads `file` with overrides from the process environment.
pub fn load(file: &Path) -> Result<Loaded, ConfigError> {
    load_with_env(file, std::env::vars().collect())
}

/// Loads `file` for the one-shot verbs (`baton probe`), which need only its credentials: like
/// [`load`], but a config without products is accepted.
pub fn load_for_probes(file: &Path) -> Result<Loaded, ConfigError> {
    load_checked(file, std::env::vars().collect(), false)
}

/// Loads `file` with overrides from `env` (only `BATON__*` keys are used).
pub fn load_with_env(file: &Path, env: HashMap<String, String>) -> Result<Loaded, ConfigError> {
    load_checked(file, env, true)
}

fn load_checked(
    file: &Path,
    env: HashMap<String, String>,
    need_products: bool,
) -> Result<Loaded, ConfigError> {
    let fail = |problems| ConfigError {
        file: file.to_owned(),
        problems,
    };
    let format = match file.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => config::FileFormat::Yaml,
        Some("toml") => config::FileFormat::Toml,
        _ => {
            return Err(fail(vec![Problem::new(
                "",
                "unknown config format; name the file *.yaml, *.yml or *.toml",
            )]));
        }
    };
    let text = read_bounded(file, format).map_err(|m| fail(vec![Problem::new("", m)]))?;
    let env: config::Map<String, String> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("BATON__"))
        .collect();
    let env_keys: Vec<String> = env.keys().cloned().collect();
    let fail = |problems: Vec<Problem>| fail(blame_env(problems, &env_keys));
    let layered = config::Config::builder()
        .add_source(config::File::from_str(&text, format))
        .add_source(
            config::Environment::with_prefix("BATON")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        )
        .build()
        .map_err(|e| fail(vec![Problem::new("", format!("cannot parse: {e}"))]))?;

    let mut unknown = Vec::new();
    let mut on_ignored = |path: serde_ignored::Path<'_>| unknown.push(key_path(&path));
    let decoded: Result<Config, _> = serde_path_to_error::deserialize(
        serde_ignored::Deserializer::new(layered, &mut on_ignored),
    );
    let mut problems: Vec<Problem> = unknown
        .into_iter()
        .map(|p| {
            Problem::new(
                p,
                "unknown key; check its spelling against docs/configuration.md",
            )
        })
        .collect();
    let mut config = match decoded {
        Ok(config) => config,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            problems.push(Problem::new(
                path,
                clean_message(&e.into_inner().to_string()),
            ));
            return Err(fail(problems));
        }
    };
    notifications::validate(&config.notifications, &mut problems);
    problems.extend(
        validate::validate(&config)
            .into_iter()
            .filter(|p| need_products || p.path != "products"),
    );
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    let base = file.parent().unwrap_or(Path::new("."));
    resolve_paths(&mut config, base);
    Ok(Loaded {
        file: file.to_owned(),
        config,
    })
}

/// Reads the config under the values files' budget ([`YamlLimits::default`]): a file over the
/// size limit is refused before it is read whole, and a YAML file is checked for alias
/// expansion, depth and node counts before the `config` crate (which expands aliases without
/// bound) sees it, so a "billion laughs" config fails at once instead of exhausting memory.
fn read_bounded(file: &Path, format: config::FileFormat) -> Result<String, String> {
    use std::io::Read;
    let limits = YamlLimits::default();
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(limits.max_bytes as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read the config file: {e}"))?;
    if bytes.len() > limits.max_bytes {
        return Err(format!(
            "the config file is larger than {} bytes; a config is a few KB: check the path",
            limits.max_bytes
        ));
    }
    if matches!(format, config::FileFormat::Yaml) {
        baton_sources::yaml::validate(&bytes, &limits).map_err(|p| {
            format!("refused at {p} (limits: {} aliases, {} nodes, depth {}); write the values out instead of nesting aliases", limits.max_aliases, limits.max_events, limits.max_depth)
        })?;
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 at byte {}; save the config as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Notes on each problem whose value came from an environment override.
fn blame_env(problems: Vec<Problem>, env_keys: &[String]) -> Vec<Problem> {
    problems
        .into_iter()
        .map(|mut p| {
            if !p.path.is_empty() && !p.path.contains('[') {
                let key = format!("BATON__{}", p.path.to_uppercase().replace('.', "__"));
                if env_keys.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
                    p.message
                        .push_str(&format!(" (the value comes from env {key})"));
                }
            }
            p
        })
        .collect()
}

/// Formats a serde_ignored path as `a.b[0].c`.
fn key_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => String::new(),
        P::Seq { parent, index } => format!("{}[{index}]", key_path(parent)),
        P::Map { parent, key } => {
            let parent = key_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            key_path(parent)
        }
    }
}

/// The `config` crate appends its own key locations (the path is already ours) and writes
/// `products[0]name` for `products[0].name`.
fn clean_message(message: &str) -> String {
    let message = match message.find(" for key `") {
        Some(i) => &message[..i],
        None => message,
    };
    let mut out = String::with_capacity(message.len() + 4);
    let mut after_bracket = false;
    for c in message.chars() {
        if after_bracket && (c.is_alphanumeric() || c == '_') {
            out.push('.');
        }
        after_bracket = c == ']';
        out.push(c);
    }
    out
}

/// A relative SQLite path is resolved against the config's folder, like every `*_file`.
fn resolve_state(state: &mut String, base: &Path) {
    let Some(rest) = state.strip_prefix("sqlite://") else {
        return;
    };
    let (path, query) = rest
        .split_once('?')
        .map_or((rest, None), |(p, q)| (p, Some(q)));
    if path.is_empty() || Path::new(path).is_absolute() {
        return;
    }
    let joined = base.join(path);
    *state = match query {
        Some(q) => format!("sqlite://{}?{q}", joined.display()),
        None => format!("sqlite://{}", joined.display()),
    };
}

fn resolve_paths(config: &mut Config, base: &Path) {
    resolve_state(&mut config.state, base);
    notifications::resolve(&mut config.notifications, base);
    let fix = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    };
    if let Some(p) = config.api_tokens_file.as_mut() {
        fix(p);
    }
    if let Some(j) = config.jenkins.as_mut() {
        fix(&mut j.token_file);
    }
    if let Some(s) = config.spinnaker.as_mut() {
        match &mut s.auth {
            model::GateAuth::None => {}
            model::GateAuth::Basic { password_file, .. } => fix(password_file),
            model::GateAuth::Bearer { token_file } => fix(token_file),
            model::GateAuth::X509 {
                cert_file,
                key_file,
            } => {
                fix(cert_file);
                fix(key_file);
            }
        }
    }
    for r in &mut config.registries {
        if let Some(p) = r.password_file.as_mut() {
            fix(p);
        }
    }
    if let Some(g) = config.git.as_mut() {
        for c in &mut g.credentials {
            fix(&mut c.password_file);
        }
        if let Some(p) = g.webhook_secret_file.as_mut() {
            fix(p);
        }
    }
}
