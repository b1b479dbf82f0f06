//! Decodes every fixture in `tests/fixtures/` (see SOURCES.md) into the models.

use jenkins_client::model::{
    Build, BuildResult, Crumb, JobInfo, QueueItem, QueueList, QueueState, RootInfo, User, WhoAmI,
    decode,
};

fn load<T: serde::de::DeserializeOwned>(rel: &str) -> T {
    let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    decode(&bytes).unwrap_or_else(|e| panic!("{rel}: at {}: {}", e.path(), e.inner()))
}

#[test]
fn queue_items_decode_with_their_state() {
    let left: QueueItem = load("cdancy-jenkins-rest/queueItemRunning.json");
    assert_eq!(left.state(), QueueState::Left);
    assert_eq!(left.executable.as_ref().map(|e| e.number), Some(14));
    assert_eq!(left.cancelled, Some(false));
    assert_eq!(left.parameters()[0].as_text().as_deref(), Some("4"));

    let cancelled: QueueItem = load("cdancy-jenkins-rest/queueItemCancelled.json");
    assert_eq!(cancelled.state(), QueueState::Left);
    assert_eq!(
        (cancelled.cancelled, cancelled.executable),
        (Some(true), None)
    );

    let blocked: QueueItem = load("cdancy-jenkins-rest/queueItemPending.json");
    assert_eq!(blocked.state(), QueueState::Blocked);
    assert_eq!(
        blocked.why.as_deref(),
        Some("Build #9 is already in progress (ETA:15 sec)")
    );

    let null_name: QueueItem = load("cdancy-jenkins-rest/queueItemNullTaskName.json");
    assert_eq!(null_name.task.as_ref().and_then(|t| t.name.clone()), None);

    let placeholder: QueueItem = load("cdancy-jenkins-rest/queueItemMissingTaskUrl.json");
    assert_eq!(placeholder.state(), QueueState::Buildable);
    assert!(placeholder.stuck);
    assert_eq!(placeholder.task.and_then(|t| t.url), None);

    let multi: QueueItem = load("cdancy-jenkins-rest/queueItemMultipleParameters.json");
    let names: Vec<_> = multi.parameters().iter().map(|p| p.name.clone()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let empty: QueueItem = load("cdancy-jenkins-rest/queueItemEmptyParameterValue.json");
    assert_eq!(empty.id, Some(143));

    let py: QueueItem = load("python-jenkins/queue-item.json");
    assert_eq!(py.state(), QueueState::Left);
    assert_eq!(py.executable.as_ref().map(|e| e.number), Some(198));
    assert_eq!(py.causes()[0].user_id.as_deref(), Some("bsmith"));
}

#[test]
fn queue_list_decodes_and_a_malformed_one_names_the_path() {
    let q: QueueList = load("cdancy-jenkins-rest/queue.json");
    assert_eq!(q.items.len(), 2);
    assert_eq!(q.items[0].state(), QueueState::Buildable);
    assert_eq!(
        q.items[0].parameters()[0].as_text().as_deref(),
        Some("false")
    );

    let path = format!(
        "{}/tests/fixtures/python-jenkins/queue-info.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let err = decode::<QueueList>(&std::fs::read(path).unwrap()).unwrap_err();
    assert_eq!(err.path().to_string(), "items");
}

#[test]
fn builds_decode_results_parameters_and_causes() {
    let b: Build = load("cdancy-jenkins-rest/build-info.json");
    assert_eq!(
        (b.number, b.building, b.result.clone()),
        (10, false, Some(BuildResult::Success))
    );
    assert_eq!(b.parameter("bear").as_deref(), Some("true"));
    assert_eq!(b.parameter("fish").as_deref(), Some("salmon"));
    assert_eq!(b.duration, 60750);
    assert_eq!(b.queue_id, Some(73));
    assert_eq!(b.causes()[0].user_name.as_deref(), Some("anonymous"));

    let np: Build = load("cdancy-jenkins-rest/build-info-no-params.json");
    assert!(np.parameters().is_empty());
    assert_eq!(
        np.class.as_deref(),
        Some("org.jenkinsci.plugins.workflow.job.WorkflowRun")
    );

    let en: Build = load("cdancy-jenkins-rest/build-info-empty-and-null-params.json");
    assert_eq!(en.parameter("bear").as_deref(), Some("null"));
    assert_eq!(en.parameter("fish").as_deref(), Some(""));

    let git: Build = load("cdancy-jenkins-rest/build-info-git-commit.json");
    assert_eq!(git.number, 10);
}

#[test]
fn unknown_results_are_kept() {
    let b: Build =
        decode(br#"{"number":3,"building":false,"result":"CUSTOM_PLUGIN_STATE"}"#).unwrap();
    assert_eq!(
        b.result,
        Some(BuildResult::Other("CUSTOM_PLUGIN_STATE".into()))
    );
    let running: Build = decode(br#"{"number":4,"building":true,"result":null}"#).unwrap();
    assert_eq!(running.result, None);
}

#[test]
fn jobs_and_folders_decode() {
    let j: JobInfo = load("cdancy-jenkins-rest/job-info.json");
    assert!(j.buildable && j.in_queue);
    assert_eq!(j.last_build.as_ref().map(|b| b.number), Some(7));
    assert_eq!(j.next_build_number, Some(8));
    let defs = j.parameter_definitions();
    assert_eq!(defs.len(), 2);
    assert_eq!(defs[0].kind.as_deref(), Some("BooleanParameterDefinition"));
    assert_eq!(
        j.queue_item.as_ref().map(QueueItem::state),
        Some(QueueState::Blocked)
    );

    let folder: JobInfo = load("cdancy-jenkins-rest/jobsInJenkinsFolder.json");
    assert_eq!(folder.jobs[0].name, "Test Project");
    let root: RootInfo = load("cdancy-jenkins-rest/jobsInRootFolder.json");
    assert_eq!(root.jobs.len(), 6);
}

#[test]
fn root_whoami_user_and_crumb_decode() {
    let root: RootInfo = load("written-from-source/root-api-json.json");
    assert!(root.use_crumbs && root.use_security);
    assert_eq!(root.jobs[1].name, "base image (rebuild)");

    let who: WhoAmI = load("written-from-source/whoAmI-api-json.json");
    assert_eq!((who.name.as_str(), who.anonymous), ("ci-bot", false));

    let crumb: Crumb = load("written-from-source/crumbIssuer-api-json.json");
    assert_eq!(crumb.crumb_request_field, "Jenkins-Crumb");

    let user: User = load("cdancy-jenkins-rest/user.json");
    assert_eq!(user.id, "admin");
    let py: User = load("python-jenkins/whoami-user.json");
    assert_eq!(py.full_name.as_deref(), Some("John Smith"));
}

#[test]
fn decode_errors_name_the_json_path() {
    let err = decode::<Build>(br#"{"number":"seven"}"#).unwrap_err();
    assert_eq!(err.path().to_string(), "number");
    let err = decode::<QueueItem>(br#"{"executable":{"number":-1}}"#).unwrap_err();
    assert_eq!(err.path().to_string(), "executable.number");
}

/// Every fixture decoded above; a new file must be added here (and decoded) or the test fails.
const DECODED: [&str; 22] = [
    "cdancy-jenkins-rest/build-info-empty-and-null-params.json",
    "cdancy-jenkins-rest/build-info-git-commit.json",
    "cdancy-jenkins-rest/build-info-no-params.json",
    "cdancy-jenkins-rest/build-info.json",
    "cdancy-jenkins-rest/job-info.json",
    "cdancy-jenkins-rest/jobsInJenkinsFolder.json",
    "cdancy-jenkins-rest/jobsInRootFolder.json",
    "cdancy-jenkins-rest/queue.json",
    "cdancy-jenkins-rest/queueItemCancelled.json",
    "cdancy-jenkins-rest/queueItemEmptyParameterValue.json",
    "cdancy-jenkins-rest/queueItemMissingTaskUrl.json",
    "cdancy-jenkins-rest/queueItemMultipleParameters.json",
    "cdancy-jenkins-rest/queueItemNullTaskName.json",
    "cdancy-jenkins-rest/queueItemPending.json",
    "cdancy-jenkins-rest/queueItemRunning.json",
    "cdancy-jenkins-rest/user.json",
    "python-jenkins/queue-info.json",
    "python-jenkins/queue-item.json",
    "python-jenkins/whoami-user.json",
    "written-from-source/crumbIssuer-api-json.json",
    "written-from-source/root-api-json.json",
    "written-from-source/whoAmI-api-json.json",
];

#[test]
fn every_fixture_is_decoded_by_a_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut found = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "json") {
                found.push(
                    f.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    found.sort();
    assert_eq!(found, DECODED);
}
