//! The verifier: agreement after a sync, and planted differences found with their keys.

use std::time::Duration;

use supra_sync_core::Side;
use supra_sync_engine::snapshot::Snapshotter;
use supra_sync_engine::verify::{self, EntityComparison};
use supra_sync_testkit::wait_until;

use crate::support::SyncEnv;

/// Legacy rows touching a join (direccion + geolocalizacion), an `[[also]]` table
/// (explotacion → explotacion_configs), children (aplictarif → tariff_schedules.blocks),
/// accents, NULLs and edge numerics.
const LEGACY_ROWS: &str = "
    INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnomape, prsnombre, prsape1, prstelef, prssnvulnerable, prsfecreg)
    VALUES (1, 'F', ' GOMP800101AB1 ', 'Gómez Peña', 'María José', 'Gómez', '4421234567', 'S', '2019-03-04 10:11:12'),
           (2, 'J', '', 'Aguas del Bajío SA de CV', NULL, NULL, NULL, 'N', NULL),
           (3, 'F', NULL, NULL, 'Ñandú', NULL, '', NULL, '2020-01-01 00:00:00');
    INSERT INTO cf_quere_pro.explotacion (expid, expnombre, expmunicipio, exppctrecargo, expimpmincorte, expfecalta)
    VALUES (9, 'Querétaro Centro', 'Querétaro', 0.1, 9999999999, '2001-01-01 00:00:00');
    INSERT INTO cf_quere_pro.direccion (dirid, dirtexto, dirnum, dirpob, dirhsthora)
    VALUES (5, 'Av. Constituyentes', '12-B', 'Querétaro', '2021-06-07 08:09:10');
    INSERT INTO cf_quere_pro.geolocalizacion (geolocdirid, geoloclat, geoloclong) VALUES (5, '20,5888', '-100.3899');
    INSERT INTO cf_quere_pro.tarifa (tarid, tardesc, tartipo, tarexpid, tarfecini, tarpctdescsocial)
    VALUES (7, 'Doméstica 2024', '1', 9, '2024-01-01 00:00:00', 12.345);
    INSERT INTO cf_quere_pro.aplictarif (apttarid, aptfecapl, aptlimi, aptlimf, aptprecio, aptcuotafija)
    VALUES (7, '2024-01-01 00:00:00', 0, 10, 5.555, NULL), (7, '2024-01-01 00:00:00', 11, NULL, -0.005, 0);";

/// Waits until the snapshot is done and the forward pipeline applied a change to `persona`
/// `key` committed after everything written so far: changes apply in commit order, so all
/// earlier ones are in.
async fn caught_up(env: &SyncEnv, legacy: &tokio_postgres::Client, key: i64) {
    let supra = env.supra.connect().await.unwrap();
    wait_until(
        "the snapshot to finish",
        Duration::from_secs(90),
        || async {
            let pending: i64 = supra
                .query_one(
                    "SELECT count(*) FROM supra_sync.snapshot_progress WHERE status <> 'done'",
                    &[],
                )
                .await
                .map_err(|e| e.to_string())?
                .get(0);
            if pending == 0 {
                Ok(true)
            } else {
                Err(format!("{pending} entities pending"))
            }
        },
    )
    .await
    .unwrap();
    legacy
        .execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES ($1::text::numeric, 'F', 'Marca')",
            &[&key.to_string()],
        )
        .await
        .unwrap();
    wait_until(
        "the marker change to be applied",
        Duration::from_secs(90),
        || async {
            let n: i64 = supra
                .query_one(
                    "SELECT count(*) FROM supra_sync.sync_log
                  WHERE entity_type = 'persona' AND entity_id = $1 AND status = 'applied'",
                    &[&key.to_string()],
                )
                .await
                .map_err(|e| e.to_string())?
                .get(0);
            Ok(n > 0)
        },
    )
    .await
    .unwrap();
}

async fn compare(env: &SyncEnv, entities: &[&str]) -> Vec<EntityComparison> {
    let legacy = env.legacy.connect().await.unwrap();
    let supra = env.supra.connect().await.unwrap();
    let entities: Vec<String> = entities.iter().map(|e| e.to_string()).collect();
    verify::compare(&legacy, &supra, &env.mappings, "cea-queretaro", &entities)
        .await
        .unwrap()
}

fn entity<'a>(report: &'a [EntityComparison], name: &str) -> &'a EntityComparison {
    report.iter().find(|c| c.entity == name).unwrap()
}

fn assert_agree(report: &[EntityComparison]) {
    let bad: Vec<String> = report
        .iter()
        .filter(|c| !c.agrees() || c.unmappable.count > 0)
        .map(ToString::to_string)
        .collect();
    assert!(
        bad.is_empty(),
        "SUPRA disagrees with legacy:\n{}",
        bad.join("\n")
    );
}

/// Snapshot of the lookup rows plus streamed rows of every shape: SUPRA agrees.
async fn synced_env() -> (SyncEnv, tokio_postgres::Client, tokio_postgres::Client) {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = env.supra.connect().await.unwrap();
    supra
        .batch_execute("SET app.is_admin = 'true'")
        .await
        .unwrap();
    Snapshotter::request(&supra, &env.mappings, &[])
        .await
        .unwrap();
    (env, legacy, supra)
}

#[tokio::test]
async fn agrees_after_sync_and_reports_a_planted_difference_with_its_key() {
    let (env, legacy, supra) = synced_env().await;
    let running = env.start(Side::Legacy);
    legacy.batch_execute(LEGACY_ROWS).await.unwrap();
    caught_up(&env, &legacy, 100).await;

    let all = compare(&env, &[]).await;
    assert_eq!(all.len(), env.mappings.entities().len());
    assert_agree(&all);
    let persona = entity(&all, "persona");
    assert_eq!((persona.legacy_rows, persona.expected_rows), (4, 4));
    assert!(
        persona.volatile_cells >= 2,
        "created_at/updated_at defaulted to now() are not compared: {persona:?}"
    );
    let explotacion = entity(&all, "explotacion");
    assert_eq!(
        explotacion.expected_rows, 2,
        "explotaciones + explotacion_configs"
    );
    assert!(
        entity(&all, "tipotarifa").expected_rows > 0,
        "lookup rows were snapshotted"
    );

    // Change a SUPRA row behind the sync's back.
    let planted: String = supra
        .query_one(
            "UPDATE persons SET phone = '4410000000' WHERE first_name = 'María José' RETURNING id::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let persona = compare(&env, &["persona"]).await.remove(0);
    assert_eq!(persona.differing.count, 1, "{persona}");
    let example = &persona.differing.examples[0];
    assert_eq!(example.supra_id.as_deref(), Some(planted.as_str()));
    assert_eq!(example.legacy_key.as_deref(), Some("1"));
    assert!(
        example
            .detail
            .contains("phone: expected 4421234567, found 4410000000"),
        "{}",
        example.detail
    );
    assert_eq!((persona.missing.count, persona.unexpected.count), (0, 0));

    // A JSONB child aggregate and a geography are compared too.
    supra
        .batch_execute(
            "UPDATE tariff_schedules SET blocks = blocks - 1;
             UPDATE addresses SET geom = 'SRID=4326;POINT(-100 20)'::geography;",
        )
        .await
        .unwrap();
    let report = compare(&env, &["tarifa", "direccion"]).await;
    assert_eq!(report[0].differing.count, 1, "{}", report[0]);
    assert!(
        report[0].differing.examples[0]
            .detail
            .starts_with("blocks:")
    );
    assert_eq!(report[1].differing.count, 1, "{}", report[1]);
    assert!(report[1].differing.examples[0].detail.contains("geom"));
    running.stop().await.unwrap();
    env.teardown().await;
}

#[tokio::test]
async fn reports_missing_and_unexpected_rows() {
    let (env, legacy, supra) = synced_env().await;
    let running = env.start(Side::Legacy);
    legacy.batch_execute(LEGACY_ROWS).await.unwrap();
    caught_up(&env, &legacy, 100).await;
    running.stop().await.unwrap();

    let removed: String = supra
        .query_one(
            "DELETE FROM persons WHERE first_name = 'Ñandú' RETURNING id::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let stray: String = supra
        .query_one(
            "INSERT INTO persons (tenant_id, person_type, name)
             SELECT id, 'fisica', 'Sin mapeo' FROM tenants WHERE slug = 'cea-queretaro' RETURNING id::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // A deleted legacy row whose SUPRA row stays under the `delete` policy.
    legacy
        .batch_execute("DELETE FROM cf_quere_pro.persona WHERE prsid = 2")
        .await
        .unwrap();
    let persona = compare(&env, &["persona"]).await.remove(0);
    assert_eq!(persona.missing.count, 1, "{persona}");
    assert_eq!(
        persona.missing.examples[0].supra_id.as_deref(),
        Some(removed.as_str())
    );
    assert_eq!(persona.missing.examples[0].legacy_key.as_deref(), Some("3"));
    assert_eq!(persona.unexpected.count, 2, "{persona}");
    let details: Vec<(&str, &str)> = persona
        .unexpected
        .examples
        .iter()
        .map(|e| (e.supra_id.as_deref().unwrap(), e.detail.as_str()))
        .collect();
    assert!(
        details.contains(&(stray.as_str(), "mapped to no legacy row")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|(id, d)| *id != stray && d.contains("delete policy")),
        "{details:?}"
    );
    assert_eq!(persona.differing.count, 0, "{persona}");

    // Under `ignore` a SUPRA row outliving its legacy row is retained, not unexpected.
    legacy
        .batch_execute("DELETE FROM cf_quere_pro.direccion WHERE dirid = 5")
        .await
        .unwrap();
    let direccion = compare(&env, &["direccion"]).await.remove(0);
    assert!(direccion.agrees(), "{direccion}");
    assert_eq!(direccion.retained, 1);
    env.teardown().await;
}

/// A row inserted and re-keyed in the same source transaction (so in the same batch) ends
/// up mapped once, under its new key.
#[tokio::test]
async fn a_key_changed_in_the_batch_that_inserted_the_row_is_mapped_once() {
    let (env, legacy, _supra) = synced_env().await;
    let running = env.start(Side::Legacy);
    legacy
        .batch_execute(
            "BEGIN;
             INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES (500, 'F', 'Antes');
             UPDATE cf_quere_pro.persona SET prsid = 501, prsnombre = 'Después' WHERE prsid = 500;
             COMMIT;",
        )
        .await
        .unwrap();
    caught_up(&env, &legacy, 100).await;
    let persona = compare(&env, &["persona"]).await.remove(0);
    assert!(persona.agrees(), "{persona}");
    assert_eq!(persona.expected_rows, 2);
    running.stop().await.unwrap();
    env.teardown().await;
}

/// A change parked under one key and a later change that moves the row to a new key: the
/// row must end up once in SUPRA, under the new key.
#[tokio::test]
async fn a_parked_row_whose_key_changes_before_the_park_is_resolved_is_not_left_behind() {
    let (env, legacy, _supra) = synced_env().await;
    let running = env.start(Side::Legacy);
    // After the snapshot, which would otherwise copy the final row and hide the stream's doing.
    legacy
        .batch_execute(&format!(
            "{LEGACY_ROWS}
             INSERT INTO cf_quere_pro.ptoserv (ptosid, ptosexpid, ptosdirid, ptoscodigo) VALUES (7, 9, 5, 'T-7');"
        ))
        .await
        .unwrap();
    caught_up(&env, &legacy, 99).await;
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.lectura (lecid, leccontid, lecptosid, lecfecha, lecvalor)
             VALUES (1, 5, 7, '2024-01-15 08:00:00', 10);",
        )
        .await
        .unwrap();
    // The meter arrives in the transaction that also re-keys the (parked) reading.
    legacy
        .batch_execute(
            "BEGIN;
             INSERT INTO cf_quere_pro.contado (conid, conptosid, connumserie) VALUES (5, 7, 'SN-5');
             UPDATE cf_quere_pro.lectura SET lecid = 2, lecvalor = 11 WHERE lecid = 1;
             COMMIT;",
        )
        .await
        .unwrap();
    caught_up(&env, &legacy, 100).await;
    let lectura = compare(&env, &["lectura"]).await.remove(0);
    let supra = env.supra.connect().await.unwrap();
    let log: Vec<String> = supra
        .query(
            "SELECT concat_ws(' | ', entity_type, entity_id, operation, status, error_message) FROM supra_sync.sync_log
              WHERE entity_type IN ('lectura', 'contado') ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(lectura.agrees(), "{lectura}\nsync_log:\n{}", log.join("\n"));
    let rows: Vec<String> = legacy
        .query("SELECT lecid::text FROM cf_quere_pro.lectura", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(lectura.expected_rows, 1, "{lectura:?} {rows:?}");
    running.stop().await.unwrap();
    env.teardown().await;
}

/// A row parked (its meter is not synced yet) and deleted in the same transaction, hence the
/// same batch: the delete must wait behind the parked insert, not be skipped.
#[tokio::test]
async fn a_parked_row_deleted_in_the_same_batch_is_not_resurrected() {
    let (env, legacy, _supra) = synced_env().await;
    let running = env.start(Side::Legacy);
    legacy
        .batch_execute(&format!(
            "{LEGACY_ROWS}
             INSERT INTO cf_quere_pro.ptoserv (ptosid, ptosexpid, ptosdirid, ptoscodigo) VALUES (7, 9, 5, 'T-7');"
        ))
        .await
        .unwrap();
    caught_up(&env, &legacy, 99).await;
    legacy
        .batch_execute(
            "BEGIN;
             INSERT INTO cf_quere_pro.lectura (lecid, leccontid, lecptosid, lecfecha, lecvalor)
             VALUES (1, 5, 7, '2024-01-15 08:00:00', 10);
             DELETE FROM cf_quere_pro.lectura WHERE lecid = 1;
             COMMIT;
             INSERT INTO cf_quere_pro.contado (conid, conptosid, connumserie) VALUES (5, 7, 'SN-5');",
        )
        .await
        .unwrap();
    caught_up(&env, &legacy, 100).await;
    let lectura = compare(&env, &["lectura"]).await.remove(0);
    assert!(lectura.agrees(), "{lectura}");
    running.stop().await.unwrap();
    env.teardown().await;
}

/// A row inserted and deleted in SUPRA in one transaction (one batch of the reverse
/// pipeline): legacy must not keep it.
#[tokio::test]
async fn a_supra_row_inserted_and_deleted_in_one_batch_does_not_stay_in_legacy() {
    let (env, legacy, supra) = synced_env().await;
    let forward = env.start(Side::Legacy);
    let reverse = env.start(Side::Supra);
    legacy
        .batch_execute("SELECT setval('cf_quere_pro.seq_prsid', 5000)")
        .await
        .unwrap();
    caught_up(&env, &legacy, 99).await;
    supra
        .batch_execute(
            "BEGIN;
             INSERT INTO persons (id, tenant_id, person_type, name, first_name, last_name_paterno)
             SELECT '00000000-0000-4000-8000-000000000001', id, 'fisica', 'Núñez Andrés', 'Andrés', 'Núñez'
               FROM tenants WHERE slug = 'cea-queretaro';
             DELETE FROM persons WHERE id = '00000000-0000-4000-8000-000000000001';
             COMMIT;",
        )
        .await
        .unwrap();
    wait_until(
        "both SUPRA changes to be handled",
        Duration::from_secs(60),
        || async {
            let n: i64 = supra
                .query_one(
                    "SELECT count(*) FROM supra_sync.sync_log WHERE direction = 'supra_to_legacy'",
                    &[],
                )
                .await
                .map_err(|e| e.to_string())?
                .get(0);
            Ok(n >= 2)
        },
    )
    .await
    .unwrap();
    let left: Vec<String> = legacy
        .query(
            "SELECT prsid::text FROM cf_quere_pro.persona WHERE prsid > 5000",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let log: Vec<String> = supra
        .query(
            "SELECT concat_ws(' | ', entity_id, operation, status, error_message) FROM supra_sync.sync_log
              WHERE direction = 'supra_to_legacy' ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(left.is_empty(), "legacy kept {left:?}; sync_log: {log:#?}");
    forward.stop().await.unwrap();
    reverse.stop().await.unwrap();
    env.teardown().await;
}

/// A row inserted and then updated in SUPRA in one transaction (one batch of the reverse
/// pipeline) becomes one legacy row, not two.
#[tokio::test]
async fn a_supra_row_inserted_and_updated_in_one_batch_is_one_legacy_row() {
    let (env, legacy, supra) = synced_env().await;
    let forward = env.start(Side::Legacy);
    let reverse = env.start(Side::Supra);
    legacy
        .batch_execute("SELECT setval('cf_quere_pro.seq_prsid', 5000)")
        .await
        .unwrap();
    caught_up(&env, &legacy, 99).await;
    supra
        .batch_execute(
            "BEGIN;
             INSERT INTO persons (id, tenant_id, person_type, name, first_name, last_name_paterno)
             SELECT '00000000-0000-4000-8000-000000000002', id, 'fisica', 'Núñez Andrés', 'Andrés', 'Núñez'
               FROM tenants WHERE slug = 'cea-queretaro';
             UPDATE persons SET phone = '4420000001' WHERE id = '00000000-0000-4000-8000-000000000002';
             COMMIT;",
        )
        .await
        .unwrap();
    wait_until(
        "both SUPRA changes to be handled",
        Duration::from_secs(60),
        || async {
            let n: i64 = supra
                .query_one(
                    "SELECT count(*) FROM supra_sync.sync_log WHERE direction = 'supra_to_legacy'",
                    &[],
                )
                .await
                .map_err(|e| e.to_string())?
                .get(0);
            Ok(n >= 2)
        },
    )
    .await
    .unwrap();
    let rows: Vec<String> = legacy
        .query("SELECT prsid::text || ' ' || coalesce(prstelef, '-') FROM cf_quere_pro.persona WHERE prsid > 5000", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(rows, vec!["5001 4420000001".to_string()]);
    forward.stop().await.unwrap();
    reverse.stop().await.unwrap();
    env.teardown().await;
}
