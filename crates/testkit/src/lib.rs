//! Test kit for baton.
//!
//! - [`baton`]: the real `baton serve` binary as a child process, ready when its
//!   `--ready-file` names its address.
//! - [`jenkins`]: a stand-in for Jenkins (jobs, queue, builds, console, crumbs) that answers as
//!   the real server does; binary `fake-jenkins`.
//! - [`spinnaker`]: a stand-in for Spinnaker Gate + Echo + the parts of Orca baton observes;
//!   binary `fake-spinnaker`.
//! - [`rig`]: the URLs and helpers of the rig of real components started by `scripts/rig`.

pub mod baton;
pub mod jenkins;
pub mod rig;
pub mod spinnaker;

/// Whether tests must fail instead of skipping when a real component they need (the rig,
/// python-jenkins, sshd) is missing: in CI (`CI` set, and not `false` or `0`) and wherever
/// `BATON_REQUIRE_RIG` is set likewise (`scripts/test` sets it, since it brings the rig up).
pub fn components_required() -> bool {
    ["CI", "BATON_REQUIRE_RIG"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| !matches!(v.as_str(), "" | "false" | "0")))
}

/// For a test whose real component is missing: panics with `why` where components are
/// [required](components_required), else prints a loud skip line and returns.
pub fn skip_or_fail(component: &str, why: &str) {
    if components_required() {
        panic!("{component} is required here (CI or BATON_REQUIRE_RIG) but missing: {why}");
    }
    eprintln!(
        "SKIP ({component}): {why}\n  this test did NOT run; set BATON_REQUIRE_RIG=1 to make it fail instead"
    );
}

/// What a user sees of `err`: its causes chained by `baton_http::chain`, after
/// [`assert_each_cause_once`] on it.
pub fn shown_once(err: &(dyn std::error::Error + 'static)) -> String {
    let text = baton_http::chain(err);
    assert_each_cause_once(err, &text);
    text
}

/// Asserts that `err`'s own text leaves its cause out (the rule of baton's error types: a
/// variant with a `#[source]` names only where and what), and that `chain` (an error printed
/// with its causes, `baton_http::chain`) names each cause of `err` exactly once. The first
/// check is what catches a `Display` that repeats its source: the chain itself drops a cause
/// whose text the line already ends with, so it reads once either way.
pub fn assert_each_cause_once(err: &(dyn std::error::Error + 'static), chain: &str) {
    if let Some(cause) = err.source() {
        let (own, cause) = (err.to_string(), cause.to_string());
        assert!(
            !own.contains(&cause),
            "{own:?} repeats its source {cause:?}; leave `{{source}}` out of its #[error] text"
        );
    }
    let mut cause = err.source();
    while let Some(c) = cause {
        let text = c.to_string();
        assert_eq!(
            chain.matches(&text).count(),
            1,
            "{text:?} is not named exactly once in {chain:?}"
        );
        cause = c.source();
    }
}
