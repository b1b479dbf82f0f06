//! Small, reproducible OCI images: one gzip layer holding `/seed`, a config and a manifest. The
//! bytes depend only on the seed and the platform, so the same seed always gives the same digest.

use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;
use sha2::{Digest, Sha256};

/// OCI image manifest media type.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub(crate) const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// Content and its `sha256:` digest.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub(crate) bytes: Bytes,
    pub(crate) digest: String,
}

impl Blob {
    pub(crate) fn new(bytes: Vec<u8>) -> Blob {
        let digest = digest_of(&bytes);
        Blob {
            bytes: Bytes::from(bytes),
            digest,
        }
    }

    fn descriptor(&self, media_type: &str) -> serde_json::Value {
        json!({"mediaType": media_type, "digest": self.digest, "size": self.bytes.len()})
    }
}

/// `sha256:<hex>` of `bytes`.
pub(crate) fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A platform of a multi-platform image.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Platform {
    pub(crate) architecture: &'static str,
    pub(crate) variant: Option<&'static str>,
}

impl Platform {
    pub(crate) const AMD64: Platform = Platform {
        architecture: "amd64",
        variant: None,
    };
    pub(crate) const ARM64_V8: Platform = Platform {
        architecture: "arm64",
        variant: Some("v8"),
    };

    /// `linux/amd64`, `linux/arm64/v8`.
    pub(crate) fn name(&self) -> String {
        match self.variant {
            Some(v) => format!("linux/{}/{v}", self.architecture),
            None => format!("linux/{}", self.architecture),
        }
    }

    fn json(&self) -> serde_json::Value {
        let mut p = json!({"architecture": self.architecture, "os": "linux"});
        if let Some(v) = self.variant {
            p["variant"] = json!(v);
        }
        p
    }
}

/// A single-platform image: the blobs to upload and the manifest.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) blobs: Vec<Blob>,
    pub(crate) manifest: Blob,
}

/// The image for `seed` on `platform`.
pub(crate) fn image(seed: &str, platform: Platform) -> anyhow::Result<Image> {
    let content = format!("{seed}\n{}\n", platform.name());
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, "seed", content.as_bytes())?;
    let layer_tar = tar.into_inner()?;
    // GzEncoder writes mtime 0 and a fixed OS byte: the output depends on the input alone.
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&layer_tar)?;
    let layer = Blob::new(gz.finish()?);
    let mut config = platform.json();
    config["config"] = json!({"Cmd": ["/seed"], "Labels": {"baton.rig.seed": seed}});
    config["rootfs"] = json!({"type": "layers", "diff_ids": [digest_of(&layer_tar)]});
    let config = Blob::new(serde_json::to_vec(&config)?);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(OCI_CONFIG),
        "layers": [layer.descriptor(OCI_LAYER)],
    });
    Ok(Image {
        blobs: vec![layer, config],
        manifest: Blob::new(serde_json::to_vec(&manifest)?),
    })
}

/// The image index over `images` (each with its platform).
pub(crate) fn index(images: &[(Platform, &Image)]) -> anyhow::Result<Blob> {
    let manifests: Vec<_> = images
        .iter()
        .map(|(p, img)| {
            let mut d = img.manifest.descriptor(OCI_MANIFEST);
            d["platform"] = p.json();
            d
        })
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    Ok(Blob::new(serde_json::to_vec(&index)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_digest_other_seed_other_digest() {
        let a = image("a", Platform::AMD64).unwrap();
        let a2 = image("a", Platform::AMD64).unwrap();
        let b = image("b", Platform::AMD64).unwrap();
        let a_arm = image("a", Platform::ARM64_V8).unwrap();
        assert_eq!(a.manifest.digest, a2.manifest.digest);
        assert_ne!(a.manifest.digest, b.manifest.digest);
        assert_ne!(a.manifest.digest, a_arm.manifest.digest);
    }

    #[test]
    fn manifest_names_its_blobs() {
        let img = image("x", Platform::ARM64_V8).unwrap();
        let m: serde_json::Value = serde_json::from_slice(&img.manifest.bytes).unwrap();
        assert_eq!(m["layers"][0]["digest"], img.blobs[0].digest);
        assert_eq!(m["config"]["digest"], img.blobs[1].digest);
        let config: serde_json::Value = serde_json::from_slice(&img.blobs[1].bytes).unwrap();
        assert_eq!(config["architecture"], "arm64");
        assert_eq!(config["variant"], "v8");
    }
}
