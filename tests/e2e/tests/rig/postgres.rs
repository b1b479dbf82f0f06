//! PostgreSQL: fresh databases take queries.

use testkit::rig::Rig;

#[tokio::test]
async fn postgres_accepts_a_query_in_a_fresh_database() {
    let Some(rig) = Rig::for_test() else { return };
    let url = rig.new_database("selftest").await.unwrap();
    let db = url.rsplit('/').next().unwrap().to_string();
    assert!(db.starts_with("selftest_"), "{url}");
    rig.psql(
        &db,
        "CREATE TABLE t (n int); INSERT INTO t VALUES (40), (2)",
    )
    .await
    .unwrap();
    assert_eq!(rig.psql(&db, "SELECT sum(n) FROM t").await.unwrap(), "42");
    let other = rig.new_database("selftest").await.unwrap();
    assert_ne!(url, other);
    let err = rig.new_database("bad-name").await.unwrap_err();
    assert!(err.to_string().contains("bad-name"), "{err}");
}
