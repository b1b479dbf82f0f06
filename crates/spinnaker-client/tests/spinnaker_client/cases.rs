//! spinnaker-client's model of Echo and Orca (what `baton pipelines lint` and `baton explain`
//! rest on) against the shared case table in testkit (`cases/echo_orca.json`), the same table
//! the Spinnaker stand-in is tested against with rules of its own.

use spinnaker_client::lint::{SampleEvent, lint};
use spinnaker_client::model::outcome::{EchoOutcome, predict};
use testkit::spinnaker::cases;

#[test]
fn the_model_agrees_with_every_case_of_the_table() {
    for case in &cases::for_clients() {
        let pipelines = [case.pipeline()];
        let outcome = predict(&pipelines, case.source(), &case.body());
        let at = format!("case {:?} ({})", case.name, case.cite);
        match outcome {
            EchoOutcome::Dropped(why) => {
                assert!(
                    case.expect.dropped,
                    "{at}: predicted a dropped event: {why}"
                );
            }
            EchoOutcome::Starts(starts) => {
                assert!(!case.expect.dropped, "{at}: predicted starts {starts:?}");
                let failures: Vec<&String> = starts
                    .iter()
                    .filter_map(|s| s.startup.as_ref().err())
                    .collect();
                assert_eq!(
                    (starts.len(), failures.len()),
                    (case.expect.starts, case.expect.failed),
                    "{at}: {starts:?}"
                );
                if let Some(part) = &case.expect.failure_contains {
                    assert!(
                        failures.iter().any(|f| f.contains(part.as_str())),
                        "{at}: {failures:?}"
                    );
                }
            }
            other => panic!("{at}: the model could not evaluate the case: {other:?}"),
        }
    }
}

#[test]
fn lint_reports_the_startup_failures_of_the_table() {
    for case in cases::for_clients() {
        let Ok(event) = SampleEvent::from_payload(case.source(), case.body()) else {
            assert!(
                case.expect.dropped,
                "case {:?}: lint could not read the event",
                case.name
            );
            continue;
        };
        let findings = lint(&[case.pipeline()], &[event]);
        let on_startup = findings
            .iter()
            .filter(|f| f.message.contains("Orca fails"))
            .count();
        assert_eq!(
            on_startup > 0,
            case.expect.failed > 0,
            "case {:?} ({}): {findings:?}",
            case.name,
            case.cite
        );
    }
}
