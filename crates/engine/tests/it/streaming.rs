//! Streaming both directions: values, order, identity, echo-freedom, failures, slot progress.

use std::time::Duration;

use supra_sync_core::{Lsn, Side};
use supra_sync_testkit::wait_until;

use crate::support::{SyncEnv, wait_count};

const PERSONS: &str = "SELECT count(*) FROM persons";

async fn supra_admin(env: &SyncEnv) -> tokio_postgres::Client {
    let c = env.supra.connect().await.unwrap();
    c.batch_execute("SET app.is_admin = 'true'").await.unwrap();
    c
}

#[tokio::test]
async fn legacy_changes_reach_supra_transformed_in_order() {
    let env = SyncEnv::new().await;
    let running = env.start(Side::Legacy);
    let legacy = env.legacy.connect().await.unwrap();
    let supra = supra_admin(&env).await;

    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnomape, prsnombre, prstelef, prssnvulnerable)
             VALUES (1, 'F', ' GOMP800101AB1 ', 'Gómez Peña', 'María José', '4421234567', 'S'),
                    (2, 'J', '', 'Aguas del Bajío SA de CV', NULL, NULL, 'N');
             BEGIN;
             UPDATE cf_quere_pro.persona SET prsnombre = 'Ma. José' WHERE prsid = 1;
             UPDATE cf_quere_pro.persona SET prsnombre = 'María J.' WHERE prsid = 1;
             COMMIT;",
        )
        .await
        .unwrap();
    wait_count(&supra, PERSONS, 2).await;
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE direction = 'legacy_to_supra' AND status = 'applied'",
        4,
    )
    .await;
    let row = supra
        .query_one("SELECT person_type, rfc, name, first_name, phone, vulnerable FROM persons WHERE first_name IS NOT NULL", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "fisica");
    assert_eq!(
        row.get::<_, Option<String>>(1).as_deref(),
        Some("GOMP800101AB1")
    );
    assert_eq!(
        row.get::<_, String>(2),
        "Gómez Peña María J.",
        "the last of two updates wins"
    );
    assert_eq!(
        row.get::<_, Option<String>>(4).as_deref(),
        Some("4421234567")
    );
    assert!(row.get::<_, bool>(5));
    let moral = supra
        .query_one(
            "SELECT person_type, rfc FROM persons WHERE first_name IS NULL",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(moral.get::<_, String>(0), "moral");
    assert_eq!(moral.get::<_, Option<String>>(1), None, "'' becomes NULL");

    // Identity: one mapping per legacy key, same UUID as the SUPRA row.
    let mapped: i64 = supra
        .query_one(
            "SELECT count(*) FROM supra_sync.sync_mappings m JOIN persons p ON p.id = m.supra_id
              WHERE m.entity_type = 'persona'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(mapped, 2);

    // Delete propagates.
    legacy
        .batch_execute("DELETE FROM cf_quere_pro.persona WHERE prsid = 2")
        .await
        .unwrap();
    wait_count(&supra, PERSONS, 1).await;

    // The origin holds the resume point and the slot was acknowledged up to it.
    let target_pos: String = supra
        .query_one(
            "SELECT pg_replication_origin_progress($1, true)::text",
            &[&env.names.origin(Side::Legacy)],
        )
        .await
        .unwrap()
        .get(0);
    let target_pos: Lsn = target_pos.parse().unwrap();
    let slot = env.names.slot(Side::Legacy);
    wait_until("slot acknowledged", Duration::from_secs(30), || async {
        let confirmed: String = legacy
            .query_one(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        let confirmed: Lsn = confirmed.parse().unwrap();
        Ok(confirmed >= target_pos)
    })
    .await
    .unwrap();
    running.stop().await.unwrap();
    env.teardown().await;
}

#[tokio::test]
async fn a_change_that_cannot_be_applied_is_logged_and_the_stream_goes_on() {
    let env = SyncEnv::new().await;
    let running = env.start(Side::Legacy);
    let legacy = env.legacy.connect().await.unwrap();
    let supra = supra_admin(&env).await;
    // Two persons with the same RFC: SUPRA's UNIQUE(tenant_id, rfc) refuses the second.
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnombre) VALUES (10, 'F', 'DUPL800101XX1', 'Uno');
             INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnombre) VALUES (11, 'F', 'DUPL800101XX1', 'Dos');
             INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnombre) VALUES (12, 'F', 'OTRO800101XX1', 'Tres');",
        )
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM supra_sync.sync_log", 3).await;
    let failed = supra
        .query_one(
            "SELECT entity_id, error_message, raw_change->>'table' FROM supra_sync.sync_log WHERE status = 'failed'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(failed.get::<_, String>(0), "11");
    assert!(
        failed.get::<_, String>(1).contains("duplicate key"),
        "{}",
        failed.get::<_, String>(1)
    );
    assert_eq!(failed.get::<_, String>(2), "cf_quere_pro.persona");
    wait_count(&supra, PERSONS, 2).await;
    // persona is bidirectional: the collision is also queued for review as a conflict.
    let conflict = supra
        .query_one("SELECT entity_id::text, conflict_type::text, status::text FROM supra_sync.sync_conflicts", &[])
        .await
        .unwrap();
    assert_eq!(
        (
            conflict.get::<_, String>(0),
            conflict.get::<_, String>(1),
            conflict.get::<_, String>(2)
        ),
        (
            "11".to_string(),
            "unique_violation".to_string(),
            "open".to_string()
        )
    );
    running.stop().await.unwrap();
    env.teardown().await;
}

#[tokio::test]
async fn a_supra_change_reaches_legacy_once_and_never_comes_back() {
    let env = SyncEnv::new().await;
    let forward = env.start(Side::Legacy);
    let reverse = env.start(Side::Supra);
    let legacy = env.legacy.connect().await.unwrap();
    let supra = supra_admin(&env).await;
    legacy
        .batch_execute("SELECT setval('cf_quere_pro.seq_prsid', 5000)")
        .await
        .unwrap();
    let tenant: uuid::Uuid = supra
        .query_one("SELECT id FROM tenants WHERE slug = 'cea-queretaro'", &[])
        .await
        .unwrap()
        .get(0);
    supra
        .execute(
            "INSERT INTO persons (tenant_id, person_type, name, first_name, last_name_paterno, rfc, phone)
             VALUES ($1, 'fisica', 'Núñez Pérez Andrés', 'Andrés', 'Núñez', 'NUPA900101AB2', '4420000000')",
            &[&tenant],
        )
        .await
        .unwrap();
    wait_count(&legacy, "SELECT count(*) FROM cf_quere_pro.persona", 1).await;
    let row = legacy
        .query_one(
            "SELECT prsid::text, prstipo, prsnif, prsnombre, prsape1 FROM cf_quere_pro.persona",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, String>(0),
        "5001",
        "legacy id from the sequence"
    );
    assert_eq!(row.get::<_, String>(1), "F");
    assert_eq!(
        row.get::<_, Option<String>>(2).as_deref(),
        Some("NUPA900101AB2")
    );
    assert_eq!(row.get::<_, Option<String>>(3).as_deref(), Some("Andrés"));

    // A later legacy change proves the forward pipeline is past the echo: if the echo had been
    // applied it would be logged before this one.
    legacy
        .batch_execute("INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES (7, 'F', 'Marcador')")
        .await
        .unwrap();
    wait_count(&supra, PERSONS, 2).await;
    let log: Vec<(String, String)> = supra
        .query(
            "SELECT direction::text, entity_id::text FROM supra_sync.sync_log ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        log,
        vec![
            ("supra_to_legacy".to_string(), "5001".to_string()),
            ("legacy_to_supra".to_string(), "7".to_string())
        ],
        "the SUPRA insert must be applied to legacy exactly once and never echo back"
    );
    let mapping: i64 = supra
        .query_one("SELECT count(*) FROM supra_sync.sync_mappings WHERE entity_type = 'persona' AND legacy_id = '5001'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(mapping, 1);
    forward.stop().await.unwrap();
    reverse.stop().await.unwrap();
    env.teardown().await;
}

#[tokio::test]
async fn an_idle_source_with_a_busy_unrelated_table_does_not_retain_wal() {
    let env = SyncEnv::new().await;
    let running = env.start(Side::Legacy);
    let legacy = env.legacy.connect().await.unwrap();
    legacy
        .batch_execute("CREATE TABLE public.ruido (id serial primary key, payload text)")
        .await
        .unwrap();
    for _ in 0..20 {
        legacy
            .batch_execute("INSERT INTO public.ruido (payload) SELECT repeat('x', 1000) FROM generate_series(1, 500)")
            .await
            .unwrap();
    }
    let target: String = legacy
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    let target: Lsn = target.parse().unwrap();
    let slot = env.names.slot(Side::Legacy);
    wait_until("the idle slot to advance past the unrelated writes", Duration::from_secs(60), || async {
        let confirmed: String = legacy
            .query_one("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", &[&slot])
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        let confirmed: Lsn = confirmed.parse().unwrap();
        if confirmed >= target { Ok(true) } else { Err(format!("confirmed {confirmed} < {target}")) }
    })
    .await
    .unwrap();
    running.stop().await.unwrap();
    env.teardown().await;
}

/// A SUPRA → legacy batch whose bookkeeping never reached SUPRA (supra-sync died right after
/// the legacy commit) is booked by the legacy → SUPRA pipeline from the message the batch
/// carried in its legacy transaction — once, however often that message is met.
#[tokio::test]
async fn a_reverse_batch_killed_before_its_bookkeeping_is_booked_from_its_legacy_transaction() {
    let env = SyncEnv::new().await;
    let forward = env.start(Side::Legacy);
    let legacy = env.legacy.connect().await.unwrap();
    let supra = supra_admin(&env).await;
    let mut booking = supra_sync_engine::booking::Booking::new();
    booking.logs.push(supra_sync_engine::book::LogRow {
        entity: "persona".into(),
        entity_id: "5001".into(),
        supra_id: Some(uuid::Uuid::new_v4()),
        source: Side::Supra,
        operation: "insert",
        diff: Some(serde_json::json!({"name": "Núñez"})),
        raw: serde_json::json!({"op": "insert"}).to_string(),
        status: supra_sync_engine::book::LogStatus::Applied,
        error: None,
        source_lsn: Lsn(0x1_0000_0000),
        source_xid: 731,
        commit_ts: chrono::Utc::now(),
    });
    // What a reverse batch writes into its legacy transaction, under the reverse origin (an
    // echo the forward pipeline skips); twice, as after a replay.
    for _ in 0..2 {
        legacy
            .batch_execute(&format!(
                "SELECT pg_replication_origin_session_setup('{}');
                 BEGIN;
                 SELECT pg_logical_emit_message(true, '{}', '{}');
                 COMMIT;
                 SELECT pg_replication_origin_session_reset();",
                env.names.origin(Side::Supra),
                supra_sync_engine::booking::BOOKING_PREFIX,
                booking.to_json().replace('\'', "''"),
            ))
            .await
            .unwrap();
    }
    // A later plain legacy change: once it is in SUPRA, both echoes were streamed.
    legacy
        .batch_execute("INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES (7, 'F', 'Marcador')")
        .await
        .unwrap();
    wait_count(&supra, PERSONS, 1).await;
    let log: Vec<(String, String, i64)> = supra
        .query(
            "SELECT direction::text, entity_id::text, source_xid FROM supra_sync.sync_log ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let rows: Vec<(&str, &str)> = log
        .iter()
        .map(|(d, k, _)| (d.as_str(), k.as_str()))
        .collect();
    assert_eq!(
        rows,
        [("supra_to_legacy", "5001"), ("legacy_to_supra", "7")],
        "the booking is written once, before the later change"
    );
    assert_eq!(log[0].2, 731, "the booked row keeps its source transaction");
    let booked: i64 = supra
        .query_one(
            "SELECT count(*) FROM supra_sync.reverse_bookings WHERE id = $1",
            &[&booking.id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(booked, 1);
    forward.stop().await.unwrap();
    env.teardown().await;
}

/// A value longer than its SUPRA column (an RFC of 20 characters for `persons.rfc
/// varchar(13)`) is found while planning (the message names the column, which PostgreSQL's
/// own 22001 does not): its change fails alone and the other 49 rows are applied.
#[tokio::test]
async fn a_value_too_long_for_its_column_fails_only_its_own_row() {
    let env = SyncEnv::new().await;
    let running = env.start(Side::Legacy);
    let legacy = env.legacy.connect().await.unwrap();
    let supra = supra_admin(&env).await;
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnombre)
             SELECT g, 'F', CASE WHEN g = 25 THEN 'ZULM-400219-MVZXNR16' ELSE 'RFC' || lpad(g::text, 10, '0') END, 'P' || g
               FROM generate_series(1, 50) g",
        )
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM supra_sync.sync_log", 50).await;
    let failed = supra
        .query(
            "SELECT entity_id, error_message FROM supra_sync.sync_log WHERE status = 'failed'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].get::<_, String>(0), "25");
    assert_eq!(
        failed[0].get::<_, String>(1),
        "value too long for type character varying(13) (column rfc: 20 characters) in public.persons"
    );
    wait_count(&supra, PERSONS, 49).await;
    running.stop().await.unwrap();
    env.teardown().await;
}
