//! Helm repositories of a test's own: a folder under the rig's classic repo (served by nginx with
//! ETag / Last-Modified) and a matching OCI namespace in the no-auth registry. Charts are made and
//! published with the rig's helm v4.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::Rig;

/// A classic Helm repository (and an OCI namespace) that only one test writes to.
#[derive(Debug, Clone)]
pub struct HelmRepo {
    /// Folder name under [`Rig::helm_repo_dir`], e.g. `sync-0123abcd`.
    pub name: String,
    /// The folder holding `index.yaml` and the `.tgz` files.
    pub dir: PathBuf,
    /// Repository URL (`index.yaml` lives at `url + "/index.yaml"`); entries use relative URLs.
    pub url: String,
    /// OCI location for the same charts: `oci://<registry>/<name>`; a chart is
    /// `oci + "/" + chart_name` with the version as tag.
    pub oci: String,
    helm: PathBuf,
}

impl Rig {
    /// A fresh, empty classic repository (with an empty `index.yaml`) and OCI namespace.
    pub fn new_helm_repo(&self, prefix: &str) -> anyhow::Result<HelmRepo> {
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            bail!("helm repo prefix {prefix:?} must be non-empty lowercase letters, digits or '-'");
        }
        let name = format!("{prefix}-{:08x}", rand::random::<u32>());
        let dir = self.helm_repo_dir.join(&name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let repo = HelmRepo {
            url: format!("{}/{name}", self.helm_repo_url),
            oci: format!("oci://{}/{name}", self.registry),
            name,
            dir,
            helm: self.helm_v4.clone(),
        };
        repo.reindex()?;
        Ok(repo)
    }
}

impl HelmRepo {
    /// Makes chart `name` at `version` whose `values.yaml` is `values`, adds it to this
    /// repository and re-indexes; returns the path of the `.tgz`.
    pub fn publish(&self, name: &str, version: &str, values: &str) -> anyhow::Result<PathBuf> {
        let src = tempfile::tempdir().context("scratch folder for a chart")?;
        let chart = src.path().join(name);
        std::fs::create_dir_all(chart.join("templates"))?;
        std::fs::write(
            chart.join("Chart.yaml"),
            format!(
                "apiVersion: v2\nname: {name}\ndescription: test chart\ntype: application\n\
                 version: {version}\nappVersion: \"{version}\"\n"
            ),
        )?;
        std::fs::write(chart.join("values.yaml"), values)?;
        std::fs::write(
            chart.join("templates").join("configmap.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n\
             data:\n  values: {{ toYaml .Values | quote }}\n",
        )?;
        let dest = self.dir.to_str().context("helm repo path is not UTF-8")?;
        let chart_dir = chart.to_str().context("chart path is not UTF-8")?;
        self.helm(&["package", chart_dir, "-d", dest])?;
        self.reindex()?;
        Ok(self.dir.join(format!("{name}-{version}.tgz")))
    }

    /// Removes chart `name` at `version` from this repository and re-indexes.
    pub fn remove(&self, name: &str, version: &str) -> anyhow::Result<()> {
        let tgz = self.dir.join(format!("{name}-{version}.tgz"));
        std::fs::remove_file(&tgz).with_context(|| format!("removing {}", tgz.display()))?;
        self.reindex()
    }

    /// Pushes a packaged chart to [`HelmRepo::oci`] (`helm push --plain-http`); returns the
    /// manifest digest helm reports.
    pub fn push_oci(&self, tgz: &Path) -> anyhow::Result<String> {
        let tgz = tgz.to_str().context("chart path is not UTF-8")?;
        let out = self.helm(&["push", tgz, &self.oci, "--plain-http"])?;
        out.lines()
            .find_map(|l| l.strip_prefix("Digest: "))
            .map(|d| d.trim().to_string())
            .with_context(|| format!("helm push {tgz} printed no digest: {out}"))
    }

    fn reindex(&self) -> anyhow::Result<()> {
        let dir = self.dir.to_str().context("helm repo path is not UTF-8")?;
        self.helm(&["repo", "index", dir]).map(drop)
    }

    /// Runs helm with its config, cache and data in a scratch folder; returns stdout + stderr.
    fn helm(&self, args: &[&str]) -> anyhow::Result<String> {
        let home = tempfile::tempdir().context("scratch folder for helm")?;
        let out = Command::new(&self.helm)
            .args(args)
            .env("HELM_CONFIG_HOME", home.path().join("config"))
            .env("HELM_CACHE_HOME", home.path().join("cache"))
            .env("HELM_DATA_HOME", home.path().join("data"))
            .output()
            .with_context(|| format!("running {}", self.helm.display()))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            bail!(
                "helm {} failed ({}): {}",
                args.join(" "),
                out.status,
                text.trim()
            );
        }
        Ok(text)
    }
}
