//! Gate endpoints: webhooks, executions, pipeline configs, health.

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Client;
use crate::error::Error;
use crate::model::decode;
use crate::model::execution::{Execution, ExecutionStatus};
use crate::model::pipeline::PipelineConfig;
use crate::model::webhook::WebhookResponse;

impl Client {
    async fn get_json<T: DeserializeOwned>(
        &self,
        what: &str,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, Error> {
        let body = self
            .send::<()>(Method::GET, self.url(segments, query), None)
            .await?;
        decode(what, &body)
    }

    /// `GET /health`: Gate's health document (`{"status":"UP",...}`).
    pub async fn health(&self) -> Result<Value, Error> {
        self.get_json("health", &["health"], &[]).await
    }

    /// `GET /applications/{app}`: the application, or `None` when Gate does not know it.
    pub async fn application(&self, application: &str) -> Result<Option<Value>, Error> {
        match self
            .get_json("application", &["applications", application], &[])
            .await
        {
            Err(e) if e.status() == Some(404) => Ok(None),
            other => other.map(Some),
        }
    }

    /// `POST /webhooks/webhook/{source}`; returns Echo's event id.
    ///
    /// This only means Echo accepted the event: matching it to pipelines happens later and
    /// may match nothing. Use [`Client::find_executions_by_event`] to see what it started.
    pub async fn post_webhook<P: Serialize + ?Sized>(
        &self,
        source: &str,
        payload: &P,
    ) -> Result<String, Error> {
        let url = self.url(&["webhooks", "webhook", source], &[]);
        let body = self.send(Method::POST, url, Some(payload)).await?;
        let resp: WebhookResponse = decode("webhook response", &body)?;
        match resp.event_id {
            Some(id) if resp.event_processed => Ok(id),
            _ => Err(Error::WebhookNotProcessed {
                source_name: source.to_owned(),
            }),
        }
    }

    /// `GET /applications/{app}/executions/search?triggerTypes=webhook&eventId=...`.
    ///
    /// Empty until Echo's pipeline cache matched the event; poll with a deadline
    /// ([`Client::wait_for_event_executions`]). Results are unexpanded (Gate's default): stage
    /// statuses and ids are there, stage contexts are empty; use [`Client::execution`] for those.
    pub async fn find_executions_by_event(
        &self,
        application: &str,
        event_id: &str,
    ) -> Result<Vec<Execution>, Error> {
        self.get_json(
            "executions search",
            &["applications", application, "executions", "search"],
            &[("triggerTypes", "webhook"), ("eventId", event_id)],
        )
        .await
    }

    /// `GET /pipelines/{id}`: one execution.
    pub async fn execution(&self, execution_id: &str) -> Result<Execution, Error> {
        self.get_json("execution", &["pipelines", execution_id], &[])
            .await
    }

    /// Like [`Client::execution`], with 404 as `None`.
    pub async fn execution_opt(&self, execution_id: &str) -> Result<Option<Execution>, Error> {
        match self.execution(execution_id).await {
            Err(e) if e.status() == Some(404) => Ok(None),
            other => other.map(Some),
        }
    }

    /// `GET /applications/{app}/pipelines?limit=&statuses=`: recent executions, newest first;
    /// `limit` counts per pipeline config (Orca's default is 5).
    pub async fn executions(
        &self,
        application: &str,
        limit: Option<u32>,
        statuses: &[ExecutionStatus],
    ) -> Result<Vec<Execution>, Error> {
        let limit = limit.map(|l| l.to_string());
        let statuses = statuses
            .iter()
            .map(ExecutionStatus::as_str)
            .collect::<Vec<_>>()
            .join(",");
        let mut query = Vec::new();
        if let Some(limit) = &limit {
            query.push(("limit", limit.as_str()));
        }
        if !statuses.is_empty() {
            query.push(("statuses", statuses.as_str()));
        }
        self.get_json(
            "executions",
            &["applications", application, "pipelines"],
            &query,
        )
        .await
    }

    /// `GET /executions?executionIds=a,b`: several executions by id.
    pub async fn executions_by_id(&self, ids: &[&str]) -> Result<Vec<Execution>, Error> {
        let ids = ids.join(",");
        self.get_json("executions", &["executions"], &[("executionIds", &ids)])
            .await
    }

    /// `POST /pipelines/{app}/{name}` with `trigger` as body; returns the execution id from
    /// Gate's `202 {"ref":"/pipelines/<id>"}`.
    pub async fn start_pipeline<T: Serialize + ?Sized>(
        &self,
        application: &str,
        name: &str,
        trigger: &T,
    ) -> Result<String, Error> {
        let url = self.url(&["pipelines", application, name], &[]);
        let body = self.send(Method::POST, url, Some(trigger)).await?;
        let value: Value = decode("pipeline start response", &body)?;
        value
            .get("ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("/pipelines/"))
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Error::NoExecutionRef {
                name: name.to_owned(),
                body: String::from_utf8_lossy(&body).chars().take(300).collect(),
            })
    }

    /// `GET /applications/{app}/pipelineConfigs`.
    pub async fn pipeline_configs(&self, application: &str) -> Result<Vec<PipelineConfig>, Error> {
        self.get_json(
            "pipeline configs",
            &["applications", application, "pipelineConfigs"],
            &[],
        )
        .await
    }

    /// `POST /pipelines`: saves (creates or replaces) a pipeline config; Gate answers 200
    /// with an empty body.
    pub async fn save_pipeline(&self, config: &PipelineConfig) -> Result<(), Error> {
        let url = self.url(&["pipelines"], &[]);
        self.send(Method::POST, url, Some(config)).await.map(drop)
    }

    /// `PUT /pipelines/{id}/cancel[?reason=]`.
    pub async fn cancel_execution(
        &self,
        execution_id: &str,
        reason: Option<&str>,
    ) -> Result<(), Error> {
        let query: Vec<(&str, &str)> = reason.map(|r| ("reason", r)).into_iter().collect();
        let url = self.url(&["pipelines", execution_id, "cancel"], &query);
        self.send::<()>(Method::PUT, url, None).await.map(drop)
    }
}
