//! The config file: YAML, TOML or JSON by extension, decoded straight into the typed
//! [`model::Config`] with `BATON__KEY__SUB` environment overrides applied on the way (`env`),
//! then checked as a whole (`validate`). Every problem names the file and the key path; all
//! problems are reported at once. Values users need typed (URLs, addresses, version ranges,
//! crons, the state URL) are parsed here, once ([`types`]).
//!
//! Relative `*_file` paths are resolved against the config file's folder. Secrets are read by
//! [`secrets::Secrets::load`], never kept in the model.

pub mod api;
mod decode;
pub mod docs;
mod env;
mod layer;
pub mod model;
pub mod notifications;
mod product;
mod product_files;
pub mod remotes;
pub mod secrets;
pub mod types;
mod validate;

pub use validate::parse_cron;

#[cfg(test)]
mod env_tests;
#[cfg(test)]
mod product_files_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod types_tests;

use std::collections::HashMap;
use std::fmt;

use decode::Format;
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
    let Some(format) = Format::of(file) else {
        return Err(fail(vec![Problem::new(
            "",
            "unknown config format; name the file *.yaml, *.yml, *.toml or *.json",
        )]));
    };
    let text = read_bounded(file).map_err(|m| fail(vec![Problem::new("", m)]))?;
    let overrides = env::Overrides::from_env(&env);
    let env_keys: Vec<&String> = env.keys().filter(|k| k.starts_with("BATON__")).collect();
    let fail = |problems: Vec<Problem>| fail(blame_env(problems, &env_keys));

    let (decoded, mut problems) = decode::decode(&text, format, &overrides);
    let mut config = match decoded {
        Ok(config) => config,
        // A problem of the whole file (syntax, limits) makes the others moot.
        Err(p) if p.path.is_empty() => return Err(fail(vec![p])),
        Err(p) => {
            problems.push(p);
            return Err(fail(problems));
        }
    };
    let base = file.parent().unwrap_or(Path::new("."));
    let origins = product_files::append(&mut config, base, &mut problems);
    notifications::validate(&config.notifications, &mut problems);
    let mut checked: Vec<Problem> = validate::validate(&config)
        .into_iter()
        .filter(|p| need_products || p.path != "products")
        .collect();
    product_files::relabel(&mut checked, &origins);
    problems.extend(checked);
    if !problems.is_empty() {
        return Err(fail(problems));
    }
    resolve_paths(&mut config, base);
    // The decoded lists grew by doubling (YAML gives no length ahead); a daemon keeps them
    // for its lifetime, so the spare capacity goes (up to a third of 10,000 images' structs).
    config.products.shrink_to_fit();
    for p in &mut config.products {
        p.images.shrink_to_fit();
    }
    Ok(Loaded {
        file: file.to_owned(),
        config,
    })
}

/// Reads the config under the values files' size budget ([`YamlLimits::default`]): a file over
/// the limit is refused before it is read whole. (Alias expansion, depth and node counts are
/// bounded while the YAML is decoded, see `decode`.)
fn read_bounded(file: &Path) -> Result<String, String> {
    use std::io::Read;
    let limits = YamlLimits::default();
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(limits.max_bytes as u64 + 1).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() > limits.max_bytes {
        return Err(format!(
            "the file is larger than {} bytes; split its products over `product_files` or check the path",
            limits.max_bytes
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "not UTF-8 at byte {}; save the config as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Notes on each problem whose value came from an environment override.
fn blame_env(problems: Vec<Problem>, env_keys: &[&String]) -> Vec<Problem> {
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

fn resolve_paths(config: &mut Config, base: &Path) {
    config.state.resolve(base);
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
