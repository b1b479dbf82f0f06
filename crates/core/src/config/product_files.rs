//! `product_files`: more products, from files beside the config. Each file holds `products:`
//! (the same list as in the config) in YAML, JSON or TOML by its extension; their products
//! follow the config's own, in the order the entries are listed and, for a pattern, in the
//! order of the matched names. A config of thousands of images can so be split where one file
//! cannot hold it (a Kubernetes ConfigMap holds 1 MiB), and the files decode in parallel, one
//! per core, which is most of a large config's start-up.
//!
//! The files go through the same decoder as the config (unknown keys, key paths, deferred
//! typed values), under the same size limit each, without the `BATON__*` overrides, which
//! address the config file's own keys. A problem in one of them is reported as
//! `FILE: products[i].key`, with `i` counted in that file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Problem;
use super::decode::{self, Format};
use super::env::Overrides;
use super::model::{Config, Product};

/// At most this many files after the patterns are expanded.
pub(super) const MAX_FILES: usize = 1_000;

/// The shape of one file.
#[derive(Deserialize)]
struct ProductsFile {
    #[serde(default)]
    products: Vec<Product>,
}

/// Where a run of the merged product list came from, to report its problems in that file's
/// own numbering.
#[derive(Debug)]
pub(super) struct Origin {
    /// Index of the file's first product in the merged list.
    start: usize,
    /// How many products it brought.
    len: usize,
    /// The file, as the problems name it.
    name: String,
}

/// Appends the products of `config.product_files` (relative to `base`) to `config.products`.
/// Every problem met is pushed to `problems`; the products of a file with problems are left
/// out (the loader refuses the config anyway).
pub(super) fn append(config: &mut Config, base: &Path, problems: &mut Vec<Problem>) -> Vec<Origin> {
    let files = expand(&config.product_files, base, problems);
    if files.is_empty() {
        return Vec::new();
    }
    let decoded = decode_all(&files);
    let mut origins = Vec::new();
    for ((name, _), result) in files.iter().zip(decoded) {
        match result {
            Ok(products) => {
                origins.push(Origin {
                    start: config.products.len(),
                    len: products.len(),
                    name: name.clone(),
                });
                config.products.extend(products);
            }
            Err(found) => problems.extend(found.into_iter().map(|p| in_file(name, p))),
        }
    }
    origins
}

/// Renames problems at `products[i]...` of the merged list after the file product `i` came
/// from (`FILE: products[j]...`); problems of the config's own products stay as they are.
pub(super) fn relabel(problems: &mut [Problem], origins: &[Origin]) {
    for p in problems {
        let Some(rest) = p.path.strip_prefix("products[") else {
            continue;
        };
        let Some((index, after)) = rest.split_once(']') else {
            continue;
        };
        let Ok(index) = index.parse::<usize>() else {
            continue;
        };
        if let Some(o) = origins
            .iter()
            .find(|o| (o.start..o.start + o.len).contains(&index))
        {
            p.path = format!("{}: products[{}]{after}", o.name, index - o.start);
        }
    }
}

/// The files the entries name, in order: `(name for problems, path)`. A pattern (`*`, `?`,
/// `[`) is expanded in name order and must match at least one file.
fn expand(entries: &[String], base: &Path, problems: &mut Vec<Problem>) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("product_files[{i}]");
        let path = base.join(entry);
        if !entry.contains(['*', '?', '[']) {
            files.push((entry.clone(), path));
            continue;
        }
        let Some(pattern) = path.to_str() else {
            problems.push(Problem::new(at, "the folder's path is not UTF-8"));
            continue;
        };
        let matched = match glob::glob(pattern) {
            Ok(paths) => paths,
            Err(e) => {
                problems.push(Problem::new(
                    at,
                    format!("{entry:?} is not a valid pattern: {e}"),
                ));
                continue;
            }
        };
        let mut found: Vec<PathBuf> = matched
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        if found.is_empty() {
            problems.push(Problem::new(
                at,
                format!("no file matches {entry:?} (relative to the config's folder); fix the pattern or remove the entry"),
            ));
        }
        found.sort();
        for path in found {
            let name = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .display()
                .to_string();
            files.push((name, path));
        }
    }
    if files.len() > MAX_FILES {
        problems.push(Problem::new(
            "product_files",
            format!(
                "{} files; at most {MAX_FILES}: put more products in each",
                files.len()
            ),
        ));
        files.clear();
    }
    files
}

/// One file's products, or its problems.
type Decoded = Result<Vec<Product>, Vec<Problem>>;

/// Decodes every file, in runs of consecutive files, one run per available core; results in
/// the order of `files`.
fn decode_all(files: &[(String, PathBuf)]) -> Vec<Decoded> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let run = files.len().div_ceil(cores).max(1);
    let decode_run = |run: &[(String, PathBuf)]| -> Vec<Decoded> {
        run.iter().map(|(_, path)| decode_one(path)).collect()
    };
    if files.len() <= run {
        return decode_run(files);
    }
    std::thread::scope(|s| {
        let threads: Vec<_> = files
            .chunks(run)
            .map(|run| s.spawn(move || decode_run(run)))
            .collect();
        threads
            .into_iter()
            .flat_map(|t| {
                t.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Reads and decodes one file; its problems carry paths within it.
fn decode_one(path: &Path) -> Decoded {
    let format = Format::of(path).ok_or_else(|| {
        vec![Problem::new(
            "",
            "unknown format; name the file *.yaml, *.yml, *.toml or *.json",
        )]
    })?;
    let text = super::read_bounded(path).map_err(|m| vec![Problem::new("", m)])?;
    let (decoded, mut problems) =
        decode::decode::<ProductsFile>(&text, format, &Overrides::default());
    match decoded {
        Ok(file) if problems.is_empty() => Ok(file.products),
        Ok(_) => Err(problems),
        Err(p) => {
            problems.push(p);
            Err(problems)
        }
    }
}

/// `problem`, found in the file named `name`.
fn in_file(name: &str, problem: Problem) -> Problem {
    let path = if problem.path.is_empty() {
        name.to_owned()
    } else {
        format!("{name}: {}", problem.path)
    };
    Problem::new(path, problem.message)
}
