//! Wire-level behaviour of the Jenkins stand-in that `jenkins-client` does not exercise,
//! checked with a plain HTTP client against what jenkinsci/jenkins does (see JENKINS.md).

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use testkit::jenkins::{FakeJenkins, FakeJenkinsBuilder, JobSpec, ParamSpec, UserSpec};

fn builder() -> FakeJenkinsBuilder {
    FakeJenkins::builder()
        .user(UserSpec::new("baton", "tok"))
        .user(UserSpec::new("human", "human-tok").with_password("pw"))
        .job(
            JobSpec::new("f/sub/job one")
                .param(ParamSpec::string("A", "x"))
                .quiet_period(Duration::from_secs(5)),
        )
        .job(JobSpec::new("f/plain"))
}

async fn start(b: FakeJenkinsBuilder) -> (FakeJenkins, Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (b.start(listener).await.unwrap(), http)
}

async fn call(
    http: &Client,
    j: &FakeJenkins,
    m: Method,
    rel: &str,
    auth: Option<(&str, &str)>,
) -> reqwest::Response {
    let mut req = http.request(m, format!("{}{rel}", j.url()));
    if let Some((u, p)) = auth {
        req = req.basic_auth(u, Some(p));
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn anonymous_and_unknown_users_get_jenkins_answers() {
    let (j, http) = start(builder()).await;
    let rsp = call(&http, &j, Method::GET, "api/json", None).await;
    assert_eq!(rsp.status(), StatusCode::FORBIDDEN);
    assert_eq!(rsp.headers()["x-you-are-authenticated-as"], "anonymous");
    assert_eq!(
        rsp.headers()["x-required-permission"],
        "hudson.model.Hudson.Read"
    );
    let rsp = call(&http, &j, Method::GET, "api/json", Some(("ghost", "x"))).await;
    assert_eq!(rsp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(rsp.headers()["www-authenticate"], "Basic realm=\"Jenkins\"");

    let (j, http) = start(builder().anonymous_read(true)).await;
    assert_eq!(
        call(&http, &j, Method::GET, "api/json", None)
            .await
            .status(),
        200
    );
    let who: Value = call(&http, &j, Method::GET, "whoAmI/api/json", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(who["anonymous"], true);
}

#[tokio::test]
async fn crumbs_are_tied_to_the_session_and_accepted_as_form_fields() {
    let (j, http) = start(builder()).await;
    let rsp = call(
        &http,
        &j,
        Method::GET,
        "crumbIssuer/api/json",
        Some(("human", "pw")),
    )
    .await;
    let cookie = rsp.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("JSESSIONID."), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let crumb: Value = rsp.json().await.unwrap();
    assert_eq!(crumb["crumbRequestField"], "Jenkins-Crumb");
    let value = crumb["crumb"].as_str().unwrap();

    let post = |cookie: String| {
        http.post(format!("{}job/f/job/plain/build", j.url()))
            .basic_auth("human", Some("pw"))
            .header("Cookie", cookie)
            .form(&[("Jenkins-Crumb", value)])
    };
    assert_eq!(post(session).send().await.unwrap().status(), 201);
    let other = post("JSESSIONID.abcdef01=another-session".into())
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 403);
    assert!(
        other
            .text()
            .await
            .unwrap()
            .contains("No valid crumb was included in the request")
    );
}

#[tokio::test]
async fn root_page_folders_and_unmodelled_paths() {
    let (j, http) = start(builder()).await;
    let auth = Some(("baton", "tok"));
    let root = call(&http, &j, Method::GET, "", auth).await;
    assert_eq!(root.status(), 200);
    assert!(root.headers().contains_key("x-jenkins"));
    let folder: Value = call(&http, &j, Method::GET, "job/f/api/json", auth)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        folder["_class"],
        "com.cloudbees.hudson.plugins.folder.Folder"
    );
    let names: Vec<&str> = folder["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["sub", "plain"]);
    let sub: Value = call(&http, &j, Method::GET, "job/f/job/sub/api/json", auth)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        sub["jobs"][0]["url"],
        format!("{}job/f/job/sub/job/job%20one/", j.url())
    );
    assert_eq!(
        call(&http, &j, Method::GET, "pluginManager/api/json", auth)
            .await
            .status(),
        404
    );
    let unmodelled = j.unmodelled_requests();
    assert_eq!(unmodelled.len(), 1);
    assert_eq!(unmodelled[0].path, "/pluginManager/api/json");
}

/// Folder contents in the root's `/api/json` as Jenkins shows them (issue 18, difference 5):
/// `depth=N` (default 0) cuts item lists below level N, a nested `tree=` reaches as deep as it
/// names, and with a `tree=` the `depth=` does not apply.
#[tokio::test]
async fn root_json_shows_folder_contents_by_depth_and_by_nested_tree() {
    let (j, http) = start(builder()).await;
    let auth = Some(("baton", "tok"));
    let get = async |rel: &str| -> Value {
        let rsp = call(&http, &j, Method::GET, rel, auth).await;
        assert_eq!(rsp.status(), 200, "{rel}");
        rsp.json().await.unwrap()
    };
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|c| c["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let flat = get("api/json").await;
    assert_eq!(names(&flat["jobs"]), ["f"]);
    assert_eq!(flat["jobs"][0]["url"], format!("{}job/f/", j.url()));
    assert!(
        flat["jobs"][0].get("jobs").is_none(),
        "depth 0 shows no folder contents: {flat}"
    );
    let one = get("api/json?depth=1").await;
    assert_eq!(names(&one["jobs"][0]["jobs"]), ["sub", "plain"]);
    assert!(
        one["jobs"][0]["jobs"][0].get("jobs").is_none(),
        "depth 1 stops at the folder's children: {one}"
    );
    let two = get("api/json?depth=2").await;
    assert_eq!(names(&two["jobs"][0]["jobs"][0]["jobs"]), ["job one"]);
    let tree =
        get("api/json?tree=jobs%5Bname,url,jobs%5Bname,url,jobs%5Bname%5D%5D%5D&depth=0").await;
    assert_eq!(names(&tree["jobs"][0]["jobs"]), ["sub", "plain"]);
    assert_eq!(names(&tree["jobs"][0]["jobs"][0]["jobs"]), ["job one"]);
    assert_eq!(
        tree["jobs"][0]["jobs"][0]["url"],
        format!("{}job/f/job/sub/", j.url()),
        "depth=0 does not cut a tree"
    );
    let cut = get("api/json?tree=jobs%5Bname,jobs%5D").await;
    assert_eq!(
        cut["jobs"][0]["jobs"][0],
        serde_json::json!({"_class": "com.cloudbees.hudson.plugins.folder.Folder"}),
        "a leaf naming the list keeps only each child's _class: {cut}"
    );
}

#[tokio::test]
async fn build_on_a_parameterized_job_and_delays() {
    let (j, http) = start(builder()).await;
    let auth = Some(("baton", "tok"));
    // `job one` in folder `f/sub`, called as `m`.
    let one = async |m: Method, rel: &str| {
        call(
            &http,
            &j,
            m,
            &format!("job/f/job/sub/job/job%20one/{rel}"),
            auth,
        )
        .await
    };
    assert_eq!(
        one(Method::GET, "build").await.status(),
        200,
        "GET build on a parameterized job shows the parameter form"
    );
    assert_eq!(one(Method::POST, "build").await.status(), 400);
    let bad = one(Method::POST, "buildWithParameters?delay=soon").await;
    assert_eq!(bad.status(), 400);

    let first = one(Method::POST, "buildWithParameters?A=1").await;
    assert_eq!(first.status(), 201);
    let again = one(Method::POST, "buildWithParameters?A=1&delay=0sec").await;
    assert_eq!(again.status(), 303);
    assert_eq!(first.headers()["location"], again.headers()["location"]);
    j.advance(Duration::from_millis(1));
    assert_eq!(
        j.builds_of("f/sub/job one").len(),
        1,
        "the shorter due time wins"
    );
}

#[tokio::test]
async fn progressive_text_rolls_over_and_tree_filters_queue_items() {
    let (j, http) = start(builder()).await;
    let auth = Some(("baton", "tok"));
    call(&http, &j, Method::POST, "job/f/job/plain/build", auth).await;
    j.advance(Duration::from_secs(1));
    let rsp = call(
        &http,
        &j,
        Method::GET,
        "job/f/job/plain/1/logText/progressiveText?start=99999",
        auth,
    )
    .await;
    assert_eq!(rsp.headers()["x-more-data"], "true");
    let size: usize = rsp.headers()["x-text-size"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        rsp.text().await.unwrap().len(),
        size,
        "start past the end restarts at 0"
    );
    let item: Value = call(
        &http,
        &j,
        Method::GET,
        "queue/item/1/api/json?tree=executable%5Bnumber%5D,why",
        auth,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        item,
        serde_json::json!({"_class": "hudson.model.Queue$LeftItem", "executable": {"_class": "hudson.model.FreeStyleBuild", "number": 1}, "why": null})
    );
}

#[tokio::test(start_paused = true)]
async fn subscribers_hear_builds_start_and_finish_without_polling() {
    let (j, http) = start(builder()).await;
    let mut events = j.subscribe();
    let rsp = call(
        &http,
        &j,
        Method::POST,
        "job/f/job/plain/build",
        Some(("baton", "tok")),
    )
    .await;
    assert_eq!(rsp.status(), 201);
    let started = tokio::time::timeout(Duration::from_secs(1), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            started.job.as_str(),
            started.finished,
            started.build.building
        ),
        ("f/plain", false, true)
    );
    let finished = tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(finished.finished);
    assert_eq!(finished.build.number, 1);
    assert_eq!(finished.build.result.as_deref(), Some("SUCCESS"));
}

#[test]
fn segments_are_encoded_as_jenkins_raw_encode_does() {
    // hudson.Util.rawEncode keeps A-Za-z0-9 and !$&'()*+,-.=@_, encodes UTF-8 bytes in upper case.
    let raw = testkit::jenkins::raw_encode;
    assert_eq!(raw("!$&'()*+,-.=@_AZaz09"), "!$&'()*+,-.=@_AZaz09");
    assert_eq!(raw("base image (rebuild)"), "base%20image%20(rebuild)");
    assert_eq!(raw("a:b;c~d/ü#?%"), "a%3Ab%3Bc%7Ed%2F%C3%BC%23%3F%25");
}
