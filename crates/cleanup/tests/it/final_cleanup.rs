//! Final cleanup (seed 004): reports, archive-then-remove with a restore test, constraints
//! NOT VALID then VALIDATE (violations reported, not fixed), dictionary and ERD, rollback.

use supra_sync_cleanup::{Cleanup, CleanupError, ConstraintKind, ConstraintSpec, Phase};

use crate::fixture::{self, count, dump, quiet};

const SQL: &str = "
CREATE SCHEMA cf_quere_pro;
CREATE TABLE cf_quere_pro.persona (prsid NUMERIC(10,0) PRIMARY KEY, prsnombre VARCHAR(60));
INSERT INTO cf_quere_pro.persona VALUES (1, 'Ana'), (2, 'Luis');
CREATE TABLE cf_quere_pro.contrato (cnttnum NUMERIC(10,0) PRIMARY KEY, cnttprsid NUMERIC(10,0), cnttestado CHAR(1));
COMMENT ON TABLE cf_quere_pro.contrato IS 'Contratos de servicio';
INSERT INTO cf_quere_pro.contrato VALUES (10, 1, 'A'), (11, 2, 'B'), (12, 99, 'A');
CREATE TABLE cf_quere_pro.prueba (id NUMERIC(10,0) PRIMARY KEY, texto VARCHAR(100));
CREATE TABLE cf_quere_pro.prueba2 (id NUMERIC(10,0) PRIMARY KEY, texto TEXT, fecha TIMESTAMP, monto NUMERIC(12,2));
INSERT INTO cf_quere_pro.prueba2 VALUES (1, 'a,b \"c\"', '2024-01-01 00:00', 1.10), (2, NULL, NULL, NULL), (3, '', '2024-12-31 23:59:59.5', -0.01);
CREATE TABLE cf_quere_pro.nokey (a INTEGER, b TEXT);
INSERT INTO cf_quere_pro.nokey VALUES (1, 'x'), (1, 'x'), (2, NULL);
";

#[tokio::test]
async fn reports_archive_constraints_dictionary_rollback() {
    let db = supra_sync_testkit::legacy()
        .fresh_database("final")
        .await
        .unwrap();
    let client = db.connect().await.unwrap();
    client.batch_execute(SQL).await.unwrap();
    let prueba2 = dump(&client, "cf_quere_pro").await["prueba2"].clone();
    let mut config = fixture::config("final");
    config.protected_tables.clear();
    config.final_cleanup.approved_for_removal = vec!["prueba2".into()];
    config.final_cleanup.required_columns = vec!["contrato.cnttestado".into(), "nokey.b".into()];
    config.final_cleanup.constraints = vec![
        ConstraintSpec {
            table: "contrato".into(),
            name: "fk_contrato_persona".into(),
            kind: ConstraintKind::ForeignKey {
                columns: vec!["cnttprsid".into()],
                references: "persona".into(),
                referenced_columns: vec!["prsid".into()],
            },
        },
        ConstraintSpec {
            table: "contrato".into(),
            name: "nn_contrato_estado".into(),
            kind: ConstraintKind::NotNull {
                column: "cnttestado".into(),
            },
        },
    ];
    let dir = config.archive_dir.join("final");
    let cleanup = Cleanup::connect(&db.connection_string, config)
        .await
        .unwrap();

    let plan = cleanup.plan(Phase::Final).await.unwrap().to_string();
    assert!(
        plan.contains("unused: prueba\n")
            && plan.contains("NOT VALID")
            && plan.contains("VALIDATE CONSTRAINT"),
        "{plan}"
    );

    let err = cleanup.apply(Phase::Final, &quiet).await.unwrap_err();
    let CleanupError::Incomplete { blocked, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(blocked.len(), 1, "{err}");
    assert_eq!(blocked[0].step, "pf.constraint.fk_contrato_persona");
    assert!(err.to_string().contains("\"cnttprsid\": 99"), "{err}");
    // The violating constraint stays NOT VALID (new rows are checked), the other validated.
    assert_eq!(count(&client, "SELECT count(*) FROM pg_constraint WHERE conname = 'fk_contrato_persona' AND NOT convalidated").await, 1);
    assert_eq!(count(&client, "SELECT count(*) FROM pg_constraint WHERE conname = 'nn_contrato_estado' AND convalidated").await, 1);
    assert_eq!(
        count(&client, "SELECT count(*) FROM cf_quere_pro.contrato").await,
        3,
        "not auto-fixed"
    );

    // Archive-then-remove.
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'prueba2'"
        )
        .await,
        0
    );
    let manifest = std::fs::read_to_string(dir.join("archive/prueba2.manifest.json")).unwrap();
    assert!(
        manifest.contains("\"restore_tested\": true") && manifest.contains("\"rows\": 3"),
        "{manifest}"
    );
    assert!(dir.join("archive/prueba2.csv").exists() && dir.join("archive/prueba2.sql").exists());

    // Reports.
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    assert!(read("unused_tables.md").contains("| prueba |"));
    let index = read("index_report.md");
    assert!(
        index.contains("| contrato | cnttprsid | persona.prsid |"),
        "{index}"
    );
    let integrity = read("integrity_report.md");
    assert!(
        integrity.contains("| contrato | cnttprsid | persona.prsid |")
            && integrity.contains("| 1 |"),
        "{integrity}"
    );
    assert!(
        integrity.contains("| nokey | 1 |") && integrity.contains("| nokey.b | 1 |"),
        "{integrity}"
    );
    let dict = read("data_dictionary.md");
    assert!(
        dict.contains("\n## contrato\n")
            && dict.contains("Contratos de servicio")
            && dict.contains("FK → persona"),
        "{dict}"
    );
    assert!(read("erd.mmd").contains("persona ||--o{ contrato : \"fk_contrato_persona\""));

    let checks = cleanup.verify(Phase::Final).await.unwrap();
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(failed, vec!["pf.constraints"], "{checks:?}");

    // Rollback: the table comes back with its rows, the constraints go.
    cleanup.rollback(Phase::Final, &quiet).await.unwrap();
    assert_eq!(dump(&client, "cf_quere_pro").await["prueba2"], prueba2);
    assert_eq!(count(&client, "SELECT count(*) FROM pg_constraint WHERE conname IN ('fk_contrato_persona', 'nn_contrato_estado')").await, 0);
}
