//! Whole-config checks that serde cannot express: names, job paths, image references, limits,
//! references between sections. (URLs, addresses, versions and crons are typed and parsed
//! while decoding, `super::types`.) Collects every problem instead of stopping at the first.

use std::collections::HashSet;

use super::Problem;
use super::model::{ChartDelivery, Config, GateAuth, Product};
use crate::reference::ImageRef;

pub(super) fn validate(c: &Config) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut err = |path: String, msg: String| out.push(Problem::new(path, msg));

    if let Some(j) = &c.jenkins
        && j.user.trim().is_empty()
    {
        err(
            "jenkins.user".into(),
            "is empty; name the Jenkins user of the token".into(),
        );
    }
    if let Some(s) = &c.spinnaker {
        for (key, v) in [
            ("spinnaker.webhook_source", &s.webhook_source),
            ("spinnaker.image_webhook_source", &s.image_webhook_source),
        ] {
            if !is_name(v) {
                err(
                    key.into(),
                    format!("{v:?} must be lowercase letters, digits and '-'"),
                );
            }
        }
        if let GateAuth::Basic { user, .. } = &s.auth
            && user.trim().is_empty()
        {
            err("spinnaker.auth.user".into(), "is empty".into());
        }
        if s.deploy_account.trim().is_empty() {
            err(
                "spinnaker.deploy_account".into(),
                "is empty; name the Clouddriver Kubernetes account (default \"kubernetes\")".into(),
            );
        }
    }
    let mut hosts = HashSet::new();
    for (i, r) in c.registries.iter().enumerate() {
        if r.host.is_empty() || r.host.contains('/') || r.host.contains("://") {
            err(
                format!("registries[{i}].host"),
                format!(
                    "{:?} must be a bare host[:port], without scheme or path",
                    r.host
                ),
            );
        }
        if !hosts.insert(r.host.as_str()) {
            err(
                format!("registries[{i}].host"),
                format!("{:?} is listed twice", r.host),
            );
        }
        if r.username.is_some() != r.password_file.is_some() {
            err(
                format!("registries[{i}]"),
                "username and password_file go together; set both or neither".into(),
            );
        }
    }
    if let Some(g) = &c.git {
        for (i, cred) in g.credentials.iter().enumerate() {
            http_url(
                &mut err,
                &format!("git.credentials[{i}].url_prefix"),
                &cred.url_prefix,
            );
        }
    }
    let o = &c.outbox;
    if o.initial_delay.is_zero() {
        err("outbox.initial_delay".into(), "must be more than 0s".into());
    }
    if o.max_delay < o.initial_delay {
        err(
            "outbox.max_delay".into(),
            "must be at least outbox.initial_delay".into(),
        );
    }
    if o.max_attempts == 0 {
        err("outbox.max_attempts".into(), "must be at least 1".into());
    }
    // The worker renews its leases every third of the lease, so a lease must leave room for
    // a renewal round trip; a crashed daemon's records are due again after one lease.
    if o.lease < std::time::Duration::from_secs(1) {
        err(
            "outbox.lease".into(),
            "must be at least 1s (the worker renews it every third of the lease)".into(),
        );
    }
    if o.give_up_after < o.initial_delay {
        err(
            "outbox.give_up_after".into(),
            "must be at least outbox.initial_delay".into(),
        );
    }

    super::api::validate(c, &mut err);
    if let Err(why) = super::api::check_ui_prefix(&c.ui.path_prefix) {
        err("ui.path_prefix".into(), why);
    }

    let mut names = HashSet::new();
    for (i, p) in c.products.iter().enumerate() {
        let at = format!("products[{i}]");
        if !is_name(&p.name) {
            err(
                format!("{at}.name"),
                format!(
                    "{:?} must be lowercase letters, digits and '-' (it names a Spinnaker application)",
                    p.name
                ),
            );
        }
        if !names.insert(p.name.as_str()) {
            err(
                format!("{at}.name"),
                format!("product {:?} is defined twice", p.name),
            );
        }
        product(c, p, &at, &mut err);
    }
    out
}

fn product(c: &Config, p: &Product, at: &str, err: &mut impl FnMut(String, String)) {
    if p.environments.is_empty() && p.chart.is_some() {
        err(
            format!("{at}.environments"),
            "is empty; list at least one environment, e.g. [dev]".into(),
        );
    }
    let mut envs = HashSet::new();
    for (j, e) in p.environments.iter().enumerate() {
        if !is_name(e) {
            err(
                format!("{at}.environments[{j}]"),
                format!("{e:?} must be lowercase letters, digits and '-'"),
            );
        }
        if !envs.insert(e.as_str()) {
            err(
                format!("{at}.environments[{j}]"),
                format!("{e:?} is listed twice"),
            );
        }
    }
    judgments(p, at, err);
    let v = &p.verification;
    if let Some(job) = &v.job
        && !is_job_path(job)
    {
        err(
            format!("{at}.verification.job"),
            format!(
                "{job:?} must be a job path like folder/job, e.g. {}/verify",
                p.name
            ),
        );
    }
    if v.master.trim().is_empty() {
        err(
            format!("{at}.verification.master"),
            "is empty; give igor's name for the Jenkins controller, e.g. jenkins".into(),
        );
    }
    if let Some(ch) = &p.chart {
        if ch.name.trim().is_empty() {
            err(format!("{at}.chart.name"), "is empty".into());
        }
        if ch.delivery == ChartDelivery::Reference && ch.artifact_account.is_none() {
            err(
                format!("{at}.chart.artifact_account"),
                "is required with delivery: reference (the clouddriver helm account)".into(),
            );
        }
        if c.spinnaker.is_none() {
            err(
                format!("{at}.chart"),
                "needs a spinnaker: section to deliver to".into(),
            );
        }
        if p.chart_source.is_none() {
            err(
                format!("{at}.chart_source"),
                "is required with chart: (the repo holding values-<env>.yaml)".into(),
            );
        }
    }
    if let Some(cs) = &p.chart_source {
        if cs.poll.as_secs() < 1 {
            err(
                format!("{at}.chart_source.poll"),
                "must be at least 1s".into(),
            );
        }
        if let Some(dir) = &cs.dir
            && (dir.starts_with('/') || dir.split('/').any(|s| s == ".."))
        {
            err(
                format!("{at}.chart_source.dir"),
                format!("{dir:?} must be a relative folder inside the repo"),
            );
        }
        if p.chart.is_none() {
            err(
                format!("{at}.chart"),
                "is required with chart_source:".into(),
            );
        }
    }
    let mut images = HashSet::new();
    for (k, img) in p.images.iter().enumerate() {
        let at = format!("{at}.images[{k}]");
        if !is_name(&img.name) {
            err(
                format!("{at}.name"),
                format!("{:?} must be lowercase letters, digits and '-'", img.name),
            );
        }
        if !images.insert(img.name.as_str()) {
            err(
                format!("{at}.name"),
                format!("image {:?} is defined twice in this product", img.name),
            );
        }
        match ImageRef::parse(&img.base) {
            Ok(r) if r.tag.is_none() && r.digest.is_none() => err(
                format!("{at}.base"),
                format!(
                    "{:?} has no tag; name the tag to watch, e.g. {}:1.0",
                    img.base, img.base
                ),
            ),
            Ok(_) => {}
            Err(e) => err(format!("{at}.base"), e),
        }
        match ImageRef::parse(&img.target) {
            Ok(r) if r.tag.is_some() || r.digest.is_some() => err(
                format!("{at}.target"),
                format!(
                    "{:?} must be a repository without tag or digest",
                    img.target
                ),
            ),
            Ok(_) => {}
            Err(e) => err(format!("{at}.target"), e),
        }
        if !is_job_path(&img.jenkins_job) {
            err(
                format!("{at}.jenkins_job"),
                format!(
                    "{:?} must be a job path like folder/job (letters, digits, '-', '_', '.', \
                     no '.' or '..' segments)",
                    img.jenkins_job
                ),
            );
        }
        if c.jenkins.is_none() {
            err(
                format!("{at}.jenkins_job"),
                "needs a jenkins: section to build with".into(),
            );
        }
        if c.spinnaker.is_none() {
            err(
                at.clone(),
                "needs a spinnaker: section to send image events to".into(),
            );
        }
        if let Some(a) = &img.artifact_source
            && a.poll.as_secs() < 1
        {
            err(
                format!("{at}.artifact_source.poll"),
                "must be at least 1s".into(),
            );
        }
    }
}

/// `judgments:` names environments that wait for a judgment, with a deadline above zero.
fn judgments(p: &Product, at: &str, err: &mut impl FnMut(String, String)) {
    for (env, policy) in &p.judgments {
        let key = format!("{at}.judgments.{env}");
        match p.environments.iter().position(|e| e == env) {
            None => err(
                key.clone(),
                format!(
                    "{env:?} is not one of this product's environments ({}); use one of them",
                    p.environments.join(", ")
                ),
            ),
            Some(0) => err(
                key.clone(),
                format!(
                    "{env:?} is the first environment: its pipeline deploys without a manual \
                     judgment, so there is nothing to time out; remove it"
                ),
            ),
            Some(_) => {}
        }
        if policy.judgment_deadline.is_zero() {
            err(
                format!("{key}.judgment_deadline"),
                "must be above zero, e.g. 24h".into(),
            );
        }
    }
}

/// Parses a 5- or 6-field (seconds first) cron expression.
pub fn parse_cron(expr: &str) -> Result<croner::Cron, String> {
    let fields = expr.split_whitespace().count();
    if !(fields == 5 || fields == 6) {
        return Err(format!(
            "{expr:?} has {fields} fields; cron needs 5 (min hour day month weekday) or 6 (with seconds first)"
        ));
    }
    croner::parser::CronParser::builder()
        .year(croner::parser::Year::Disallowed)
        .build()
        .parse(expr)
        .map_err(|e| format!("{expr:?} is not a cron expression: {e}"))
}

/// `folder/job`: segments of Jenkins-safe characters; `.` and `..` would climb out of the
/// folder in the URL built from it.
fn is_job_path(s: &str) -> bool {
    s.split('/').all(|seg| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
    })
}

pub(super) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn http_url(err: &mut impl FnMut(String, String), key: &str, v: &str) {
    match url::Url::parse(v) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {}
        _ => err(
            key.into(),
            format!("{v:?} is not an http:// or https:// URL"),
        ),
    }
}
