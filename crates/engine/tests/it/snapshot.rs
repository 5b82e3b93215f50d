//! The watermark snapshot: initial load in dependency order, consistent with concurrent
//! writes, resumable.

use std::time::Duration;

use supra_sync_core::Side;
use supra_sync_engine::snapshot::Snapshotter;
use supra_sync_testkit::wait_until;

use crate::support::{SyncEnv, wait_count};

async fn seed_people_and_contracts(legacy: &tokio_postgres::Client, persons: i64) {
    legacy
        .batch_execute(&format!(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnombre, prsnomape)
             SELECT g, CASE WHEN g % 7 = 0 THEN 'J' ELSE 'F' END, 'RFC' || lpad(g::text, 10, '0'),
                    'Nombre ' || g, 'Apellido Ñúñez ' || g
               FROM generate_series(1, {persons}) g;"
        ))
        .await
        .unwrap();
}

/// Waits until the persona snapshot is recorded as done.
async fn persona_snapshot_done(supra: &tokio_postgres::Client) {
    wait_until("persona snapshot done", Duration::from_secs(120), || async {
        let status: Option<String> = supra
            .query_opt("SELECT status::text FROM supra_sync.snapshot_progress WHERE entity_type = 'persona'", &[])
            .await
            .map_err(|e| e.to_string())?
            .map(|r| r.get(0));
        Ok(status.as_deref() == Some("done"))
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn snapshot_loads_existing_rows_while_writes_go_on() {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = env.supra.connect().await.unwrap();
    supra
        .batch_execute("SET app.is_admin = 'true'")
        .await
        .unwrap();
    seed_people_and_contracts(&legacy, 2_500).await;
    Snapshotter::request(&supra, &env.mappings, &["persona".to_string()])
        .await
        .unwrap();
    let running = env.start_with(Side::Legacy, |o| o.snapshot_chunk_rows = 300);

    // Concurrent writes while chunks are read: updates of rows not yet copied, deletes,
    // inserts past the current end of the table.
    let writer = {
        let legacy = env.legacy.connect().await.unwrap();
        tokio::spawn(async move {
            for i in 0..50i64 {
                let id = 2_500 - i * 37;
                legacy
                    .execute("UPDATE cf_quere_pro.persona SET prsnombre = 'Cambiado ' || $1::text WHERE prsid = $2::text::numeric", &[&i.to_string(), &id.to_string()])
                    .await
                    .unwrap();
                if i % 10 == 0 {
                    legacy
                        .execute(
                            "DELETE FROM cf_quere_pro.persona WHERE prsid = $1::text::numeric",
                            &[&(i + 100).to_string()],
                        )
                        .await
                        .unwrap();
                    legacy
                        .execute(
                            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES ($1::text::numeric, 'F', 'Nuevo')",
                            &[&(10_000 + i).to_string()],
                        )
                        .await
                        .unwrap();
                }
            }
        })
    };
    writer.await.unwrap();
    persona_snapshot_done(&supra).await;
    let expected: i64 = legacy
        .query_one("SELECT count(*) FROM cf_quere_pro.persona", &[])
        .await
        .unwrap()
        .get(0);
    wait_count(&supra, "SELECT count(*) FROM persons", expected).await;
    // Every legacy row is in SUPRA with its latest name (no stale snapshot image won).
    let legacy_names: Vec<(String, Option<String>)> = legacy
        .query(
            "SELECT prsid::text, prsnombre FROM cf_quere_pro.persona ORDER BY prsid",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let supra_names: Vec<(String, Option<String>)> = supra
        .query(
            "SELECT m.legacy_id::text, p.first_name FROM persons p
               JOIN supra_sync.sync_mappings m ON m.supra_id = p.id AND m.entity_type = 'persona'
              ORDER BY m.legacy_id::numeric",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let (mut legacy_names, mut supra_names) = (legacy_names, supra_names);
    legacy_names.sort();
    supra_names.sort();
    assert_eq!(legacy_names.len(), supra_names.len());
    let first_difference = legacy_names.iter().zip(&supra_names).find(|(l, s)| l != s);
    assert_eq!(first_difference, None, "legacy and SUPRA disagree");
    running.stop().await.unwrap();
    env.teardown().await;
}

/// Several full chunks and a partial one, nothing written meanwhile: every row arrives.
#[tokio::test]
async fn a_snapshot_of_many_chunks_copies_every_row() {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = env.supra.connect().await.unwrap();
    supra
        .batch_execute("SET app.is_admin = 'true'")
        .await
        .unwrap();
    seed_people_and_contracts(&legacy, 5_000).await;
    Snapshotter::request(&supra, &env.mappings, &["persona".to_string()])
        .await
        .unwrap();
    let running = env.start_with(Side::Legacy, |o| o.snapshot_chunk_rows = 1_200);
    persona_snapshot_done(&supra).await;
    let (copied, chunks): (i64, i64) = supra
        .query_one(
            "SELECT rows_copied, chunks_done FROM supra_sync.snapshot_progress WHERE entity_type = 'persona'",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    let ranges: Vec<String> = supra
        .query(
            "SELECT min(k)::text || '..' || max(k)::text FROM (
                SELECT legacy_id::bigint AS k, legacy_id::bigint - row_number() OVER (ORDER BY legacy_id::bigint) AS grp
                  FROM supra_sync.sync_mappings WHERE entity_type = 'persona') s GROUP BY grp ORDER BY min(k)",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        (copied, chunks),
        (5_000, 5),
        "rows read and chunks; keys in SUPRA: {ranges:?}"
    );
    wait_count(&supra, "SELECT count(*) FROM persons", 5_000).await;
    running.stop().await.unwrap();
    env.teardown().await;
}
