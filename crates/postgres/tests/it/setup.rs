//! Setup and teardown of publications, slots and origins; preflight diagnostics.

use supra_sync_core::{Side, TableName};
use supra_sync_postgres::names::ObjectNames;
use supra_sync_postgres::setup;
use supra_sync_testkit::legacy;

#[tokio::test]
async fn setup_is_idempotent_and_teardown_removes_everything() {
    let db = legacy().fresh_database("setup").await.unwrap();
    let c = db.connect().await.unwrap();
    c.batch_execute(
        "CREATE SCHEMA cf_quere_pro;
         CREATE TABLE cf_quere_pro.persona (prsid numeric(10,0) PRIMARY KEY, prsnif varchar(15));
         CREATE TABLE cf_quere_pro.unrelated (id int PRIMARY KEY);",
    )
    .await
    .unwrap();
    // Names unique to this database: slots are cluster-wide.
    let names = ObjectNames::with_prefix(&format!("t_{}", db.name));
    let tables = vec![TableName::new("cf_quere_pro", "persona")];
    let first = setup::setup_source(&c, Side::Legacy, &names, &tables)
        .await
        .unwrap();
    assert!(first.slot_created);
    let second = setup::setup_source(&c, Side::Legacy, &names, &tables)
        .await
        .unwrap();
    assert!(!second.slot_created, "second setup must reuse the slot");
    let published: Vec<String> = c
        .query(
            "SELECT tablename::text FROM pg_publication_tables WHERE pubname = $1",
            &[&first.publication],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        published,
        vec!["persona".to_string()],
        "only mapped tables are published"
    );

    setup::setup_target(&c, Side::Supra, &names).await.unwrap();
    setup::setup_target(&c, Side::Supra, &names).await.unwrap();
    let origins: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_replication_origin WHERE roname = $1",
            &[&names.origin(Side::Supra)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(origins, 1);

    setup::teardown_source(&c, Side::Legacy, &names)
        .await
        .unwrap();
    setup::teardown_target(&c, Side::Supra, &names)
        .await
        .unwrap();
    assert_eq!(
        setup::slot_position(&c, &first.slot).await.unwrap(),
        None,
        "slot left behind"
    );
    let pubs: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_publication WHERE pubname = $1",
            &[&first.publication],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(pubs, 0, "publication left behind");
    setup::teardown_source(&c, Side::Legacy, &names)
        .await
        .expect("teardown twice is harmless");
}

#[tokio::test]
async fn preflight_names_every_problem_with_its_fix() {
    let db = legacy().fresh_database("preflight").await.unwrap();
    let c = db.connect().await.unwrap();
    c.batch_execute(
        "CREATE SCHEMA cf_quere_pro;
         CREATE TABLE cf_quere_pro.sin_llave (x int);
         DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'preflight_nonrepl_test') THEN
             CREATE ROLE preflight_nonrepl_test LOGIN;
           END IF;
         END $$;",
    )
    .await
    .unwrap();
    c.batch_execute("SET ROLE preflight_nonrepl_test")
        .await
        .unwrap();
    let problems = setup::preflight(
        &c,
        "legacy",
        &[
            TableName::new("cf_quere_pro", "sin_llave"),
            TableName::new("cf_quere_pro", "no_existe"),
        ],
    )
    .await;
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 3, "{text:#?}");
    assert!(
        text[0].contains("no REPLICATION privilege") && text[0].contains("ALTER ROLE"),
        "{}",
        text[0]
    );
    assert!(
        text[1].contains("no primary key") && text[1].contains("REPLICA IDENTITY FULL"),
        "{}",
        text[1]
    );
    assert!(text[2].contains("does not exist"), "{}", text[2]);
}
