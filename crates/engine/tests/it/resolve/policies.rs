//! Automatic policies on real concurrent edits: the final state of both databases and the
//! recorded conflict (resolved by `policy:<name>`), for the policies and conflict shapes not
//! covered in `conflicts.rs`.

use supra_sync_core::Side;

use super::scenario::{concurrent_edit, count, one};
use crate::support::{SyncEnv, wait_count};

async fn conflict(supra: &tokio_postgres::Client) -> (String, String, String, String) {
    let r = supra
        .query_one(
            "SELECT conflict_type::text, status::text, resolution::text, resolved_by
               FROM supra_sync.sync_conflicts ORDER BY detected_at LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2), r.get(3))
}

/// Delivers the SUPRA side's pending changes and waits for `n` reverse log rows.
async fn deliver_supra(env: &SyncEnv, supra: &tokio_postgres::Client, n: i64) {
    let reverse = env.start(Side::Supra);
    wait_count(
        supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE direction = 'supra_to_legacy' AND operation <> 'insert'",
        n,
    )
    .await;
    reverse.stop().await.unwrap();
}

#[tokio::test]
async fn supra_wins_keeps_the_supra_version_on_both_sides() {
    let env = SyncEnv::with_persona_policy("supra_wins").await;
    let (legacy, supra) = concurrent_edit(
        &env,
        "UPDATE persons SET phone = '4429999999' WHERE first_name = 'Lucía'",
        "UPDATE cf_quere_pro.persona SET prstelef = '4421111111' WHERE prsid = 1",
        1,
        0,
    )
    .await;
    // The legacy change met SUPRA's concurrent edit and was not applied.
    assert_eq!(
        conflict(&supra).await,
        (
            "concurrent_update".into(),
            "resolved".into(),
            "supra_wins".into(),
            "policy:supra_wins".into()
        )
    );
    assert_eq!(
        one(
            &supra,
            "SELECT phone FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("4429999999")
    );
    // SUPRA's change, delivered later, overwrites legacy: both sides hold the SUPRA version.
    deliver_supra(&env, &supra, 1).await;
    assert_eq!(
        one(
            &legacy,
            "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 1"
        )
        .await
        .as_deref(),
        Some("4429999999")
    );
    // Each side's change met the other's: every record is resolved by the policy.
    assert_eq!(
        count(&supra, "SELECT count(*) FROM supra_sync.sync_conflicts WHERE resolved_by <> 'policy:supra_wins' OR resolution <> 'supra_wins'").await,
        0
    );
    env.teardown().await;
}

#[tokio::test]
async fn newest_wins_takes_the_later_commit_on_both_sides() {
    let env = SyncEnv::with_persona_policy("newest_wins").await;
    // SUPRA edits first, legacy later: legacy is newer.
    let (legacy, supra) = concurrent_edit(
        &env,
        "UPDATE persons SET phone = '4429999999' WHERE first_name = 'Lucía'",
        "SELECT pg_sleep(0.05); UPDATE cf_quere_pro.persona SET prstelef = '4421111111' WHERE prsid = 1",
        1,
        0,
    )
    .await;
    assert_eq!(
        conflict(&supra).await,
        (
            "concurrent_update".into(),
            "resolved".into(),
            "legacy_wins".into(),
            "policy:newest_wins".into()
        )
    );
    let ts = supra
        .query_one(
            "SELECT legacy_commit_ts > supra_commit_ts FROM supra_sync.sync_conflicts",
            &[],
        )
        .await
        .unwrap();
    assert!(ts.get::<_, bool>(0), "both commit times are recorded");
    deliver_supra(&env, &supra, 1).await;
    assert_eq!(
        one(
            &supra,
            "SELECT phone FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("4421111111")
    );
    assert_eq!(
        one(
            &legacy,
            "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 1"
        )
        .await
        .as_deref(),
        Some("4421111111")
    );
    assert_eq!(
        one(&supra, "SELECT status::text FROM supra_sync.sync_log WHERE direction = 'supra_to_legacy' AND operation = 'update'").await.as_deref(),
        Some("skipped"),
        "the older SUPRA change is superseded, not applied"
    );
    env.teardown().await;
}

#[tokio::test]
async fn manual_holds_only_the_conflicting_person_until_resolved() {
    let env = SyncEnv::new().await;
    let (legacy, supra) = concurrent_edit(
        &env,
        "UPDATE persons SET phone = '4429999999' WHERE first_name = 'Lucía'",
        "UPDATE cf_quere_pro.persona SET prstelef = '4421111111' WHERE prsid = 1",
        1,
        1,
    )
    .await;
    // More edits on both sides: person 1's queue behind the conflict, person 2's flow.
    let forward = env.start(Side::Legacy);
    let reverse = env.start(Side::Supra);
    legacy
        .batch_execute(
            "UPDATE cf_quere_pro.persona SET prsemail = 'l1@example.mx' WHERE prsid = 1;
             UPDATE cf_quere_pro.persona SET prsemail = 'l2@example.mx' WHERE prsid = 2;",
        )
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM supra_sync.held_changes", 2).await;
    wait_count(
        &supra,
        "SELECT count(*) FROM persons WHERE email = 'l2@example.mx'",
        1,
    )
    .await;
    supra
        .batch_execute("UPDATE persons SET curp = 'PEPE800101HQTRRR09' WHERE first_name = 'Pedro'")
        .await
        .unwrap();
    wait_count(
        &legacy,
        "SELECT count(*) FROM cf_quere_pro.persona WHERE prscurp = 'PEPE800101HQTRRR09'",
        1,
    )
    .await;
    forward.stop().await.unwrap();
    reverse.stop().await.unwrap();
    assert_eq!(
        one(
            &supra,
            "SELECT email FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("lucia@example.mx")
    );
    assert_eq!(
        one(
            &supra,
            "SELECT held_changes::text FROM supra_sync.sync_conflicts"
        )
        .await
        .as_deref(),
        Some("2")
    );
    env.teardown().await;
}

/// SUPRA's concurrent delete arrives after legacy's update won (and re-created the SUPRA row):
/// it is superseded, so the legacy row stays.
#[tokio::test]
async fn delete_vs_update_under_legacy_wins_keeps_the_legacy_row() {
    let env = SyncEnv::with_persona_policy("legacy_wins").await;
    let (legacy, supra) = concurrent_edit(
        &env,
        "DELETE FROM persons WHERE first_name = 'Lucía'",
        "UPDATE cf_quere_pro.persona SET prstelef = '4421111111' WHERE prsid = 1",
        1,
        0,
    )
    .await;
    assert_eq!(
        conflict(&supra).await,
        (
            "update_missing".into(),
            "resolved".into(),
            "legacy_wins".into(),
            "policy:legacy_wins".into()
        )
    );
    assert_eq!(
        one(
            &supra,
            "SELECT phone FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("4421111111")
    );
    deliver_supra(&env, &supra, 1).await;
    assert_eq!(
        count(
            &legacy,
            "SELECT count(*) FROM cf_quere_pro.persona WHERE prsid = 1"
        )
        .await,
        1,
        "{}",
        super::scenario::log_of(&supra, "1").await
    );
    env.teardown().await;
}
