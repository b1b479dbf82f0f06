//! Pushing images to the rig's registries through the distribution upload API (monolithic blob
//! uploads, manifest PUT), with basic and bearer-token auth, and digest lookups.

use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};

use super::Rig;
use super::image::{self, Blob, OCI_INDEX, OCI_MANIFEST, Platform};

/// The Accept header a manifest GET/HEAD must send. With fewer types, distribution 2.8 answers
/// 404 for OCI manifests and rewrites Docker v2 manifests to schema 1 (another digest).
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// Installs rustls' ring provider (reqwest is built without one); repeated calls are harmless.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest client with the rig's timeouts.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .context("building an HTTP client")
}

impl Rig {
    /// Push a small single-platform (linux/amd64) image whose content derives from `seed` to
    /// `host/repo:tag`; returns the manifest digest. Different seeds give different digests; the
    /// same seed gives the same digest. Credentials come from the rig for its auth registries.
    pub async fn push_image(
        &self,
        host: &str,
        repo: &str,
        tag: &str,
        seed: &str,
    ) -> anyhow::Result<String> {
        let img = image::image(seed, Platform::AMD64)?;
        let mut s = self.session(host, repo)?;
        s.push_image(&img, tag).await?;
        Ok(img.manifest.digest)
    }

    /// Push a two-platform image index (linux/amd64, linux/arm64/v8) for `seed` to
    /// `host/repo:tag`; returns (index digest, [(platform, manifest digest)]).
    pub async fn push_index(
        &self,
        host: &str,
        repo: &str,
        tag: &str,
        seed: &str,
    ) -> anyhow::Result<(String, Vec<(String, String)>)> {
        let mut s = self.session(host, repo)?;
        let platforms = [Platform::AMD64, Platform::ARM64_V8];
        let mut images = Vec::new();
        for p in platforms {
            let img = image::image(seed, p)?;
            s.push_image(&img, &img.manifest.digest).await?;
            images.push((p, img));
        }
        let pairs: Vec<_> = images.iter().map(|(p, i)| (*p, i)).collect();
        let index = image::index(&pairs)?;
        s.put_manifest(tag, &index, OCI_INDEX).await?;
        let list = images
            .iter()
            .map(|(p, i)| (p.name(), i.manifest.digest.clone()))
            .collect();
        Ok((index.digest, list))
    }

    /// The digest behind `host/repo:reference` as the registry reports it (HEAD with
    /// [`MANIFEST_ACCEPT`]); `None` on 404.
    pub async fn manifest_digest(
        &self,
        host: &str,
        repo: &str,
        reference: &str,
    ) -> anyhow::Result<Option<String>> {
        let mut s = self.session(host, repo)?;
        let url = s.url(&format!("manifests/{reference}"))?;
        let resp = s
            .send(|c| c.head(url.clone()).header(ACCEPT, MANIFEST_ACCEPT))
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            bail!("HEAD {url} answered {}", resp.status());
        }
        let digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .with_context(|| format!("HEAD {url} has no Docker-Content-Digest"))?;
        Ok(Some(digest.to_string()))
    }

    fn session(&self, host: &str, repo: &str) -> anyhow::Result<Session> {
        Ok(Session {
            client: http_client()?,
            base: url::Url::parse(&format!("http://{host}/v2/{repo}/"))
                .with_context(|| format!("registry host {host:?} / repo {repo:?}"))?,
            creds: self
                .credentials_for(host)
                .map(|e| (e.username.clone(), e.password.clone())),
            scope: format!("repository:{repo}:pull,push"),
            auth: None,
        })
    }
}

/// One repository on one registry, remembering the Authorization it earned.
struct Session {
    client: reqwest::Client,
    base: url::Url,
    creds: Option<(String, String)>,
    scope: String,
    auth: Option<String>,
}

impl Session {
    fn url(&self, path: &str) -> anyhow::Result<url::Url> {
        self.base
            .join(path)
            .with_context(|| format!("URL for {path}"))
    }

    /// Sends a request; on 401 answers the challenge (Basic, or Bearer via the token realm) once.
    async fn send(
        &mut self,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        let mut answered = false;
        loop {
            let mut req = make(&self.client);
            if let Some(a) = &self.auth {
                req = req.header(AUTHORIZATION, a);
            }
            let resp = req.send().await.context("registry request")?;
            if resp.status() != StatusCode::UNAUTHORIZED || answered {
                return Ok(resp);
            }
            let challenge = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            self.auth = Some(self.authorize(&challenge).await?);
            answered = true;
        }
    }

    async fn authorize(&self, challenge: &str) -> anyhow::Result<String> {
        let host = self.base.host_str().unwrap_or("?");
        let Some((user, password)) = &self.creds else {
            bail!("registry {host} asks for credentials ({challenge}) and the rig has none for it");
        };
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            let raw = format!("{user}:{password}");
            return Ok(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ));
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            bail!("registry {host} sent an unknown challenge {challenge:?}");
        }
        let params = challenge_params(params);
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let realm = get("realm").context("bearer challenge without realm")?;
        let mut url = url::Url::parse(realm).with_context(|| format!("token realm {realm:?}"))?;
        url.query_pairs_mut()
            .append_pair("service", get("service").unwrap_or(""))
            .append_pair("scope", get("scope").unwrap_or(&self.scope));
        let resp = self
            .client
            .get(url.clone())
            .basic_auth(user, Some(password))
            .send()
            .await
            .with_context(|| format!("token request to {realm}"))?;
        let status = resp.status();
        let body = resp.text().await.context("token response body")?;
        if !status.is_success() {
            bail!("token server {realm} answered {status}: {body}");
        }
        let v: serde_json::Value =
            serde_json::from_str(&body).with_context(|| format!("token response from {realm}"))?;
        let token = v["token"]
            .as_str()
            .or(v["access_token"].as_str())
            .with_context(|| format!("token response from {realm} has no token"))?;
        Ok(format!("Bearer {token}"))
    }

    async fn push_image(&mut self, img: &image::Image, reference: &str) -> anyhow::Result<()> {
        for blob in &img.blobs {
            self.put_blob(blob).await?;
        }
        self.put_manifest(reference, &img.manifest, OCI_MANIFEST)
            .await
    }

    async fn put_blob(&mut self, blob: &Blob) -> anyhow::Result<()> {
        let head = self.url(&format!("blobs/{}", blob.digest))?;
        if self.send(|c| c.head(head.clone())).await?.status() == StatusCode::OK {
            return Ok(());
        }
        let start = self.url("blobs/uploads/")?;
        let resp = self.send(|c| c.post(start.clone())).await?;
        let resp = check(resp, StatusCode::ACCEPTED, "POST", &start).await?;
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .with_context(|| format!("POST {start} answered 202 without Location"))?;
        let mut put = start
            .join(location)
            .with_context(|| format!("upload Location {location:?}"))?;
        put.query_pairs_mut().append_pair("digest", &blob.digest);
        let body = blob.bytes.clone();
        let resp = self
            .send(|c| {
                c.put(put.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(body.clone())
            })
            .await?;
        check(resp, StatusCode::CREATED, "PUT", &put).await?;
        Ok(())
    }

    async fn put_manifest(&mut self, reference: &str, m: &Blob, media: &str) -> anyhow::Result<()> {
        let url = self.url(&format!("manifests/{reference}"))?;
        let body = m.bytes.clone();
        let resp = self
            .send(|c| {
                c.put(url.clone())
                    .header(CONTENT_TYPE, media)
                    .body(body.clone())
            })
            .await?;
        let got = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        check(resp, StatusCode::CREATED, "PUT", &url).await?;
        if got.as_deref() != Some(m.digest.as_str()) {
            bail!(
                "PUT {url}: registry reports digest {got:?}, we sent {}",
                m.digest
            );
        }
        Ok(())
    }
}

/// `resp` when its status is `want`, else an error with the status and body.
async fn check(
    resp: reqwest::Response,
    want: StatusCode,
    method: &str,
    url: &url::Url,
) -> anyhow::Result<reqwest::Response> {
    if resp.status() == want {
        return Ok(resp);
    }
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    bail!("{method} {url} answered {status} (expected {want}): {body}")
}

/// `key="value"` pairs of a WWW-Authenticate challenge (values may hold commas).
fn challenge_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.split_once('"') {
                Some((v, t)) => (v, t),
                None => (quoted, ""),
            }
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        out.push((key, value.to_string()));
        rest = tail.trim_start_matches(',').trim();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::challenge_params;

    #[test]
    fn challenge_params_keep_commas_inside_quotes() {
        let p = challenge_params(
            r#"realm="http://127.0.0.1:1/token",service="reg",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(
            p,
            vec![
                ("realm".into(), "http://127.0.0.1:1/token".into()),
                ("service".into(), "reg".into()),
                ("scope".into(), "repository:a/b:pull,push".into()),
            ]
        );
    }
}
