//! Verified payloads of each provider, read into one [`PushEvent`] shape.

use serde::de::DeserializeOwned;

use super::error::HookError;

#[path = "payload_wire.rs"]
mod wire;
use super::provider::Provider;
use super::verify::Verified;
use wire::*;

/// One ref moved by a push, the same for every provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushEvent {
    /// Who sent it.
    pub provider: Provider,
    /// The delivery id the push came with.
    pub delivery_id: String,
    /// Every URL the payload gives for the repository (https clone, ssh, web page ...).
    pub repo_urls: Vec<String>,
    /// The full ref, `refs/heads/main` or `refs/tags/v1`.
    pub git_ref: String,
    /// The branch for `refs/heads/...`; `None` for tags and other refs.
    pub branch: Option<String>,
    /// The commit the ref points to now (all zeros when deleted).
    pub after: String,
    /// Whether the push deleted the ref.
    pub deleted: bool,
    /// The commit the ref pointed to before the push, when the host says.
    pub before: Option<String>,
    /// Every path the pushed commits added, modified or removed, when the host listed the
    /// files of every pushed commit (GitHub, GitLab, Gitea with file lists; not a forced push,
    /// not a truncated list); `None`: unknown, read every watched file.
    pub changed: Option<Vec<String>>,
}

/// What a verified webhook asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookEvent {
    /// A connectivity test (GitHub `ping`, Bitbucket `diagnostics:ping`).
    Ping,
    /// Refs were pushed (Bitbucket can report several refs in one push).
    Push(Vec<PushEvent>),
    /// Another kind of event, named as the provider names it.
    Other(String),
}

/// Reads the event of a verified request. `delivery_id` is copied into each push.
pub fn parse(verified: &Verified, delivery_id: &str) -> Result<HookEvent, HookError> {
    let provider = verified.provider();
    let kind = provider
        .event_kind(verified.headers())
        .unwrap_or_else(|| format!("(no {} header)", provider.event_header()));
    let form = form_payload(verified)?;
    let body = form.as_deref().unwrap_or(verified.body().as_ref());
    let push = |git_ref: String, after: String, deleted: bool, repo_urls: Vec<String>| {
        push_event(provider, delivery_id, repo_urls, git_ref, after, deleted)
    };
    let event = match (provider, kind.as_str()) {
        (Provider::GitHub, "ping") | (Provider::Bitbucket, "diagnostics:ping") => HookEvent::Ping,
        (Provider::GitHub, "push") | (Provider::Gitea, "push") => {
            let p: HubPush = decode(provider, body)?;
            // GitHub lists at most 2048 commits; Gitea says how many there were.
            let complete = !p.forced
                && p.commits.len() < 2048
                && p.total_commits.is_none_or(|n| n <= p.commits.len());
            let changed = complete.then(|| changed_paths(&p.commits)).flatten();
            let before = p.before.clone();
            let urls = present([
                p.repository.clone_url,
                p.repository.ssh_url,
                p.repository.html_url,
                p.repository.git_url,
                p.repository.url,
            ]);
            let event = push(p.git_ref, p.after, p.deleted, urls);
            HookEvent::Push(vec![PushEvent {
                before,
                changed,
                ..event
            }])
        }
        (Provider::GitLab, "Push Hook" | "Tag Push Hook") => {
            let p: GitLabPush = decode(provider, body)?;
            // GitLab lists at most 20 commits of `total_commits_count`.
            let complete = p.total_commits_count.is_none_or(|n| n <= p.commits.len());
            let changed = complete.then(|| changed_paths(&p.commits)).flatten();
            let before = p.before.clone();
            let mut urls = Vec::new();
            if let Some(r) = p.project {
                urls.extend(present([r.git_http_url, r.git_ssh_url, r.web_url]));
            }
            if let Some(r) = p.repository {
                urls.extend(present([r.git_http_url, r.git_ssh_url, r.homepage, r.url]));
            }
            let event = push(p.git_ref, p.after, false, urls);
            HookEvent::Push(vec![PushEvent {
                before,
                changed,
                ..event
            }])
        }
        (Provider::Bitbucket, "repo:refs_changed") => {
            let p: BitbucketPush = decode(provider, body)?;
            let mut urls = Vec::new();
            if let Some(links) = p.repository.links {
                urls.extend(links.clone.into_iter().map(|l| l.href));
                urls.extend(links.self_.into_iter().filter_map(|l| scm_url(&l.href)));
            }
            let pushes = p
                .changes
                .into_iter()
                .map(|c| {
                    let deleted = c.kind.eq_ignore_ascii_case("DELETE");
                    let before = c.from_hash.clone();
                    PushEvent {
                        before,
                        ..push(c.ref_id, c.to_hash, deleted, urls.clone())
                    }
                })
                .collect();
            HookEvent::Push(pushes)
        }
        (Provider::Bitbucket, "repo:push") => {
            let p: BitbucketCloudPush = decode(provider, body)?;
            let mut urls = present([p.repository.links.and_then(|l| l.html).map(|l| l.href)]);
            if let Some(name) = p.repository.full_name {
                urls.push(format!("https://bitbucket.org/{name}"));
            }
            let pushes = p
                .push
                .changes
                .into_iter()
                .filter_map(|c| {
                    let deleted = c.new.is_none();
                    let before = c.old.as_ref().map(|o| o.target.hash.clone());
                    let target = c.new.or(c.old)?;
                    let git_ref = match target.kind.as_str() {
                        "branch" | "named_branch" => format!("refs/heads/{}", target.name),
                        "tag" | "annotated_tag" => format!("refs/tags/{}", target.name),
                        other => format!("{other}:{}", target.name),
                    };
                    let after = if deleted {
                        String::new()
                    } else {
                        target.target.hash
                    };
                    Some(PushEvent {
                        before,
                        ..push(git_ref, after, deleted, urls.clone())
                    })
                })
                .collect();
            HookEvent::Push(pushes)
        }
        _ => HookEvent::Other(kind),
    };
    Ok(event)
}

fn push_event(
    provider: Provider,
    delivery_id: &str,
    repo_urls: Vec<String>,
    git_ref: String,
    after: String,
    deleted: bool,
) -> PushEvent {
    let branch = git_ref.strip_prefix("refs/heads/").map(str::to_owned);
    let deleted = deleted || (!after.is_empty() && after.bytes().all(|b| b == b'0'));
    PushEvent {
        provider,
        delivery_id: delivery_id.to_owned(),
        repo_urls,
        git_ref,
        branch,
        after,
        deleted,
        before: None,
        changed: None,
    }
}

/// The union of the files every commit lists; `None` if a commit lists none of the three
/// fields (the host did not say).
fn changed_paths(commits: &[PushedCommit]) -> Option<Vec<String>> {
    let mut paths = std::collections::BTreeSet::new();
    for c in commits {
        if c.added.is_none() && c.modified.is_none() && c.removed.is_none() {
            return None;
        }
        for list in [&c.added, &c.modified, &c.removed].into_iter().flatten() {
            paths.extend(list.iter().cloned());
        }
    }
    Some(paths.into_iter().collect())
}

/// GitHub's default content type is `application/x-www-form-urlencoded` with the JSON in the
/// `payload` field; the signature covers the raw (form) body, so this runs after verification.
/// `None` for a JSON body.
fn form_payload(verified: &Verified) -> Result<Option<Vec<u8>>, HookError> {
    let form = verified
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Ok(None);
    }
    url::form_urlencoded::parse(verified.body())
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| Some(v.into_owned().into_bytes()))
        .ok_or(HookError::FormWithoutPayload {
            provider: verified.provider().as_str(),
        })
}

fn decode<T: DeserializeOwned>(provider: Provider, body: &[u8]) -> Result<T, HookError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| HookError::Payload {
        provider: provider.as_str(),
        path: e.path().to_string(),
        cause: e.into_inner(),
    })
}

fn present<const N: usize>(urls: [Option<String>; N]) -> Vec<String> {
    urls.into_iter()
        .flatten()
        .filter(|u| !u.trim().is_empty())
        .collect()
}

/// Bitbucket's web link `https://host/projects/PROJ/repos/slug/browse` as its clone URL
/// `https://host/scm/proj/slug`, for payloads that carry no clone links.
fn scm_url(web: &str) -> Option<String> {
    let (base, rest) = web.split_once("/projects/")?;
    let mut parts = rest.split('/');
    let (project, repos, slug) = (parts.next()?, parts.next()?, parts.next()?);
    (repos == "repos" && !project.is_empty() && !slug.is_empty())
        .then(|| format!("{base}/scm/{}/{slug}", project.to_ascii_lowercase()))
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;
