//! SUPRA domain events: appended in the apply transaction for configured entities only, one
//! per applied change (also when one batch changes a row several times).

use serde_json::Value as Json;
use supra_sync_core::Side;

use crate::reconcile::admin;
use crate::support::{SyncEnv, wait_count};

async fn events(supra: &tokio_postgres::Client) -> Vec<(String, String, Json, Json)> {
    supra
        .query(
            "SELECT event_type::text, aggregate_type::text, payload::text, metadata::text
               FROM domain_events ORDER BY created_at, (metadata->>'seq')::int",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                serde_json::from_str(r.get::<_, &str>(2)).unwrap(),
                serde_json::from_str(r.get::<_, &str>(3)).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn applied_changes_append_domain_events_for_configured_entities() {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(&env).await;
    let forward = env.start_with(Side::Legacy, |o| o.domain_events = vec!["persona".into()]);
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre, prstelef, prsfecreg, prshsthora)
             VALUES (1, 'F', 'Lucía', '4420000001', '2019-03-04 10:11:12', '2024-01-01 00:00:00');
             INSERT INTO cf_quere_pro.direccion (dirid, dirtexto) VALUES (5, 'Av. Universidad');",
        )
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM domain_events", 1).await;
    legacy
        .batch_execute("UPDATE cf_quere_pro.persona SET prstelef = '4421111111' WHERE prsid = 1")
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM domain_events", 2).await;
    // One source transaction changing the row twice, then deleting it: one event each.
    legacy
        .batch_execute(
            "BEGIN;
             UPDATE cf_quere_pro.persona SET prsnombre = 'Lucía María' WHERE prsid = 1;
             UPDATE cf_quere_pro.persona SET prstelef = NULL WHERE prsid = 1;
             DELETE FROM cf_quere_pro.persona WHERE prsid = 1;
             COMMIT;",
        )
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM domain_events", 5).await;
    forward.stop().await.unwrap();

    let all = events(&supra).await;
    let types: Vec<&str> = all.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        types,
        [
            "PersonCreated",
            "PersonUpdated",
            "PersonUpdated",
            "PersonUpdated",
            "PersonDeleted"
        ]
    );
    assert!(all.iter().all(|e| e.1 == "person"), "no Address events");
    let created = &all[0].2;
    assert_eq!(created["name"]["new"], "Lucía");
    assert_eq!(
        created["phone"],
        serde_json::json!({"old": null, "new": "4420000001"})
    );
    assert_eq!(
        all[1].2,
        serde_json::json!({"phone": {"old": "4420000001", "new": "4421111111"}}),
        "only the changed mapped column"
    );
    assert_eq!(all[2].2["first_name"]["new"], "Lucía María");
    assert_eq!(
        all[3].2["phone"],
        serde_json::json!({"old": "4421111111", "new": null})
    );
    let meta = &all[1].3;
    assert_eq!(meta["source"], "legacy");
    assert_eq!(meta["legacy_id"], "1");
    assert_eq!(meta["operation"], "update");
    assert_eq!(meta["origin"], env.names.origin(Side::Legacy));
    assert!(meta["lsn"].as_str().unwrap().contains('/'));
    assert!(meta["commit_ts"].is_string());
    // Atomic with the data: as many events as applied persona changes.
    let applied: i64 = supra
        .query_one(
            "SELECT count(*) FROM supra_sync.sync_log WHERE entity_type = 'persona' AND status = 'applied'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied, 5);
    let id: String = supra
        .query_one("SELECT DISTINCT aggregate_id::text FROM domain_events", &[])
        .await
        .unwrap()
        .get(0);
    let mapped: String = supra
        .query_one(
            "SELECT supra_id::text FROM supra_sync.sync_mappings WHERE entity_type = 'persona' AND legacy_id = '1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(id, mapped);
    env.teardown().await;
}
