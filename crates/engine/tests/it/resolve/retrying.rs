//! Retrying failed changes: a change that failed under a faulty mapping applies once the
//! mapping is fixed, the log rows are linked, and a retried row is not retried again; a
//! change that failed on a unique violation is settled by resolving its conflict, after which
//! its retry is recognised as superseded.

use supra_sync_core::Side;
use supra_sync_engine::resolve::execute::resolve;
use supra_sync_engine::resolve::{Choice, ResolveError, ResolveOptions, replay::Replayer, retry};

use super::scenario::{admin, count, log_of, one, operator, persona_mappings};
use crate::support::{SyncEnv, wait_count};

async fn failed_id(supra: &tokio_postgres::Client) -> i64 {
    supra
        .query_one(
            "SELECT id FROM supra_sync.sync_log WHERE status = 'failed'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// persona with a mapping bug: the phone is read as a number.
const BUG: (&str, &str) = (
    "phone             = \"trim_nullif(prstelef)\"",
    "phone             = \"to_text(to_int(prstelef))\"",
);

#[tokio::test]
async fn after_a_mapping_fix_one_retry_applies_the_failed_change() {
    let env = SyncEnv::with_mappings(persona_mappings(BUG.0, BUG.1)).await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(&env).await;
    let forward = env.start(Side::Legacy);
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre, prstelef)
             VALUES (1, 'F', 'Lucía', '442-111-1111')",
        )
        .await
        .unwrap();
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE status = 'failed'",
        1,
    )
    .await;
    forward.stop().await.unwrap();
    let failed = failed_id(&supra).await;
    let mut op = operator(&env).await;
    let mut replayer = Replayer::new(&op);

    // Unknown rows are refused; retrying under the faulty mapping fails again (a new row).
    let e = retry::retry(&mut op, &mut replayer, 999_999)
        .await
        .unwrap_err();
    assert!(matches!(e, ResolveError::NotFound(_)), "{e}");
    let again = retry::retry(&mut op, &mut replayer, failed).await.unwrap();
    assert_eq!(again.status, "failed", "{}", log_of(&supra, "1").await);
    let second = again.new_id.unwrap();
    let e = retry::retry(&mut op, &mut replayer, failed)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("already retried (see #{second})")),
        "{e}"
    );
    drop(replayer);

    // The mapping is fixed: the retry of the retry applies.
    op.mappings = crate::support::mappings();
    let mut replayer = Replayer::new(&op);
    let done = retry::retry(&mut op, &mut replayer, second).await.unwrap();
    assert_eq!(done.status, "applied", "{:?}", done.error);
    assert_eq!(
        one(
            &supra,
            "SELECT phone FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("442-111-1111")
    );
    let chain: Vec<(i64, String, Option<i64>)> = supra
        .query("SELECT id, status::text, retry_of FROM supra_sync.sync_log WHERE entity_id = '1' ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert_eq!(
        chain,
        vec![
            (failed, "retried".into(), None),
            (second, "retried".into(), Some(failed)),
            (done.new_id.unwrap(), "applied".into(), Some(second)),
        ]
    );
    let e = retry::retry(&mut op, &mut replayer, done.new_id.unwrap())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is applied, not failed"), "{e}");
    env.teardown().await;
}

#[tokio::test]
async fn a_unique_violation_is_resolved_then_its_retry_is_superseded() {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(&env).await;
    let forward = env.start(Side::Legacy);
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre, prsnif) VALUES
               (1, 'F', 'Lucía', NULL), (2, 'F', 'Pedro', 'PEPE800101AB1')",
        )
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM persons", 2).await;
    // Legacy gives person 1 the RFC SUPRA has for person 2: UNIQUE (tenant_id, rfc).
    legacy
        .batch_execute("UPDATE cf_quere_pro.persona SET prsnif = 'PEPE800101AB1' WHERE prsid = 1")
        .await
        .unwrap();
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE status = 'failed'",
        1,
    )
    .await;
    legacy
        .batch_execute("UPDATE cf_quere_pro.persona SET prstelef = '4421111111' WHERE prsid = 1")
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM supra_sync.held_changes", 1).await;
    forward.stop().await.unwrap();
    assert_eq!(
        one(
            &supra,
            "SELECT conflict_type::text || ' ' || status::text FROM supra_sync.sync_conflicts"
        )
        .await
        .as_deref(),
        Some("unique_violation open")
    );
    let failed = failed_id(&supra).await;
    let id = one(&supra, "SELECT id::text FROM supra_sync.sync_conflicts")
        .await
        .unwrap();
    let mut op = operator(&env).await;
    let opts = |choice| ResolveOptions {
        choice,
        by: "bob".into(),
        note: None,
        dry_run: false,
    };
    // Legacy moved since (the held phone change): review first.
    let e = resolve(&mut op, &id, &opts(Choice::LegacyWins))
        .await
        .unwrap_err();
    assert!(matches!(e, ResolveError::Stale { .. }), "{e}");
    supra_sync_engine::resolve::refresh::refresh(&mut op, &id)
        .await
        .unwrap();
    // Still colliding: the write fails and nothing changes.
    let e = resolve(&mut op, &id, &opts(Choice::LegacyWins))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("persons_tenant_id_rfc_key"), "{e}");
    assert_eq!(
        one(&supra, "SELECT status::text FROM supra_sync.sync_conflicts")
            .await
            .as_deref(),
        Some("open")
    );
    // The operator fixes Pedro's RFC in SUPRA, then lets legacy win.
    supra
        .batch_execute("UPDATE persons SET rfc = 'PEPE800101AB2' WHERE first_name = 'Pedro'")
        .await
        .unwrap();
    let done = resolve(&mut op, &id, &opts(Choice::LegacyWins))
        .await
        .unwrap();
    assert_eq!(done.released.unwrap().superseded, 1);
    assert_eq!(
        one(
            &supra,
            "SELECT rfc || ' ' || phone FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("PEPE800101AB1 4421111111")
    );
    // The failed change is older than the resolution: its retry is recorded as superseded.
    let mut replayer = Replayer::new(&op);
    let retried = retry::retry(&mut op, &mut replayer, failed).await.unwrap();
    assert_eq!(retried.status, "skipped", "{}", log_of(&supra, "1").await);
    assert_eq!(
        count(
            &supra,
            "SELECT count(*) FROM supra_sync.sync_log WHERE status = 'failed'"
        )
        .await,
        0
    );
    assert_eq!(
        one(
            &supra,
            "SELECT rfc || ' ' || phone FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("PEPE800101AB1 4421111111")
    );
    env.teardown().await;
}

#[tokio::test]
async fn a_colliding_insert_is_created_by_its_resolution_and_then_syncs_normally() {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(&env).await;
    let forward = env.start(Side::Legacy);
    legacy
        .batch_execute("INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre, prsnif) VALUES (2, 'F', 'Pedro', 'PEPE800101AB1')")
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM persons", 1).await;
    // A new legacy person with the RFC SUPRA already has: it never reaches SUPRA.
    legacy
        .batch_execute("INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre, prsnif) VALUES (3, 'F', 'Rosa', 'PEPE800101AB1')")
        .await
        .unwrap();
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_conflicts WHERE conflict_type = 'unique_violation'",
        1,
    )
    .await;
    forward.stop().await.unwrap();
    assert_eq!(
        count(
            &supra,
            "SELECT count(*) FROM supra_sync.sync_mappings WHERE legacy_id = '3'"
        )
        .await,
        0
    );
    let id = one(&supra, "SELECT id::text FROM supra_sync.sync_conflicts")
        .await
        .unwrap();
    let mut op = operator(&env).await;
    supra
        .batch_execute("UPDATE persons SET rfc = NULL WHERE first_name = 'Pedro'")
        .await
        .unwrap();
    let opts = ResolveOptions {
        choice: Choice::LegacyWins,
        by: "bob".into(),
        note: None,
        dry_run: false,
    };
    resolve(&mut op, &id, &opts).await.unwrap();
    assert_eq!(
        one(&supra, "SELECT rfc FROM persons WHERE first_name = 'Rosa'")
            .await
            .as_deref(),
        Some("PEPE800101AB1")
    );
    assert_eq!(
        count(&supra, "SELECT count(*) FROM supra_sync.sync_mappings WHERE legacy_id = '3' AND last_synced_hash IS NOT NULL").await,
        1,
        "the identity and its versions are recorded"
    );
    // Its next edit flows with no false conflict.
    legacy
        .batch_execute("UPDATE cf_quere_pro.persona SET prstelef = '4423333333' WHERE prsid = 3")
        .await
        .unwrap();
    let forward = env.start(Side::Legacy);
    wait_count(
        &supra,
        "SELECT count(*) FROM persons WHERE phone = '4423333333'",
        1,
    )
    .await;
    forward.stop().await.unwrap();
    assert_eq!(
        count(&supra, "SELECT count(*) FROM supra_sync.sync_conflicts").await,
        1
    );
    env.teardown().await;
}
