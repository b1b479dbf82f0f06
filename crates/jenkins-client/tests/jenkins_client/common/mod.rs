//! Shared setup: a Jenkins stand-in on 127.0.0.1:0 and clients for it.

use std::time::Duration;

use jenkins_client::{JenkinsClient, JobPath, ParamsIn, Triggered};
use secrecy::SecretString;
use testkit::jenkins::{
    BuildScript, FakeJenkins, FakeJenkinsBuilder, JobSpec, ParamSpec, UserSpec,
};

pub const TOKEN: &str = "baton-test-token-1234";
pub const PETSTORE: &str = "micro-gw/petstore-image";

/// Users and jobs most tests use.
pub fn standard() -> FakeJenkinsBuilder {
    FakeJenkins::builder()
        .user(UserSpec::new("baton", TOKEN))
        .user(UserSpec::new("viewer", "viewer-token").read_only())
        .user(UserSpec::new("human", "human-token").with_password("human-password"))
        .job(
            JobSpec::new(PETSTORE)
                .param(ParamSpec::string("BASE_DIGEST", ""))
                .param(ParamSpec::choice(
                    "CAUSE",
                    &["manual", "base-image", "artifact-source"],
                ))
                .quiet_period(Duration::from_secs(5))
                .script(
                    BuildScript::new(Duration::from_secs(60), "SUCCESS").console(&[
                        "Pulling base",
                        "Building",
                        "Pushing",
                    ]),
                ),
        )
        .job(JobSpec::new("plain").script(BuildScript::new(Duration::from_secs(10), "FAILURE")))
        .job(
            JobSpec::new("old")
                .param(ParamSpec::string("X", ""))
                .disabled(),
        )
        .job(JobSpec::new("images/base image (rebuild)").param(ParamSpec::string("BASE_IMAGE", "")))
}

pub async fn start(b: FakeJenkinsBuilder) -> FakeJenkins {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    b.start(listener).await.unwrap()
}

pub fn client_as(j: &FakeJenkins, user: &str, secret: &str) -> JenkinsClient {
    JenkinsClient::builder(j.url())
        .credentials(user, SecretString::from(secret.to_owned()))
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub fn client(j: &FakeJenkins) -> JenkinsClient {
    client_as(j, "baton", TOKEN)
}

pub fn job(p: &str) -> JobPath {
    JobPath::parse(p).unwrap()
}

/// Triggers [`PETSTORE`] with `params` sent as a form; panics when Jenkins refuses.
pub async fn trigger(c: &JenkinsClient, params: &[(String, String)]) -> Triggered {
    c.build_with_parameters(&job(PETSTORE), params, ParamsIn::Form)
        .await
        .unwrap()
}

pub fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
