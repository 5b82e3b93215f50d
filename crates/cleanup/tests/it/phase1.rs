//! Phase 1 end to end on a small fixture: plan → apply → verify → apply again (no-op) →
//! rollback restores every table with its rows.

use supra_sync_cleanup::{Cleanup, Phase, all_passed};

use crate::fixture::{self, Shape, count, dump, quiet, shapes};

#[tokio::test]
async fn plan_apply_verify_rollback() {
    let db = fixture::database("p1_full", Shape::small()).await;
    let client = db.connect().await.unwrap();
    let before = dump(&client, "cf_quere_pro").await;
    let before_shapes = shapes(&client, "cf_quere_pro").await;
    let config = fixture::config("p1_full");
    let archive = config.archive_dir.clone();
    let cleanup = Cleanup::connect(&db.connection_string, config)
        .await
        .unwrap();

    // The plan writes nothing and names every statement.
    let plan = cleanup.plan(Phase::One).await.unwrap();
    let text = plan.to_string();
    assert!(plan.blockers().is_empty(), "{text}");
    assert!(
        text.contains("DROP TABLE \"cf_quere_pro\".\"tmp_deuda_1779001\""),
        "{text}"
    );
    assert!(
        text.contains("INSERT INTO \"cf_quere_pro\".\"tmp_deuda\" (proceso_id, \"importe\""),
        "{text}"
    );
    assert!(text.contains("CHECKPOINT"), "{text}");
    assert!(text.contains("\"bbfbleid\""), "{text}");
    assert!(text.contains("archive"), "{text}");
    assert_eq!(plan.freed().tables, 40 + 12 + 6 + 3 + 7);
    assert!(plan.freed().pg_attribute > 0);
    assert_eq!(count(&client, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('supra_sync_cleanup', 'audit_inventory')").await, 0, "plan must not write");

    let report = cleanup.apply(Phase::One, &quiet).await.unwrap();
    assert!(report.steps.iter().all(|s| s.status == "done"), "{report}");

    let checks = cleanup.verify(Phase::One).await.unwrap();
    assert!(
        all_passed(&checks),
        "{}",
        checks
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Rows preserved exactly, with proceso_id from the suffix.
    let migrated: i64 = before
        .iter()
        .filter(|(t, _)| t.starts_with("tmp_deuda_"))
        .map(|(_, r)| r.len() as i64)
        .sum();
    assert_eq!(
        count(&client, "SELECT count(*) FROM cf_quere_pro.tmp_deuda").await,
        migrated
    );
    assert_eq!(
        count(&client, "SELECT count(*) FROM cf_quere_pro.tmp_deuda WHERE proceso_id = 1779005 AND faccnttnum BETWEEN 5001 AND 5004").await,
        before["tmp_deuda_1779005"].len() as i64
    );
    assert_eq!(count(&client, "SELECT count(*) FROM cf_quere_pro.tmpbb WHERE proceso_id = 4402 AND bbfecinitar = '2024-02-29'").await, 1);
    // Untouched: published tables, generic liq*, tarea rows other than the flag.
    assert!(count(&client, "SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename IN ('persona', 'contrato', 'liqanual')").await == 3);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM cf_quere_pro.tarea WHERE tredroptablastemporales <> 1"
        )
        .await,
        0
    );
    // Rollback files and archives exist.
    for f in [
        "rollback_tmp_deuda.sql",
        "rollback_aux_vars.sql",
        "rollback_tmpbb.sql",
        "rollback_staging.sql",
        "rollback_spain.sql",
    ] {
        assert!(archive.join("phase1").join(f).exists(), "{f}");
    }
    assert!(archive.join("phase1/archive/tmpcntt.csv").exists());
    let metrics = cleanup.metrics(Phase::One).await.unwrap().unwrap();
    assert!(
        metrics.after.pg_class_rows < metrics.before.pg_class_rows,
        "{metrics}"
    );

    // A second apply is a no-op.
    let after = dump(&client, "cf_quere_pro").await;
    cleanup.apply(Phase::One, &quiet).await.unwrap();
    assert_eq!(dump(&client, "cf_quere_pro").await, after);

    // Rollback restores every table, its columns and its rows.
    cleanup.rollback(Phase::One, &quiet).await.unwrap();
    assert_eq!(dump(&client, "cf_quere_pro").await, before);
    assert_eq!(shapes(&client, "cf_quere_pro").await, before_shapes);
    assert_eq!(
        count(&client, "SELECT count(*) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = 'cf_quere_pro.tarea'::regclass AND pg_get_expr(d.adbin, d.adrelid) = '0'").await,
        1
    );
    // And the phase can be applied again.
    cleanup.apply(Phase::One, &quiet).await.unwrap();
    assert!(all_passed(&cleanup.verify(Phase::One).await.unwrap()));
}

#[tokio::test]
async fn inventory_and_status() {
    let db = fixture::database("p1_inv", Shape::small()).await;
    let cleanup = Cleanup::connect(&db.connection_string, fixture::config("p1_inv"))
        .await
        .unwrap();
    let inv = cleanup.inventory().await.unwrap();
    let get = |c: &str| {
        inv.categories
            .iter()
            .find(|x| x.category == c)
            .map(|x| x.tables)
            .unwrap_or(0)
    };
    assert_eq!(get("transient_tmp_deuda"), 40);
    assert_eq!(get("transient_aux_varscreditored"), 12);
    assert_eq!(get("transient_tmpbb"), 6);
    assert_eq!(get("spain"), 3);
    assert_eq!(get("liq_generic"), 1);
    let status = cleanup.status().await.unwrap();
    assert!(
        status.steps.is_empty() && status.running.is_none(),
        "{status}"
    );
    let monitor = cleanup.monitor().await.unwrap();
    assert!(monitor.alert);
    assert_eq!(
        monitor.transient_tables.iter().map(|t| t.1).sum::<i64>(),
        58
    );
    cleanup.apply(Phase::One, &quiet).await.unwrap();
    let monitor = cleanup.monitor().await.unwrap();
    assert!(!monitor.alert, "{monitor}");
    let status = cleanup.status().await.unwrap();
    assert!(
        status
            .steps
            .iter()
            .any(|s| s.step == "p1.tmp_deuda.drop" && s.status == "done"),
        "{status}"
    );
}

#[tokio::test]
async fn reaccumulated_instances_are_caught_and_cleaned_by_the_next_apply() {
    let db = fixture::database("p1_reacc", Shape::small()).await;
    let client = db.connect().await.unwrap();
    let config = fixture::config("p1_reacc");
    let rollback_file = config.archive_dir.join("phase1/rollback_tmp_deuda.sql");
    let cleanup = Cleanup::connect(&db.connection_string, config)
        .await
        .unwrap();
    cleanup.apply(Phase::One, &quiet).await.unwrap();
    let before = count(&client, "SELECT count(*) FROM cf_quere_pro.tmp_deuda").await;

    // An unpatched code path creates a new per-process table.
    client
        .batch_execute(
            "CREATE TABLE cf_quere_pro.tmp_deuda_1800001 (importe NUMERIC(18,2), numfacturas NUMERIC(10,0), facsocemi NUMERIC(10,0), faccnttnum NUMERIC(10,0));
             INSERT INTO cf_quere_pro.tmp_deuda_1800001 VALUES (1.50, 1, 1, 42), (2.50, 2, 1, 43);",
        )
        .await
        .unwrap();
    let monitor = cleanup.monitor().await.unwrap();
    assert!(
        monitor.alert && monitor.examples == vec!["tmp_deuda_1800001".to_string()],
        "{monitor}"
    );
    cleanup.apply(Phase::One, &quiet).await.unwrap();
    assert!(!cleanup.monitor().await.unwrap().alert);
    assert_eq!(
        count(&client, "SELECT count(*) FROM cf_quere_pro.tmp_deuda").await,
        before + 2
    );
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM cf_quere_pro.tmp_deuda WHERE proceso_id = 1800001"
        )
        .await,
        2
    );
    let file = std::fs::read_to_string(&rollback_file).unwrap();
    assert!(
        file.contains("-- tmp_deuda_1779001\n") && file.contains("-- tmp_deuda_1800001\n"),
        "the rollback script keeps every table"
    );
    let checks = cleanup.verify(Phase::One).await.unwrap();
    assert!(
        all_passed(&checks),
        "{}",
        checks
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
