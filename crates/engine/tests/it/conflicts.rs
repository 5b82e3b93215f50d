//! Conflict detection on bidirectional entities: concurrent updates are not overwritten
//! blindly; `manual` holds only the affected row; automatic policies converge.

use std::time::Duration;

use supra_sync_core::Side;
use supra_sync_testkit::wait_until;

use crate::support::{SyncEnv, wait_count};

async fn admin(env: &SyncEnv) -> tokio_postgres::Client {
    let c = env.supra.connect().await.unwrap();
    c.batch_execute("SET app.is_admin = 'true'").await.unwrap();
    c
}

/// Persons 1 (Lucía) and 2 (Pedro) synced both ways, then Lucía's phone changed in SUPRA
/// while the SUPRA → legacy pipeline is stopped (so that change is still in flight). Returns
/// legacy, SUPRA and the still running legacy → SUPRA pipeline.
async fn supra_change_in_flight(
    env: &SyncEnv,
) -> (
    tokio_postgres::Client,
    tokio_postgres::Client,
    crate::support::RunningPipeline,
) {
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(env).await;
    let forward = env.start(Side::Legacy);
    let reverse = env.start(Side::Supra);
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre, prstelef) VALUES
               (1, 'F', 'Lucía', '4420000001'), (2, 'F', 'Pedro', '4420000002')",
        )
        .await
        .unwrap();
    // Both pipelines idle: the versions both sides agree on are recorded.
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_mappings WHERE last_synced_hash IS NOT NULL AND last_legacy_hash IS NOT NULL",
        2,
    )
    .await;
    reverse.stop().await.unwrap();
    supra
        .batch_execute("UPDATE persons SET phone = '4429999999' WHERE first_name = 'Lucía'")
        .await
        .unwrap();
    (legacy, supra, forward)
}

/// Persons 1 and 2 synced, then a concurrent phone change on both sides of person 1 while the
/// SUPRA → legacy pipeline is stopped (so the SUPRA change is still in flight).
async fn concurrent_phone_change(
    env: &SyncEnv,
) -> (tokio_postgres::Client, tokio_postgres::Client) {
    let (legacy, supra, forward) = supra_change_in_flight(env).await;
    legacy
        .batch_execute(
            "UPDATE cf_quere_pro.persona SET prstelef = '4421111111' WHERE prsid = 1;
             UPDATE cf_quere_pro.persona SET prstelef = '4422222222' WHERE prsid = 2;",
        )
        .await
        .unwrap();
    wait_until("forward pipeline to process both updates", Duration::from_secs(60), || async {
        let n: i64 = supra
            .query_one(
                "SELECT count(*) FROM supra_sync.sync_log WHERE direction = 'legacy_to_supra' AND operation = 'update'",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        Ok(n == 2)
    })
    .await
    .unwrap();
    forward.stop().await.unwrap();
    (legacy, supra)
}

#[tokio::test]
async fn manual_policy_holds_only_the_conflicting_row() {
    let env = SyncEnv::new().await;
    let (legacy, supra) = concurrent_phone_change(&env).await;
    let conflict = supra
        .query_one(
            "SELECT entity_id::text, conflict_type::text, status::text, policy::text,
                    legacy_data->>'prstelef', supra_data->>'phone'
               FROM supra_sync.sync_conflicts",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(conflict.get::<_, String>(0), "1");
    assert_eq!(conflict.get::<_, String>(1), "concurrent_update");
    assert_eq!(conflict.get::<_, String>(2), "open");
    assert_eq!(conflict.get::<_, String>(3), "manual");
    assert_eq!(
        conflict.get::<_, Option<String>>(4).as_deref(),
        Some("4421111111"),
        "both images recorded"
    );
    assert_eq!(
        conflict.get::<_, Option<String>>(5).as_deref(),
        Some("4429999999")
    );
    // Person 1 was not overwritten; person 2 flowed on.
    let phones: Vec<(String, Option<String>)> = supra
        .query(
            "SELECT first_name, phone FROM persons ORDER BY first_name",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        phones,
        vec![
            ("Lucía".into(), Some("4429999999".into())),
            ("Pedro".into(), Some("4422222222".into()))
        ]
    );
    // The SUPRA side's change, arriving later, queues behind the open conflict: legacy keeps
    // its own value and nothing is lost.
    let reverse = env.start(Side::Supra);
    wait_count(&supra, "SELECT count(*) FROM supra_sync.held_changes", 1).await;
    reverse.stop().await.unwrap();
    let legacy_phone: Option<String> = legacy
        .query_one(
            "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(legacy_phone.as_deref(), Some("4421111111"));
    let held: i32 = supra
        .query_one("SELECT held_changes FROM supra_sync.sync_conflicts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 1);
    env.teardown().await;
}

#[tokio::test]
async fn legacy_wins_policy_converges_on_the_legacy_version_and_records_it() {
    let env = SyncEnv::with_persona_policy("legacy_wins").await;
    let (legacy, supra) = concurrent_phone_change(&env).await;
    // The forward change was applied over SUPRA's concurrent edit.
    let phone: Option<String> = supra
        .query_one("SELECT phone FROM persons WHERE first_name = 'Lucía'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(phone.as_deref(), Some("4421111111"));
    let row = supra
        .query_one(
            "SELECT status::text, resolution::text, resolved_by FROM supra_sync.sync_conflicts",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "resolved");
    assert_eq!(row.get::<_, String>(1), "legacy_wins");
    assert_eq!(row.get::<_, String>(2), "policy:legacy_wins");
    // The SUPRA change still in flight was superseded: it must not overwrite legacy.
    let reverse = env.start(Side::Supra);
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE direction = 'supra_to_legacy' AND status = 'skipped'",
        1,
    )
    .await;
    reverse.stop().await.unwrap();
    let legacy_phone: Option<String> = legacy
        .query_one(
            "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        legacy_phone.as_deref(),
        Some("4421111111"),
        "legacy wins on both sides"
    );
    let phone: Option<String> = supra
        .query_one("SELECT phone FROM persons WHERE first_name = 'Lucía'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(phone.as_deref(), Some("4421111111"));
    env.teardown().await;
}

/// A snapshot row that carries the image both sides last agreed on, of a row changed in SUPRA
/// since (the SUPRA change not yet on legacy), is stale, not a conflict: it is skipped, SUPRA
/// keeps its version, and that version then reaches legacy. Found by the kill -9 loop: a
/// re-read snapshot chunk opened a manual conflict on a row only SUPRA had changed.
#[tokio::test]
async fn a_stale_snapshot_row_of_a_row_changed_only_in_supra_is_not_a_conflict() {
    let env = SyncEnv::new().await;
    let (legacy, supra, forward) = supra_change_in_flight(&env).await;
    supra_sync_engine::snapshot::Snapshotter::request(&supra, &env.mappings, &["persona".into()])
        .await
        .unwrap();
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.snapshot_progress WHERE entity_type = 'persona' AND status = 'done'",
        1,
    )
    .await;
    let conflicts: i64 = supra
        .query_one("SELECT count(*) FROM supra_sync.sync_conflicts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(conflicts, 0, "no conflict for a row only SUPRA changed");
    let skipped: i64 = supra
        .query_one(
            "SELECT count(*) FROM supra_sync.sync_log
              WHERE entity_type = 'persona' AND entity_id = '1' AND source_xid = 0
                AND status = 'skipped' AND error_message LIKE 'unchanged since both sides last agreed%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(skipped, 1, "the snapshot row is logged as skipped");
    let phone: String = supra
        .query_one("SELECT phone FROM persons WHERE first_name = 'Lucía'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(phone, "4429999999", "SUPRA keeps its newer version");
    let reverse = env.start(Side::Supra);
    wait_count(
        &legacy,
        "SELECT count(*) FROM cf_quere_pro.persona WHERE prsid = 1 AND prstelef = '4429999999'",
        1,
    )
    .await;
    reverse.stop().await.unwrap();
    forward.stop().await.unwrap();
    env.teardown().await;
}

/// A conflict recorded for a row that already has an open one (opened meanwhile by the other
/// direction's pipeline, after this batch read the open conflicts) is that open conflict: the
/// change queues behind it instead of stopping the pipeline on `uq_sync_conflicts_open`.
#[tokio::test]
async fn a_second_conflict_on_a_row_with_an_open_one_is_the_open_one() {
    use supra_sync_engine::conflict::{self, Check, Current, Verdict};
    let env = SyncEnv::new().await;
    let supra = admin(&env).await;
    let check = Check {
        entity: "persona".into(),
        legacy_key: "7".into(),
        supra_id: uuid::Uuid::new_v4(),
        policy: supra_sync_mapping::ConflictPolicy::Manual,
        source: Side::Legacy,
        table: supra_sync_core::TableName::new("public", "persons"),
        key_columns: vec!["id".to_string()].into(),
        key_values: Vec::new(),
        columns: Vec::new().into(),
        incoming_row: None,
        incoming_hash: "incoming".into(),
        incoming_ts: chrono::Utc::now(),
        deleting: false,
    };
    let now = Current {
        hash: Some("changed in SUPRA".into()),
        image: None,
        commit_ts: Some(chrono::Utc::now()),
        read_at: None,
        last_origin: None,
    };
    let first = conflict::record(&supra, &check, &now, Verdict::Hold)
        .await
        .unwrap();
    let second = conflict::record(&supra, &check, &now, Verdict::Hold)
        .await
        .unwrap();
    assert_eq!(first, second, "the open conflict is reused");
    let open: i64 = supra
        .query_one(
            "SELECT count(*) FROM supra_sync.sync_conflicts WHERE entity_id = '7' AND status = 'open'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(open, 1);
    // A conflict decided by policy is a record of its own (resolved), never the open one.
    let resolved = conflict::record(&supra, &check, &now, Verdict::SkipResolved)
        .await
        .unwrap();
    assert_ne!(resolved, first);
    let status: String = supra
        .query_one(
            "SELECT status::text FROM supra_sync.sync_conflicts WHERE id = $1",
            &[&resolved],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "resolved");
    env.teardown().await;
}
