//! `baton explain`'s trigger lines against the shared case table in testkit
//! (`cases/echo_orca.json`), the same table the Spinnaker stand-in and spinnaker-client are
//! tested against: every case's verdict must read as the table says.

use baton_daemon::explain::triggers::why_not;
use serde_json::Value;
use testkit::spinnaker::cases;

#[test]
fn explain_reads_every_case_of_the_table_as_the_table_says() {
    for case in &cases::for_clients() {
        let lines = why_not(
            &[case.pipeline()],
            case.source(),
            &Value::Object(case.body()),
        );
        let at = format!("case {:?} ({}): {lines:#?}", case.name, case.cite);
        let count = |part: &str| lines.iter().filter(|l| l.contains(part)).count();
        let started_fine = count("matches; Echo should have started it");
        let failed = count("Orca fails it on startup");
        let dropped = count("drops");
        assert_eq!(dropped > 0, case.expect.dropped, "{at}");
        assert_eq!(
            (started_fine + failed, failed),
            (case.expect.starts, case.expect.failed),
            "{at}"
        );
        if let Some(part) = &case.expect.failure_contains {
            assert!(lines.iter().any(|l| l.contains(part.as_str())), "{at}");
        }
        assert_eq!(count("cannot tell"), 0, "{at}");
    }
}

/// A constraint with a Java construct baton cannot evaluate is neither "matches" nor a dead
/// trigger: explain says it cannot tell (issue 18, difference 3).
#[test]
fn explain_cannot_tell_for_a_java_construct_it_cannot_evaluate() {
    let case = cases::for_clients()
        .into_iter()
        .find(|c| c.name == "constraint is the exact string")
        .expect("the table has its plain constraint case");
    let mut pipeline = case.pipeline();
    let trigger = &mut pipeline.triggers.as_mut().unwrap()[0];
    let constraints = trigger.payload_constraints.as_mut().unwrap();
    let key = constraints.keys().next().unwrap().clone();
    constraints.insert(key, r"\p{javaLowerCase}".into());
    let lines = why_not(&[pipeline], case.source(), &Value::Object(case.body()));
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        lines[0].contains("cannot evaluate this Java construct")
            && lines[0].contains("baton cannot tell whether Echo matches it"),
        "{lines:#?}"
    );
}
