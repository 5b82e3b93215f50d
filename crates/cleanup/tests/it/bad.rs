//! The bad situations of the issue: each gives a clear stop and loses nothing.

use std::time::Duration;

use supra_sync_cleanup::{Cleanup, CleanupError, LOCK_KEY, Phase};

use crate::fixture::{self, Shape, count, dump, quiet};

fn blocked_steps(e: &CleanupError) -> Vec<String> {
    match e {
        CleanupError::Incomplete { blocked, .. } => {
            blocked.iter().map(|b| b.step.clone()).collect()
        }
        other => panic!("expected Incomplete, got {other}"),
    }
}

#[tokio::test]
async fn spain_table_with_rows_aborts_only_that_step() {
    let db = fixture::database("bad_spain", Shape::small()).await;
    let client = db.connect().await.unwrap();
    client
        .batch_execute("INSERT INTO cf_quere_pro.liqcobcat VALUES (42)")
        .await
        .unwrap();
    let cleanup = Cleanup::connect(&db.connection_string, fixture::config("bad_spain"))
        .await
        .unwrap();
    let plan = cleanup.plan(Phase::One).await.unwrap();
    assert!(plan.to_string().contains("liqcobcat has 1 rows"), "{plan}");

    let err = cleanup.apply(Phase::One, &quiet).await.unwrap_err();
    assert_eq!(blocked_steps(&err), vec!["p1.spain"]);
    let text = err.to_string();
    assert!(
        text.contains("ABORTING")
            && text.contains("liqcobcat has 1 rows")
            && text.contains("HINT:"),
        "{text}"
    );
    // Nothing of the Spain list was dropped; everything else went on.
    assert_eq!(count(&client, "SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename IN ('liqanubaleares', 'liqcobcat', 'varbonifpvasco')").await, 3);
    assert_eq!(count(&client, r"SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename ~ '^tmp_deuda_\d+$'").await, 0);
    let checks = cleanup.verify(Phase::One).await.unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c.id == "p1.s3.spain_gone" && !c.passed)
    );

    // Once the row is gone, apply resumes and finishes.
    client
        .batch_execute("DELETE FROM cf_quere_pro.liqcobcat")
        .await
        .unwrap();
    cleanup.apply(Phase::One, &quiet).await.unwrap();
    assert_eq!(count(&client, "SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename IN ('liqanubaleares', 'liqcobcat', 'varbonifpvasco')").await, 0);
    assert_eq!(
        count(&client, "SELECT count(*) FROM cf_quere_pro.liqanual").await,
        2
    );
}

#[tokio::test]
async fn dependent_view_stops_the_family_before_any_drop() {
    let db = fixture::database("bad_view", Shape::small()).await;
    let client = db.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE VIEW cf_quere_pro.v_deuda AS SELECT * FROM cf_quere_pro.tmp_deuda_1779010",
        )
        .await
        .unwrap();
    let cleanup = Cleanup::connect(&db.connection_string, fixture::config("bad_view"))
        .await
        .unwrap();
    let err = cleanup.apply(Phase::One, &quiet).await.unwrap_err();
    assert_eq!(blocked_steps(&err), vec!["p1.tmp_deuda.check"]);
    assert!(
        err.to_string().contains("view cf_quere_pro.v_deuda"),
        "{err}"
    );
    // Not one tmp_deuda instance dropped, nothing migrated; the other families are done.
    assert_eq!(count(&client, r"SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename ~ '^tmp_deuda_\d+$'").await, 40);
    assert_eq!(
        count(&client, "SELECT count(*) FROM cf_quere_pro.tmp_deuda").await,
        0
    );
    assert_eq!(count(&client, r"SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename ~ '^aux_varscreditored_\d+$'").await, 0);
    assert_eq!(
        count(&client, "SELECT count(*) FROM cf_quere_pro.v_deuda").await,
        5
    );
}

#[tokio::test]
async fn a_lock_that_cannot_be_obtained_stops_cleanly_and_resumes() {
    let db = fixture::database("bad_lock", Shape::small()).await;
    let client = db.connect().await.unwrap();
    let before = dump(&client, "cf_quere_pro").await;
    // A billing process reading one instance: compatible with the inventory and the
    // migration, not with DROP.
    let holder = db.connect().await.unwrap();
    holder
        .batch_execute("BEGIN; SELECT * FROM cf_quere_pro.tmp_deuda_1779020")
        .await
        .unwrap();
    let cleanup = Cleanup::connect(&db.connection_string, fixture::config("bad_lock"))
        .await
        .unwrap();
    let err = cleanup.apply(Phase::One, &quiet).await.unwrap_err();
    assert!(matches!(err, CleanupError::Locked { .. }), "{err}");
    assert!(err.is_transient());
    let text = err.to_string();
    assert!(
        text.contains("drop cf_quere_pro.tmp_deuda_1779020")
            && text.contains("3 attempts")
            && text.contains("run apply again"),
        "{text}"
    );
    // Nothing lost: the locked table is intact, every other row is in tmp_deuda.
    let rows_before: i64 = before
        .iter()
        .filter(|(t, _)| t.starts_with("tmp_deuda_"))
        .map(|(_, r)| r.len() as i64)
        .sum();
    let locked_rows = before["tmp_deuda_1779020"].len() as i64;
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM cf_quere_pro.tmp_deuda_1779020"
        )
        .await,
        locked_rows
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM cf_quere_pro.tmp_deuda").await,
        rows_before
    );
    let status = cleanup.status().await.unwrap();
    assert!(
        status
            .steps
            .iter()
            .any(|s| s.step == "p1.tmp_deuda.drop" && s.status == "failed"),
        "{status}"
    );
    holder.batch_execute("ROLLBACK").await.unwrap();
    cleanup.apply(Phase::One, &quiet).await.unwrap();
    assert_eq!(
        count(&client, "SELECT count(*) FROM cf_quere_pro.tmp_deuda").await,
        rows_before
    );
    assert_eq!(count(&client, r"SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename ~ '^tmp_deuda_\d+$'").await, 0);
}

#[tokio::test]
async fn a_lock_released_during_backoff_is_retried() {
    let db = fixture::database("bad_lock2", Shape::small()).await;
    let holder = db.connect().await.unwrap();
    holder
        .batch_execute("BEGIN; SELECT * FROM cf_quere_pro.tmp_deuda_1779020")
        .await
        .unwrap();
    let mut config = fixture::config("bad_lock2");
    config.lock_attempts = 30;
    config.backoff_max_ms = 100;
    let cleanup = Cleanup::connect(&db.connection_string, config)
        .await
        .unwrap();
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        holder.batch_execute("ROLLBACK").await.unwrap();
        holder
    });
    cleanup.apply(Phase::One, &quiet).await.unwrap();
    release.await.unwrap();
    let client = db.connect().await.unwrap();
    assert_eq!(count(&client, r"SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename ~ '^tmp_deuda_\d+$'").await, 0);
}

#[tokio::test]
async fn a_second_concurrent_run_is_refused() {
    let db = fixture::database("bad_conc", Shape::small()).await;
    let other = db.connect().await.unwrap();
    other
        .query_one("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])
        .await
        .unwrap();
    let cleanup = Cleanup::connect(&db.connection_string, fixture::config("bad_conc"))
        .await
        .unwrap();
    let err = cleanup.apply(Phase::One, &quiet).await.unwrap_err();
    assert!(matches!(err, CleanupError::ConcurrentRun { .. }), "{err}");
    assert!(err.to_string().contains("pid"), "{err}");
    assert!(cleanup.status().await.unwrap().running.is_some());
    let err = cleanup.rollback(Phase::One, &quiet).await.unwrap_err();
    assert!(matches!(err, CleanupError::ConcurrentRun { .. }), "{err}");
    let client = db.connect().await.unwrap();
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'audit_inventory'"
        )
        .await,
        0
    );
    other
        .query_one("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await
        .unwrap();

    // Two real runs at once: exactly one proceeds.
    let a = Cleanup::connect(&db.connection_string, fixture::config("bad_conc_a"))
        .await
        .unwrap();
    let b = Cleanup::connect(&db.connection_string, fixture::config("bad_conc_b"))
        .await
        .unwrap();
    let (ra, rb) = tokio::join!(a.apply(Phase::One, &quiet), b.apply(Phase::One, &quiet));
    let refused = [&ra, &rb]
        .iter()
        .filter(|r| matches!(r, Err(CleanupError::ConcurrentRun { .. })))
        .count();
    let ok = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
    assert_eq!((refused, ok), (1, 1), "{ra:?} {rb:?}");
}

#[tokio::test]
async fn published_tables_are_never_touched() {
    let db = fixture::database("bad_prot", Shape::small()).await;
    let client = db.connect().await.unwrap();
    let mut config = fixture::config("bad_prot");
    config.protected_tables.insert("tmpbb_4403".into());
    config.protected_tables.insert("tarea".into());
    let cleanup = Cleanup::connect(&db.connection_string, config)
        .await
        .unwrap();
    let err = cleanup.apply(Phase::One, &quiet).await.unwrap_err();
    let mut steps = blocked_steps(&err);
    steps.sort();
    assert_eq!(steps, vec!["p1.tarea", "p1.tmpbb.check"]);
    assert_eq!(count(&client, r"SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename ~ '^tmpbb_\d+$'").await, 6);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM cf_quere_pro.tarea WHERE tredroptablastemporales = 0"
        )
        .await,
        6
    );
}

#[tokio::test]
async fn active_sessions_and_pending_documents_stop_the_staging_group() {
    let db = fixture::database("bad_ses", Shape::small()).await;
    let client = db.connect().await.unwrap();
    client.batch_execute("INSERT INTO cf_quere_pro.tmpses VALUES (1, 'sesion activa'); INSERT INTO cf_quere_pro.tmp_gestordocumental VALUES (9, '\\x01')").await.unwrap();
    let cleanup = Cleanup::connect(&db.connection_string, fixture::config("bad_ses"))
        .await
        .unwrap();
    let err = cleanup.apply(Phase::One, &quiet).await.unwrap_err();
    assert_eq!(blocked_steps(&err), vec!["p1.staging.check"]);
    let text = err.to_string();
    assert!(
        text.contains("tmpses has 1 active session")
            && text.contains("sesion activa")
            && text.contains("pending document"),
        "{text}"
    );
    assert_eq!(count(&client, "SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename IN ('tmpses', 'tmp_gestordocumental', 'tmpcntt', 'tablastmp')").await, 4);
}

#[tokio::test]
async fn buggy_tmpbb_and_unmigratable_rows_stop_their_family() {
    let db = fixture::database("bad_rows", Shape::small()).await;
    let client = db.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE cf_quere_pro.tmpbb (bbid NUMERIC(10,0), bbexpid NUMERIC(5,0), bbcptoid NUMERIC(10,0), bbtconid NUMERIC(10,0));
             INSERT INTO cf_quere_pro.aux_varscreditored_880005 VALUES (7001, 1, 1);
             INSERT INTO cf_quere_pro.tmp_deuda_1779003 VALUES (1.234, 1, 1, NULL);",
        )
        .await
        .unwrap();
    let before = dump(&client, "cf_quere_pro").await;
    let cleanup = Cleanup::connect(&db.connection_string, fixture::config("bad_rows"))
        .await
        .unwrap();
    let err = cleanup.apply(Phase::One, &quiet).await.unwrap_err();
    let mut steps = blocked_steps(&err);
    steps.sort();
    assert_eq!(
        steps,
        vec![
            "p1.aux_varscreditored.check",
            "p1.tmp_deuda.check",
            "p1.tmpbb.create"
        ]
    );
    let text = err.to_string();
    assert!(text.contains("buggy tmpbb DDL"), "{text}");
    assert!(text.contains("cnttnum = 7001 (2 rows)"), "{text}");
    assert!(text.contains("faccnttnum = NULL"), "{text}");
    let after = dump(&client, "cf_quere_pro").await;
    for (t, rows) in &before {
        if t.starts_with("tmp_deuda_")
            || t.starts_with("aux_varscreditored_")
            || t.starts_with("tmpbb")
        {
            assert_eq!(after.get(t), Some(rows), "{t} changed");
        }
    }
}
