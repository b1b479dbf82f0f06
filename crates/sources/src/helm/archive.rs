//! Reading a chart `.tgz` safely: one top folder, no escaping paths or links, bounded sizes
//! and compression ratio, and `Chart.yaml` parsed under YAML limits.

use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::yaml::{YamlLimits, options, problem};

/// Limits for one archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveLimits {
    /// Largest compressed archive.
    pub max_compressed: u64,
    /// Largest total of uncompressed bytes.
    pub max_uncompressed: u64,
    /// Largest uncompressed/compressed ratio (checked once past 1 MiB uncompressed).
    pub max_ratio: u64,
    /// Most entries.
    pub max_entries: usize,
}

impl Default for ArchiveLimits {
    /// 20 MiB compressed, 200 MiB uncompressed, ratio 100, 10 000 entries.
    fn default() -> Self {
        ArchiveLimits {
            max_compressed: 20 << 20,
            max_uncompressed: 200 << 20,
            max_ratio: 100,
            max_entries: 10_000,
        }
    }
}

/// The parts of `Chart.yaml` baton uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartMeta {
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `appVersion`, if set.
    pub app_version: Option<String>,
}

#[derive(Deserialize)]
struct ChartYaml {
    name: String,
    version: String,
    #[serde(rename = "appVersion", default)]
    app_version: Option<serde_saphyr_scalar::Scalar>,
}

/// `appVersion` is often written unquoted (`appVersion: 1.10`); keep its text either way.
mod serde_saphyr_scalar {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    pub enum Scalar {
        S(String),
        I(i64),
        F(f64),
    }
    impl Scalar {
        pub fn text(self) -> String {
            match self {
                Scalar::S(s) => s,
                Scalar::I(i) => i.to_string(),
                Scalar::F(f) => f.to_string(),
            }
        }
    }
}

/// Counts bytes read through it.
struct Counting<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

/// Checks the whole archive and returns its `Chart.yaml`. `name` labels errors.
pub fn read_chart(name: &str, tgz: &[u8], limits: &ArchiveLimits) -> Result<ChartMeta, Error> {
    let refuse = |reason: String| Error::UnsafeArchive {
        name: name.to_string(),
        reason,
    };
    if tgz.len() as u64 > limits.max_compressed {
        return Err(Error::TooLarge {
            what: format!("chart archive {name}"),
            limit: limits.max_compressed,
        });
    }
    let gz = Counting {
        inner: flate2::read::GzDecoder::new(tgz),
        n: 0,
    };
    let mut archive = tar::Archive::new(gz);
    let mut top: Option<String> = None;
    let mut chart_yaml: Option<Vec<u8>> = None;
    let entries = archive
        .entries()
        .map_err(|e| refuse(format!("not a tar.gz: {e}")))?;
    let mut count = 0usize;
    let mut total = 0u64;
    for entry in entries {
        let mut entry = entry.map_err(|e| refuse(format!("corrupt archive: {e}")))?;
        count += 1;
        if count > limits.max_entries {
            return Err(refuse(format!("more than {} entries", limits.max_entries)));
        }
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
        {
            continue;
        }
        let path = entry
            .path()
            .map_err(|e| refuse(format!("bad path: {e}")))?
            .into_owned();
        let shown = path.display().to_string();
        let mut comps = Vec::new();
        for c in path.components() {
            match c {
                std::path::Component::Normal(s) => comps.push(s.to_string_lossy().into_owned()),
                std::path::Component::CurDir => {}
                _ => return Err(refuse(format!("path {shown:?} leaves the chart folder"))),
            }
        }
        let Some(first) = comps.first().cloned() else {
            continue;
        };
        match &top {
            None => top = Some(first.clone()),
            Some(t) if *t != first => {
                return Err(refuse(format!(
                    "path {shown:?} is outside the chart folder {t:?}"
                )));
            }
            _ => {}
        }
        if !(kind.is_file() || kind.is_dir()) {
            return Err(refuse(format!(
                "{shown:?} is a link or special file ({kind:?})"
            )));
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        total = total.saturating_add(size);
        if total > limits.max_uncompressed {
            return Err(refuse(format!(
                "more than {} bytes uncompressed",
                limits.max_uncompressed
            )));
        }
        let is_chart_yaml = comps.len() == 2 && comps[1] == "Chart.yaml";
        if is_chart_yaml {
            if size > 1 << 20 {
                return Err(refuse("Chart.yaml is larger than 1 MiB".into()));
            }
            let mut buf = Vec::with_capacity(size as usize);
            entry
                .read_to_end(&mut buf)
                .map_err(|e| refuse(format!("cannot read Chart.yaml: {e}")))?;
            chart_yaml = Some(buf);
        } else {
            // Drain through the decoder so the ratio check sees real bytes, never buffer them.
            std::io::copy(&mut entry, &mut std::io::sink())
                .map_err(|e| refuse(format!("corrupt entry {shown:?}: {e}")))?;
        }
        drop(entry);
        check_ratio(total, tgz.len() as u64, limits).map_err(refuse)?;
    }
    let inflated = archive.into_inner().n;
    check_ratio(inflated, tgz.len() as u64, limits).map_err(refuse)?;
    let raw = chart_yaml.ok_or_else(|| refuse("no Chart.yaml in the chart folder".into()))?;
    let text = std::str::from_utf8(&raw).map_err(|_| refuse("Chart.yaml is not UTF-8".into()))?;
    let limits_yaml = YamlLimits {
        max_bytes: 1 << 20,
        ..YamlLimits::default()
    };
    let parsed: ChartYaml = serde_saphyr::from_str_with_options(text, options(&limits_yaml))
        .map_err(|e| {
            let p = problem(&e);
            Error::Yaml {
                what: format!("{name}: Chart.yaml"),
                line: p.line,
                column: p.column,
                message: p.message,
            }
        })?;
    Ok(ChartMeta {
        name: parsed.name,
        version: parsed.version,
        app_version: parsed.app_version.map(serde_saphyr_scalar::Scalar::text),
    })
}

fn check_ratio(uncompressed: u64, compressed: u64, limits: &ArchiveLimits) -> Result<(), String> {
    if uncompressed > (1 << 20) && uncompressed / compressed.max(1) > limits.max_ratio {
        return Err(format!(
            "compression ratio above {} (a gzip bomb?)",
            limits.max_ratio
        ));
    }
    if uncompressed > limits.max_uncompressed {
        return Err(format!(
            "more than {} bytes uncompressed",
            limits.max_uncompressed
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
