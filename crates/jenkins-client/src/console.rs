//! Progressive console: `logText/progressiveText?start=K`.
//!
//! Jenkins (stapler `LargeText.doProgressText`) answers the text from byte offset K, the new
//! offset in `X-Text-Size`, and `X-More-Data: true` while the build may still write; the header
//! is absent once the log is complete.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::{Method, StatusCode};
use tokio_util::sync::CancellationToken;

use crate::client::{Body, JenkinsClient};
use crate::{Error, JobPath};

/// One piece of console text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsoleChunk {
    /// Text from the requested offset (may be empty).
    pub text: String,
    /// Offset to ask for next (`X-Text-Size`).
    pub next_start: u64,
    /// Whether more text may come (`X-More-Data: true`).
    pub more: bool,
}

impl JenkinsClient {
    /// One `progressiveText` call from byte offset `start`.
    pub async fn console_chunk(
        &self,
        job: &JobPath,
        number: u32,
        start: u64,
    ) -> Result<ConsoleChunk, Error> {
        let url = self.url(&format!(
            "{}{number}/logText/progressiveText?start={start}",
            job.url_path()
        ))?;
        let reply = self.send(Method::GET, url, Body::None).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Err(Error::BuildNotFound {
                job: job.to_string(),
                number,
            });
        }
        let reply = self.check(Method::GET, reply)?;
        let size = reply
            .header("X-Text-Size")
            .ok_or_else(|| Error::MissingHeader {
                url: reply.url.clone(),
                header: "X-Text-Size",
            })?;
        let next_start = size.trim().parse().map_err(|_| Error::Api {
            method: "GET".to_owned(),
            url: reply.url.clone(),
            status: reply.status.as_u16(),
            body: format!("X-Text-Size {size:?} is not a number"),
            retry_after: None,
        })?;
        let more = reply
            .header("X-More-Data")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(ConsoleChunk {
            text: String::from_utf8_lossy(&reply.body).into_owned(),
            next_start,
            more,
        })
    }

    /// The console as a stream of non-empty chunks, polling every `interval` until Jenkins
    /// stops sending `X-More-Data` or `cancel` fires. Errors end the stream.
    pub fn console_stream(
        &self,
        job: JobPath,
        number: u32,
        start: u64,
        interval: Duration,
        cancel: CancellationToken,
    ) -> BoxStream<'static, Result<ConsoleChunk, Error>> {
        let client = self.clone();
        futures::stream::unfold(Some((start, false)), move |state| {
            let client = client.clone();
            let job = job.clone();
            let cancel = cancel.clone();
            async move {
                let (mut start, mut wait) = state?;
                loop {
                    if wait {
                        tokio::select! {
                            () = cancel.cancelled() => return None,
                            () = tokio::time::sleep(interval) => {}
                        }
                    }
                    wait = true;
                    let chunk = tokio::select! {
                        () = cancel.cancelled() => return None,
                        c = client.console_chunk(&job, number, start) => c,
                    };
                    let chunk = match chunk {
                        Ok(c) => c,
                        Err(e) => return Some((Err(e), None)),
                    };
                    start = chunk.next_start;
                    let next = chunk.more.then_some((start, true));
                    if !chunk.text.is_empty() || next.is_none() {
                        return Some((Ok(chunk), next));
                    }
                }
            }
        })
        .boxed()
    }
}
