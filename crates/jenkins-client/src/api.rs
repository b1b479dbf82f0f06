//! Reads and small actions: root info and version, whoAmI, job and build JSON, the Pipeline
//! stage view, queue items, cancel and stop, API token generation.

use reqwest::{Method, StatusCode};

use crate::client::{Body, JenkinsClient};
use crate::model::{
    ApiTokenResponse, Build, GeneratedApiToken, JobInfo, QueueItem, RootInfo, WhoAmI, WorkflowRun,
};
use crate::{Error, JobPath};

/// `tree=` for builds: what baton reads, keeping answers small.
pub const BUILD_TREE: &str = "number,url,building,result,duration,estimatedDuration,timestamp,\
queueId,displayName,fullDisplayName,description,actions[parameters[name,value],causes[shortDescription,userId,userName]]";

/// `tree=` for jobs.
pub const JOB_TREE: &str = "name,fullName,url,buildable,inQueue,color,nextBuildNumber,\
concurrentBuild,lastBuild[number,url],lastCompletedBuild[number,url],lastSuccessfulBuild[number,url],\
property[parameterDefinitions[name,type,description,defaultParameterValue[value],choices]],\
actions[parameterDefinitions[name,type,description,defaultParameterValue[value],choices]],jobs[name,url,color]";

/// Root information with the server version.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServerInfo {
    /// `X-Jenkins` header.
    pub version: String,
    /// `/api/json`.
    pub root: RootInfo,
}

impl JenkinsClient {
    /// `GET api/json` plus the `X-Jenkins` version header.
    pub async fn server_info(&self) -> Result<ServerInfo, Error> {
        let rel = "api/json?tree=url,mode,numExecutors,quietingDown,useCrumbs,useSecurity,jobs[name,url,color]";
        let url = self.url(rel)?;
        let reply = self.send(Method::GET, url, Body::None).await?;
        let reply = self.check(Method::GET, reply)?;
        let version = reply
            .header("X-Jenkins")
            .ok_or_else(|| Error::MissingHeader {
                url: reply.url.clone(),
                header: "X-Jenkins",
            })?;
        Ok(ServerInfo {
            version,
            root: reply.decode()?,
        })
    }

    /// The Jenkins version (`X-Jenkins`).
    pub async fn version(&self) -> Result<String, Error> {
        Ok(self.server_info().await?.version)
    }

    /// `GET whoAmI/api/json`: who Jenkins thinks the caller is.
    pub async fn who_am_i(&self) -> Result<WhoAmI, Error> {
        let url = self.url("whoAmI/api/json")?;
        let reply = self.send(Method::GET, url, Body::None).await?;
        self.check(Method::GET, reply)?.decode()
    }

    /// `GET job/…/api/json` with [`JOB_TREE`].
    pub async fn job_info(&self, job: &JobPath) -> Result<JobInfo, Error> {
        let rel = format!("{}api/json?tree={JOB_TREE}", job.url_path());
        match self.get_json_opt(&rel).await? {
            Some((info, _)) => Ok(info),
            None => Err(Error::JobNotFound {
                job: job.to_string(),
                url: self.url(&rel)?.to_string(),
            }),
        }
    }

    /// `GET job/…/N/api/json` with [`BUILD_TREE`].
    pub async fn build_info(&self, job: &JobPath, number: u32) -> Result<Build, Error> {
        self.build_info_opt(job, number)
            .await?
            .ok_or_else(|| Error::BuildNotFound {
                job: job.to_string(),
                number,
            })
    }

    /// Like [`Self::build_info`], `None` on 404.
    pub async fn build_info_opt(&self, job: &JobPath, number: u32) -> Result<Option<Build>, Error> {
        let rel = format!("{}{number}/api/json?tree={BUILD_TREE}", job.url_path());
        Ok(self.get_json_opt(&rel).await?.map(|(b, _)| b))
    }

    /// `GET job/…/N/wfapi/describe`: the Pipeline stage view of a build (status including
    /// `PAUSED_PENDING_INPUT`, stages with status and durations). `None` on 404: no such build,
    /// not a Pipeline job, or the pipeline-stage-view plugin is not installed.
    pub async fn workflow_run(
        &self,
        job: &JobPath,
        number: u32,
    ) -> Result<Option<WorkflowRun>, Error> {
        let rel = format!("{}{number}/wfapi/describe", job.url_path());
        Ok(self.get_json_opt(&rel).await?.map(|(run, _)| run))
    }

    /// `POST me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken` with form
    /// `newTokenName`: creates an API token for the calling user (Jenkins shows its value only
    /// in this answer). A blank name makes Jenkins pick "Token created on …".
    pub async fn generate_api_token(&self, name: &str) -> Result<GeneratedApiToken, Error> {
        const REL: &str = "me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken";
        let url = self.url(REL)?;
        let form = [("newTokenName".to_owned(), name.to_owned())];
        let reply = self.send(Method::POST, url, Body::Form(&form)).await?;
        let reply = self.check(Method::POST, reply)?;
        if reply.status.is_redirection() {
            return Err(Error::Api {
                method: "POST".to_owned(),
                status: reply.status.as_u16(),
                body: format!(
                    "redirected to {:?} instead of answering JSON; check the base URL and that \
                     the credentials are an existing user's",
                    reply.header("Location").unwrap_or_default()
                ),
                url: reply.url,
                retry_after: None,
            });
        }
        let rsp: ApiTokenResponse = reply.decode()?;
        match rsp.data {
            Some(token) if rsp.status == "ok" => Ok(token),
            _ => Err(Error::Api {
                method: "POST".to_owned(),
                status: reply.status.as_u16(),
                body: format!(
                    "token generation answered status {:?}: {}",
                    rsp.status,
                    rsp.message.as_deref().unwrap_or("no token in the answer")
                ),
                url: reply.url,
                retry_after: None,
            }),
        }
    }

    /// Reads a build from its absolute URL as found in a queue item's `executable.url`;
    /// the part from the first `job/` on is resolved against this client's base URL, so a
    /// Jenkins root URL setting that differs from the base does not matter.
    pub(crate) async fn build_at(&self, build_url: &str) -> Result<Option<Build>, Error> {
        let path = url::Url::parse(build_url)
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|_| build_url.to_owned());
        let rel = match path.find("/job/") {
            Some(i) => &path[i + 1..],
            None => path.trim_start_matches('/'),
        };
        let rel = format!("{}/api/json?tree={BUILD_TREE}", rel.trim_end_matches('/'));
        Ok(self.get_json_opt(&rel).await?.map(|(b, _)| b))
    }

    /// `GET queue/item/N/api/json`.
    pub async fn queue_item(&self, id: u64) -> Result<QueueItem, Error> {
        match self
            .get_json_opt(&format!("queue/item/{id}/api/json"))
            .await?
        {
            Some((item, _)) => Ok(item),
            None => Err(Error::QueueItemNotFound { id }),
        }
    }

    /// `POST queue/cancelItem?id=N` (204 = cancelled). Jenkins (`Queue.doCancelItem`)
    /// answers 500 "Could not cancel run for id N" for an item that already left the queue
    /// (a build started, or it was cancelled) and is still remembered, which becomes
    /// [`Error::QueueItemAlreadyLeft`]; 404 "Provided id (N) not found" for an id it never
    /// had or forgot (about 5 minutes after the item left), which becomes
    /// [`Error::QueueItemNotFound`]; 422 without the cancel permission.
    pub async fn cancel_queue_item(&self, id: u64) -> Result<(), Error> {
        let url = self.url(&format!("queue/cancelItem?id={id}"))?;
        let reply = self.send(Method::POST, url, Body::None).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Err(Error::QueueItemNotFound { id });
        }
        if reply.status == StatusCode::INTERNAL_SERVER_ERROR
            && reply.excerpt().contains("Could not cancel run for id")
        {
            return Err(Error::QueueItemAlreadyLeft { id });
        }
        self.check(Method::POST, reply).map(drop)
    }

    /// `POST job/…/N/stop` (Jenkins answers 302 to the build page).
    pub async fn stop_build(&self, job: &JobPath, number: u32) -> Result<(), Error> {
        let url = self.url(&format!("{}{number}/stop", job.url_path()))?;
        let reply = self.send(Method::POST, url, Body::None).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Err(Error::BuildNotFound {
                job: job.to_string(),
                number,
            });
        }
        self.check(Method::POST, reply).map(drop)
    }
}
