//! Triggering builds: `build` and `buildWithParameters`.
//!
//! Jenkins answers 201 with `Location: <root>/queue/item/N/` for a new queue item and 303 with
//! the same `Location` when an item with identical parameters is already queued
//! (`ParametersDefinitionProperty.buildWithParameters`, `ScheduleResult.existing`). Triggers
//! are not retried here: a retry could start a second build, so the caller (baton's outbox)
//! decides.

use reqwest::{Method, StatusCode};

use crate::client::{Body, JenkinsClient, Reply};
use crate::{Error, JobPath};

/// Where parameters go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamsIn {
    /// `application/x-www-form-urlencoded` body (no URL length limit; default).
    #[default]
    Form,
    /// Query string.
    Query,
}

/// The queue item a trigger produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Triggered {
    /// Queue item id.
    pub queue_id: u64,
    /// True when Jenkins answered 303: the same parameters were already queued, and this is
    /// that item (no new build will start for this call).
    pub coalesced: bool,
    /// The `Location` header as sent.
    pub location: String,
}

impl JenkinsClient {
    /// `POST job/…/buildWithParameters` with `params`.
    pub async fn build_with_parameters(
        &self,
        job: &JobPath,
        params: &[(String, String)],
        how: ParamsIn,
    ) -> Result<Triggered, Error> {
        let mut url = self.url(&format!("{}buildWithParameters", job.url_path()))?;
        let body = match how {
            ParamsIn::Form => Body::Form(params),
            ParamsIn::Query => {
                url.query_pairs_mut().extend_pairs(params);
                Body::None
            }
        };
        let reply = self.send(Method::POST, url, body).await?;
        self.triggered(job, reply)
    }

    /// `POST job/…/build` for a job without parameters.
    pub async fn build(&self, job: &JobPath) -> Result<Triggered, Error> {
        let url = self.url(&format!("{}build", job.url_path()))?;
        let reply = self.send(Method::POST, url, Body::None).await?;
        self.triggered(job, reply)
    }

    fn triggered(&self, job: &JobPath, reply: Reply) -> Result<Triggered, Error> {
        let job_name = job.to_string();
        match reply.status {
            StatusCode::NOT_FOUND => {
                return Err(Error::JobNotFound {
                    job: job_name,
                    url: reply.url,
                });
            }
            StatusCode::CONFLICT => {
                return Err(Error::JobDisabled {
                    job: job_name,
                    body: reply.excerpt(),
                });
            }
            StatusCode::BAD_REQUEST if reply.excerpt().contains("is not parameterized") => {
                return Err(Error::NotParameterized {
                    job: job_name,
                    body: reply.excerpt(),
                });
            }
            _ => {}
        }
        let status = reply.status;
        let reply = self.check(Method::POST, reply)?;
        let coalesced = match status {
            StatusCode::CREATED => false,
            StatusCode::SEE_OTHER => true,
            other => {
                return Err(Error::BadLocation {
                    url: reply.url,
                    status: other.as_u16(),
                    detail: "expected 201 Created or 303 See Other with a queue item".to_owned(),
                });
            }
        };
        let Some(location) = reply.header("Location") else {
            return Err(Error::BadLocation {
                url: reply.url,
                status: status.as_u16(),
                detail: "no Location header".to_owned(),
            });
        };
        let queue_id = queue_id_from_location(&location).ok_or_else(|| Error::BadLocation {
            url: reply.url.clone(),
            status: status.as_u16(),
            detail: format!("{location:?} is not …/queue/item/N/"),
        })?;
        Ok(Triggered {
            queue_id,
            coalesced,
            location,
        })
    }
}

/// The id in `…/queue/item/N/` (absolute or relative).
pub fn queue_id_from_location(location: &str) -> Option<u64> {
    let path = location.split(['?', '#']).next()?;
    let mut parts = path.trim_end_matches('/').rsplit('/');
    let id = parts.next()?.parse().ok()?;
    (parts.next()? == "item" && parts.next()? == "queue").then_some(id)
}

#[cfg(test)]
mod tests {
    use super::queue_id_from_location;

    #[test]
    fn queue_ids_come_from_queue_item_locations_only() {
        assert_eq!(
            queue_id_from_location("http://j:8080/jenkins/queue/item/42/"),
            Some(42)
        );
        assert_eq!(queue_id_from_location("/queue/item/7"), Some(7));
        assert_eq!(queue_id_from_location("http://j/job/x/"), None);
        assert_eq!(queue_id_from_location("http://j/queue/item/abc/"), None);
    }
}
