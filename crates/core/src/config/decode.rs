//! Decoding the config text into [`super::Config`] in one pass: the format's own deserializer
//! (serde-saphyr for YAML, under the values files' [`YamlLimits`]; `toml` for TOML;
//! `serde_json` for JSON, which generated configs can use to start faster) wrapped in
//! the environment overrides ([`super::env`]), `serde_ignored` (unknown keys are reported, not
//! silently dropped) and `serde_path_to_error` (every error names its key path).
//!
//! No generic tree of the file is built: a 10,000-image config goes from text to typed structs
//! directly, which keeps the loader's peak memory near the size of the result.

use baton_sources::yaml::YamlLimits;
use serde::Deserializer;
use serde::de::DeserializeOwned;

use super::Problem;
use super::env::Overrides;
use super::layer::Layer;

/// The config file's format, from its extension.
#[derive(Debug, Clone, Copy)]
pub(super) enum Format {
    Yaml,
    Toml,
    Json,
}

impl Format {
    /// The format `file`'s extension names (`.yaml`, `.yml`, `.toml`, `.json`).
    pub(super) fn of(file: &std::path::Path) -> Option<Self> {
        match file.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Some(Format::Yaml),
            Some("toml") => Some(Format::Toml),
            Some("json") => Some(Format::Json),
            _ => None,
        }
    }
}

/// The message of a key the config does not know.
const UNKNOWN_KEY: &str = "unknown key; check its spelling against docs/configuration.md";

/// Decodes `text` (the config, or a file of `product_files` as [`super::product_files`]'s
/// shape). The second list holds the keys it does not know, then the typed values that do not
/// parse (with a placeholder in the result, which the loader then refuses).
pub(super) fn decode<T: DeserializeOwned>(
    text: &str,
    format: Format,
    overrides: &Overrides,
) -> (Result<T, Problem>, Vec<Problem>) {
    let mut unknown = Vec::new();
    let (decoded, deferred) = super::types::share_crons(|| {
        super::layer::collect(|| by_format(text, format, overrides, &mut unknown))
    });
    let mut problems: Vec<Problem> = unknown
        .into_iter()
        .map(|p| Problem::new(p, UNKNOWN_KEY))
        .collect();
    problems.extend(deferred);
    (decoded, problems)
}

fn by_format<T: DeserializeOwned>(
    text: &str,
    format: Format,
    overrides: &Overrides,
    unknown: &mut Vec<String>,
) -> Result<T, Problem> {
    match format {
        Format::Yaml => yaml(text, overrides, unknown),
        Format::Toml => {
            let de = toml::Deserializer::parse(text)
                .map_err(|e| Problem::new("", format!("cannot parse: {}", e.message())))?;
            typed(de, overrides, unknown).map_err(|e| at_path(e, |e| e.message().to_owned()))
        }
        Format::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            let config =
                typed(&mut de, overrides, unknown).map_err(|e| at_path(e, ToString::to_string))?;
            de.end()
                .map_err(|e| Problem::new("", format!("cannot parse: {e}")))?;
            Ok(config)
        }
    }
}

fn yaml<T: DeserializeOwned>(
    text: &str,
    overrides: &Overrides,
    unknown: &mut Vec<String>,
) -> Result<T, Problem> {
    let limits = YamlLimits::default();
    // An empty file (or one of comments only) is an empty config, as for Helm's values.
    if is_blank_yaml(text) {
        return typed(
            serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
                std::iter::empty::<(String, String)>(),
            ),
            overrides,
            unknown,
        )
        .map_err(|e| at_path(e, ToString::to_string));
    }
    let options = baton_sources::yaml::options(&limits);
    // A decode error is kept here: saphyr would otherwise go on to check the rest of the text
    // and report that instead.
    let mut failed = None;
    let decoded = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        typed(de, overrides, unknown).map_err(|e| {
            let stop = serde::de::Error::custom("the config does not decode");
            failed = Some(e);
            stop
        })
    });
    let error = match decoded {
        Ok(config) => return Ok(config),
        Err(e) => e,
    };
    // A syntax error or a breached limit (budget, aliases, depth) is about the file, wherever
    // decoding met it; the positioned text says where.
    if let Err(p) = baton_sources::yaml::validate(text.as_bytes(), &limits) {
        return Err(Problem::new(
            "",
            format!(
                "refused at {p} (limits: {} aliases, {} nodes, depth {}); write the values out \
                 instead of nesting aliases",
                limits.max_aliases, limits.max_events, limits.max_depth
            ),
        ));
    }
    Err(match failed {
        Some(e) => at_path(e, |e| e.without_snippet().to_string()),
        None => Problem::new("", format!("cannot parse: {}", error.without_snippet())),
    })
}

/// Whether `text` holds no YAML node: only blank lines, comments and document markers.
fn is_blank_yaml(text: &str) -> bool {
    text.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l == "---" || l == "..."
    })
}

fn typed<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    de: D,
    overrides: &Overrides,
    unknown: &mut Vec<String>,
) -> Result<T, serde_path_to_error::Error<D::Error>> {
    let mut on_ignored = |path: serde_ignored::Path<'_>| unknown.push(key_path(&path));
    serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        Layer::new(de, overrides),
        &mut on_ignored,
    ))
}

/// A decode error as a problem at its key path; a missing key is named in the path
/// (`products[0].name: is required`), not only in the message.
fn at_path<E>(e: serde_path_to_error::Error<E>, message: impl Fn(&E) -> String) -> Problem {
    let path = e.path().to_string();
    let mut path = if path == "." { String::new() } else { path };
    let mut message = message(e.inner());
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((field, after)) = rest.split_once('`')
    {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(field);
        message = format!("is required but missing{after}; add it");
    }
    Problem::new(path, message)
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
