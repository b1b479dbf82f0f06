//! What tests look at: recorded requests, builds, and injected faults.

use std::collections::BTreeMap;
use std::time::Duration;

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path without the context path, still percent-encoded (`/job/a/job/b/buildWithParameters`).
    pub path: String,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// Decoded `application/x-www-form-urlencoded` body parameters in order.
    pub form: Vec<(String, String)>,
    /// Authenticated user, if any (never the secret).
    pub user: Option<String>,
    /// Whether a crumb header or parameter was sent.
    pub sent_crumb: bool,
    /// Status answered; 0 when the connection was dropped by a fault.
    pub status: u16,
    /// False when the path is not one the stand-in models (answered 404).
    pub modelled: bool,
}

impl RecordedRequest {
    /// A parameter from the query or the form body (query first, as the servlet API merges them).
    pub fn param(&self, name: &str) -> Option<&str> {
        param(&self.query, &self.form, name)
    }
}

/// The parameter `name` of a request: from `query` first, then from the `form` body, as the
/// servlet API merges them.
pub(crate) fn param<'a>(
    query: &'a [(String, String)],
    form: &'a [(String, String)],
    name: &str,
) -> Option<&'a str> {
    query
        .iter()
        .chain(form)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A build as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRecord {
    /// Build number.
    pub number: u32,
    /// Queue item id it came from.
    pub queue_id: u64,
    /// Parameter values by name.
    pub params: BTreeMap<String, String>,
    /// Final result, `None` while building.
    pub result: Option<String>,
    /// Whether it is still running.
    pub building: bool,
    /// Users who asked for it (`None` = anonymous).
    pub started_by: Vec<Option<String>>,
}

/// A build started or finished, as sent to [`super::FakeJenkins::subscribe`]ers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildEvent {
    /// Job full name.
    pub job: String,
    /// The build at the time of the event.
    pub build: BuildRecord,
    /// False when it started, true when it finished.
    pub finished: bool,
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer this status with a short HTML error page (e.g. 500, 503).
    Status(u16),
    /// Answer 503 with `Retry-After: secs`.
    Unavailable {
        /// Value of `Retry-After`, in seconds.
        retry_after_secs: u64,
    },
    /// Wait this long (tokio time) before handling the request normally.
    Delay(Duration),
    /// Close the connection without answering.
    Reset,
}

/// A fault injected into matching requests.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Only this method (e.g. "POST"); any if `None`.
    pub method: Option<String>,
    /// Only paths containing this text; any if `None`.
    pub path_contains: Option<String>,
    /// What happens.
    pub kind: FaultKind,
    /// How many requests it affects; forever if `None`.
    pub times: Option<u32>,
}

impl Fault {
    /// A fault for every request, forever.
    pub fn new(kind: FaultKind) -> Self {
        Fault {
            method: None,
            path_contains: None,
            kind,
            times: None,
        }
    }

    /// Restricts to one method.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_owned());
        self
    }

    /// Restricts to paths containing `text`.
    pub fn path_contains(mut self, text: &str) -> Self {
        self.path_contains = Some(text.to_owned());
        self
    }

    /// Limits to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    pub(crate) fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
            && self.times != Some(0)
    }
}
