//! `baton pipelines render | lint | apply`: the Spinnaker application and pipelines that consume
//! baton's webhooks, rendered from the config with spinnaker-client's model types.
//!
//! - [`render`](mod@render): config -> one application and, per product, `<app>-deploy-<env>` pipelines
//!   and `<app>-image-<image>` pipelines.
//! - [`lint`]: spinnaker-client's lint against the events baton will post, plus [`verify::lint`].
//! - [`verify`]: the verification stage that ends each deploy pipeline (a Jenkins stage), so
//!   promotion builds only on verified executions.
//! - [`compare`]: what "unchanged" means against Gate (managed fields, the content hash).
//! - `baton_daemon::pipelines::apply`: idempotent save through Gate that reports edits made in
//!   Spinnaker (the runtime, since it talks to Gate and records the apply).
//!
//! Files: `<dir>/<app>/application.json` and `<dir>/<app>/<pipeline id>.json`, pretty JSON with
//! sorted keys and a final newline, so the same config always gives the same bytes.

pub mod compare;
pub mod lint;
pub mod render;
pub mod verify;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

pub use render::{RenderedApp, render};

/// Name of the application file in each application folder.
pub const APPLICATION_FILE: &str = "application.json";

/// Pretty JSON with sorted keys and a trailing newline.
pub fn to_json<T: Serialize>(value: &T) -> String {
    // serde_json's Map is a BTreeMap (no preserve_order), so going through Value sorts keys.
    let v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Every file `render` writes: path relative to the output folder, and content. Pipelines carry
/// their content hash ([`compare::HASH_FIELD`]).
pub fn files(apps: &[RenderedApp]) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for app in apps {
        let dir = PathBuf::from(app.name());
        out.push((dir.join(APPLICATION_FILE), to_json(&app.application)));
        for p in &app.pipelines {
            let mut p = p.clone();
            compare::stamp(&mut p);
            let id = p.id.clone().unwrap_or_else(|| p.name.clone());
            out.push((dir.join(format!("{id}.json")), to_json(&p)));
        }
    }
    out
}

/// Writes [`files`] under `dir`, and removes `.json` files in the application folders that the
/// config no longer renders. Returns the paths written.
pub fn write(dir: &Path, apps: &[RenderedApp]) -> anyhow::Result<Vec<PathBuf>> {
    let wanted = files(apps);
    let mut written = Vec::new();
    for app in apps {
        let folder = dir.join(app.name());
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        for stale in json_files(&folder)? {
            let rel = PathBuf::from(app.name()).join(stale.file_name().unwrap_or_default());
            if !wanted.iter().any(|(p, _)| *p == rel) {
                std::fs::remove_file(&stale)
                    .with_context(|| format!("cannot remove {}", stale.display()))?;
            }
        }
    }
    for (rel, text) in wanted {
        let path = dir.join(rel);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The `.json` files directly in `folder`, sorted.
pub fn json_files(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in
        std::fs::read_dir(folder).with_context(|| format!("cannot read {}", folder.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Differences between what `render` writes and what is in `dir`: one line per missing,
/// changed or extra file (empty = in sync).
pub fn drift(dir: &Path, apps: &[RenderedApp]) -> anyhow::Result<Vec<String>> {
    let wanted = files(apps);
    let mut out = Vec::new();
    for (rel, text) in &wanted {
        let path = dir.join(rel);
        match std::fs::read_to_string(&path) {
            Err(_) => out.push(format!("{} is missing", path.display())),
            Ok(have) if have != *text => out.push(format!("{} differs", path.display())),
            Ok(_) => {}
        }
    }
    for app in apps {
        let folder = dir.join(app.name());
        if !folder.is_dir() {
            continue;
        }
        for f in json_files(&folder)? {
            let rel = PathBuf::from(app.name()).join(f.file_name().unwrap_or_default());
            if !wanted.iter().any(|(p, _)| *p == rel) {
                out.push(format!("{} is not rendered from the config", f.display()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
