//! Decodes every fixture in `tests/fixtures/` (see SOURCES.md) into the models.

use jenkins_client::model::{
    ApiTokenResponse, Build, BuildResult, Computer, Crumb, GwtJobResult, GwtResponse, JobInfo,
    QueueItem, QueueList, QueueState, RootInfo, StageStatus, User, WhoAmI, WorkflowRun, decode,
};
use secrecy::ExposeSecret;

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

#[test]
fn pipeline_stage_view_decodes_status_and_stages() {
    let run: WorkflowRun = load("cdancy-jenkins-rest/workflow.json");
    assert_eq!(run.name.as_deref(), Some("#16"));
    assert_eq!(run.status, StageStatus::PausedPendingInput);
    assert!(run.is_waiting_for_input() && run.status.is_running());
    assert_eq!(
        (
            run.start_time_millis,
            run.end_time_millis,
            run.duration_millis
        ),
        (1413461275770, 1413461285999, 10229)
    );
    let stages: Vec<_> = run
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.status.as_str(), s.duration_millis))
        .collect();
    assert_eq!(
        stages,
        [
            ("Build", "SUCCESS", 5228),
            ("Test", "SUCCESS", 4994),
            ("Deploy", "PAUSED_PENDING_INPUT", 7)
        ]
    );
    assert_eq!(
        run.stage("Test").map(|s| s.start_time_millis),
        Some(1413461280998)
    );
    let links = run.links.as_ref().unwrap();
    assert_eq!(
        links
            .pending_input_actions
            .as_ref()
            .map(|l| l.href.as_str()),
        Some("/jenkins/job/Test%20Workflow/16/wfapi/pendingInputActions")
    );

    let failed: WorkflowRun = decode(
        br#"{"status":"FAILED","stages":[{"name":"Push","status":"FAILED",
            "error":{"message":"script returned exit code 1","type":"hudson.AbortException"}},
            {"name":"Later","status":"NOT_EXECUTED"},{"name":"X","status":"SOMETHING_NEW"}]}"#,
    )
    .unwrap();
    assert_eq!(failed.status, StageStatus::Failed);
    let err = failed.stages[0].error.as_ref().unwrap();
    assert_eq!(err.message.as_deref(), Some("script returned exit code 1"));
    assert_eq!(failed.stages[1].status, StageStatus::NotExecuted);
    assert_eq!(
        failed.stages[2].status,
        StageStatus::Other("SOMETHING_NEW".into())
    );

    let err = decode::<WorkflowRun>(br#"{"status":"SUCCESS","stages":[{"status":"SUCCESS"}]}"#)
        .unwrap_err();
    assert_eq!(err.path().to_string(), "stages[0]");
}

#[test]
fn generated_api_token_decodes_and_debug_hides_the_value() {
    let rsp: ApiTokenResponse = load("cdancy-jenkins-rest/api-token.json");
    assert_eq!(rsp.status, "ok");
    let token = rsp.data.unwrap();
    assert_eq!(token.token_name, "kb-token");
    assert_eq!(token.token_uuid, "8c42630b-4be5-4f51-b4e9-f17a8ac07521");
    assert_eq!(
        token.token_value.expose_secret(),
        "112fe6e9b1b94eb1ee58f0ea4f5a1ac7bf"
    );
    let debug = format!("{token:?}");
    assert!(!debug.contains("112fe6e9"), "{debug}");
    assert!(debug.contains("kb-token"), "{debug}");

    let err =
        decode::<ApiTokenResponse>(br#"{"status":"ok","data":{"tokenName":"x"}}"#).unwrap_err();
    assert_eq!(err.path().to_string(), "data");
}

#[test]
fn node_info_decodes_executors() {
    let node: Computer = load("python-jenkins/node-info.json");
    assert_eq!(node.executors.len(), 2);
    assert!(node.executors[0].idle);
    assert_eq!(node.executors[0].current_executable, None);
    assert_eq!(node.executors[0].progress, -1);
    let busy: Vec<_> = node.busy_executors().collect();
    assert_eq!(busy.len(), 1);
    // python-jenkins writes `{}` for the running build (Jenkins at depth 0 sends the class).
    let running = busy[0].current_executable.as_ref().unwrap();
    assert_eq!((running.number, running.url.as_deref()), (None, None));
}

#[test]
fn generic_webhook_trigger_answer_decodes_queue_ids_and_variables() {
    let rsp: GwtResponse = load("written-from-source/gwt-invoke-response-200.json");
    assert_eq!(rsp.message.as_deref(), Some("Triggered jobs."));
    assert_eq!(rsp.triggered_jobs(), ["images/base-image-rebuild"]);
    let jobs = rsp.jobs.as_ref().unwrap();
    let GwtJobResult::Result(r) = &jobs["images/base-image-rebuild"] else {
        panic!("{jobs:?}");
    };
    assert_eq!((r.id, r.url.as_deref()), (42, Some("queue/item/42/")));
    assert_eq!(r.resolved_variables["BASE_IMAGE"], "debian:trixie");
    assert_eq!(r.regexp_filter_expression.as_deref(), Some(""));

    // 500 with an exception text for one job and a filtered-out job; 404 with only a message.
    let mixed: GwtResponse = decode(
        br#"{"message":"There were errors when triggering jobs.","jobs":{
            "a":"Exception occurred (class java.lang.NullPointerException: x)",
            "b":{"triggered":false,"id":0,"url":null,"resolvedVariables":{},
                 "regexpFilterText":"refs/heads/dev","regexpFilterExpression":"refs/heads/main"}}}"#,
    )
    .unwrap();
    assert!(mixed.triggered_jobs().is_empty());
    let jobs = mixed.jobs.unwrap();
    assert!(matches!(&jobs["a"], GwtJobResult::Error(m) if m.contains("NullPointerException")));
    assert!(matches!(&jobs["b"], GwtJobResult::Result(r) if !r.triggered && r.url.is_none()));
    let none: GwtResponse =
        decode(br#"{"message":"Did not find any jobs with GenericTrigger configured!"}"#).unwrap();
    assert_eq!(none.jobs, None);
}

/// Every fixture decoded above; a new file must be added here (and decoded) or the test fails.
const DECODED: [&str; 26] = [
    "cdancy-jenkins-rest/api-token.json",
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
    "cdancy-jenkins-rest/workflow.json",
    "python-jenkins/node-info.json",
    "python-jenkins/queue-info.json",
    "python-jenkins/queue-item.json",
    "python-jenkins/whoami-user.json",
    "written-from-source/crumbIssuer-api-json.json",
    "written-from-source/gwt-invoke-response-200.json",
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
