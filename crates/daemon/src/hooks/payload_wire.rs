//! The providers' push payloads as they arrive: only the fields baton reads.

use serde::Deserialize;

/// GitHub and Gitea push payloads share these fields.
#[derive(Debug, Deserialize)]
pub(super) struct HubPush {
    #[serde(rename = "ref")]
    pub(super) git_ref: String,
    pub(super) after: String,
    #[serde(default)]
    pub(super) deleted: bool,
    pub(super) before: Option<String>,
    #[serde(default)]
    pub(super) forced: bool,
    #[serde(default)]
    pub(super) commits: Vec<PushedCommit>,
    pub(super) total_commits: Option<usize>,
    pub(super) repository: HubRepository,
}

/// A pushed commit's file lists (GitHub, GitLab, Gitea).
#[derive(Debug, Deserialize)]
pub(super) struct PushedCommit {
    pub(super) added: Option<Vec<String>>,
    pub(super) modified: Option<Vec<String>>,
    pub(super) removed: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct HubRepository {
    pub(super) clone_url: Option<String>,
    pub(super) ssh_url: Option<String>,
    pub(super) html_url: Option<String>,
    pub(super) git_url: Option<String>,
    pub(super) url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GitLabPush {
    #[serde(rename = "ref")]
    pub(super) git_ref: String,
    pub(super) after: String,
    pub(super) before: Option<String>,
    #[serde(default)]
    pub(super) commits: Vec<PushedCommit>,
    pub(super) total_commits_count: Option<usize>,
    pub(super) project: Option<GitLabRepository>,
    pub(super) repository: Option<GitLabRepository>,
}

#[derive(Debug, Deserialize)]
pub(super) struct GitLabRepository {
    pub(super) git_http_url: Option<String>,
    pub(super) git_ssh_url: Option<String>,
    pub(super) web_url: Option<String>,
    pub(super) homepage: Option<String>,
    pub(super) url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct BitbucketPush {
    pub(super) repository: BitbucketRepository,
    pub(super) changes: Vec<BitbucketChange>,
}

#[derive(Debug, Deserialize)]
pub(super) struct BitbucketRepository {
    pub(super) links: Option<BitbucketLinks>,
}

#[derive(Debug, Deserialize)]
pub(super) struct BitbucketLinks {
    #[serde(default)]
    pub(super) clone: Vec<BitbucketLink>,
    #[serde(default, rename = "self")]
    pub(super) self_: Vec<BitbucketLink>,
}

#[derive(Debug, Deserialize)]
pub(super) struct BitbucketLink {
    pub(super) href: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BitbucketChange {
    pub(super) ref_id: String,
    pub(super) to_hash: String,
    pub(super) from_hash: Option<String>,
    #[serde(rename = "type")]
    pub(super) kind: String,
}

/// Bitbucket Cloud `repo:push`: `push.changes[].new` is `null` when a ref was deleted.
#[derive(Debug, Deserialize)]
pub(super) struct BitbucketCloudPush {
    pub(super) repository: BitbucketCloudRepository,
    pub(super) push: BitbucketCloudChanges,
}

#[derive(Debug, Deserialize)]
pub(super) struct BitbucketCloudRepository {
    pub(super) full_name: Option<String>,
    pub(super) links: Option<BitbucketCloudLinks>,
}

#[derive(Debug, Deserialize)]
pub(super) struct BitbucketCloudLinks {
    pub(super) html: Option<BitbucketLink>,
}

#[derive(Debug, Deserialize)]
pub(super) struct BitbucketCloudChanges {
    pub(super) changes: Vec<BitbucketCloudChange>,
}

#[derive(Debug, Deserialize)]
pub(super) struct BitbucketCloudChange {
    pub(super) new: Option<BitbucketCloudRef>,
    pub(super) old: Option<BitbucketCloudRef>,
}

#[derive(Debug, Deserialize)]
pub(super) struct BitbucketCloudRef {
    #[serde(rename = "type")]
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) target: BitbucketCloudTarget,
}

#[derive(Debug, Deserialize)]
pub(super) struct BitbucketCloudTarget {
    pub(super) hash: String,
}
