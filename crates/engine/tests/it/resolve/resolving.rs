//! Resolving manual conflicts: both databases end on the chosen version, the conflict row
//! says who/when/how, held changes are released, nothing echoes back; refusals change nothing.

use supra_sync_engine::resolve::{
    Choice, MergeSpec, ResolveError, ResolveOptions, execute::resolve, refresh::refresh,
};

use supra_sync_core::Side;

use super::scenario::{concurrent_edit, count, drain, log_of, one, operator};
use crate::support::{SyncEnv, wait_count};

const PHONES: (&str, &str) = (
    "UPDATE persons SET phone = '4429999999' WHERE first_name = 'Lucía'",
    "UPDATE cf_quere_pro.persona SET prstelef = '4421111111' WHERE prsid = 1;
     UPDATE cf_quere_pro.persona SET prstelef = '4422222222' WHERE prsid = 2;",
);

fn opts(choice: Choice, dry_run: bool) -> ResolveOptions {
    ResolveOptions {
        choice,
        by: "alice".into(),
        note: Some("called the customer".into()),
        dry_run,
    }
}

async fn conflict_id(supra: &tokio_postgres::Client) -> String {
    one(supra, "SELECT id::text FROM supra_sync.sync_conflicts")
        .await
        .unwrap()
}

#[tokio::test]
async fn supra_wins_writes_legacy_releases_held_changes_and_does_not_echo() {
    let env = SyncEnv::new().await;
    let (legacy, supra) = concurrent_edit(&env, PHONES.0, PHONES.1, 2, 1).await;
    let id = conflict_id(&supra).await;
    let mut op = operator(&env).await;

    // A dry run shows the write and changes nothing.
    let dry = resolve(&mut op, &id, &opts(Choice::SupraWins, true))
        .await
        .unwrap();
    assert!(dry.dry_run && dry.released.is_none());
    assert_eq!(
        dry.plan.supra_ops.len(),
        0,
        "SUPRA wins: SUPRA is not written"
    );
    assert!(
        dry.plan.statements[0].contains("INSERT INTO \"cf_quere_pro\".\"persona\""),
        "{:?}",
        dry.plan.statements
    );
    assert!(dry.plan.statements[0].contains("'4429999999'"));
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
        one(&supra, "SELECT status::text FROM supra_sync.sync_conflicts")
            .await
            .as_deref(),
        Some("open")
    );

    let done = resolve(&mut op, &id, &opts(Choice::SupraWins, false))
        .await
        .unwrap();
    let released = done.released.unwrap();
    assert_eq!(
        released.superseded, 1,
        "the held SUPRA change is the version just written"
    );
    assert_eq!(
        one(
            &legacy,
            "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 1"
        )
        .await
        .as_deref(),
        Some("4429999999")
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
    let row = supra
        .query_one(
            "SELECT status::text, resolution::text, resolved_by, resolution_note, resolved_at IS NOT NULL, held_changes
               FROM supra_sync.sync_conflicts",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "resolved");
    assert_eq!(row.get::<_, String>(1), "supra_wins");
    assert_eq!(row.get::<_, String>(2), "alice");
    assert_eq!(row.get::<_, String>(3), "called the customer");
    assert!(row.get::<_, bool>(4));
    assert_eq!(row.get::<_, i32>(5), 0);
    assert_eq!(
        count(&supra, "SELECT count(*) FROM supra_sync.held_changes").await,
        0
    );
    assert_eq!(
        count(&supra, "SELECT count(*) FROM supra_sync.sync_log WHERE status = 'skipped' AND error_message LIKE 'superseded by the resolution%'").await,
        1
    );

    // No echo: both sources run past the resolution; person 1 gets no new log row.
    let before = count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE entity_id = '1'",
    )
    .await;
    drain(&env, &legacy, &supra, 90).await;
    assert_eq!(
        count(
            &supra,
            "SELECT count(*) FROM supra_sync.sync_log WHERE entity_id = '1'"
        )
        .await,
        before,
        "{}",
        log_of(&supra, "1").await
    );
    assert_eq!(
        one(
            &legacy,
            "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 1"
        )
        .await
        .as_deref(),
        Some("4429999999")
    );

    // A resolved conflict is not resolved again.
    let e = resolve(&mut op, &id, &opts(Choice::LegacyWins, false))
        .await
        .unwrap_err();
    assert!(matches!(e, ResolveError::NotOpen { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("already resolved (supra_wins) by alice"),
        "{e}"
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
    env.teardown().await;
}

#[tokio::test]
async fn stale_conflicts_bad_input_and_unknown_ids_change_nothing() {
    let env = SyncEnv::new().await;
    let (legacy, supra) = concurrent_edit(&env, PHONES.0, PHONES.1, 2, 0).await;
    let id = conflict_id(&supra).await;
    let mut op = operator(&env).await;

    let e = resolve(
        &mut op,
        "00000000-0000-0000-0000-000000000000",
        &opts(Choice::LegacyWins, false),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    let e = resolve(&mut op, "not-an-id", &opts(Choice::LegacyWins, false))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("is not a conflict id"), "{e}");
    let spec = MergeSpec::parse("nickname=supra").unwrap();
    let e = resolve(&mut op, &id, &opts(Choice::Merge(spec), false))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("nickname is not a SUPRA column"),
        "{e}"
    );
    let spec = MergeSpec::parse("email=supra").unwrap();
    let e = resolve(&mut op, &id, &opts(Choice::Merge(spec), false))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no side chosen for the differing column(s) phone"),
        "{e}"
    );

    // The legacy row moves again after the conflict: resolving would overwrite it unseen.
    legacy
        .batch_execute(
            "UPDATE cf_quere_pro.persona SET prsemail = 'nueva@example.mx' WHERE prsid = 1",
        )
        .await
        .unwrap();
    let e = resolve(&mut op, &id[..8], &opts(Choice::SupraWins, false))
        .await
        .unwrap_err();
    assert!(matches!(e, ResolveError::Stale { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("legacy row changed since the conflict was recorded (prsemail)"),
        "{e}"
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
        one(&supra, "SELECT status::text FROM supra_sync.sync_conflicts")
            .await
            .as_deref(),
        Some("open")
    );

    // Recording the rows as they are now makes it resolvable again.
    let refreshed = refresh(&mut op, &id).await.unwrap();
    assert_eq!(
        refreshed.moved,
        vec![("legacy".to_string(), vec!["prsemail".to_string()])]
    );
    let done = resolve(&mut op, &id, &opts(Choice::LegacyWins, false))
        .await
        .unwrap();
    assert_eq!(done.resolution, "legacy_wins");
    assert_eq!(
        one(
            &supra,
            "SELECT phone || ' ' || email FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("4421111111 nueva@example.mx")
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
    env.teardown().await;
}

#[tokio::test]
async fn merge_takes_each_column_from_its_side_on_both_databases() {
    let env = SyncEnv::new().await;
    let (legacy, supra) = concurrent_edit(
        &env,
        "UPDATE persons SET phone = '4429999999', email = 'supra@example.mx' WHERE first_name = 'Lucía'",
        "UPDATE cf_quere_pro.persona SET prsemail = 'legacy@example.mx', prstelef = '4421111111' WHERE prsid = 1",
        1,
        1,
    )
    .await;
    let id = conflict_id(&supra).await;
    let mut op = operator(&env).await;
    // Resolved while the service runs: its pipelines keep their origins attached, so the
    // resolution writes under the operator origin, which both sources drop as well.
    let forward = env.start(Side::Legacy);
    let reverse = env.start(Side::Supra);
    for (client, side) in [(&legacy, Side::Legacy), (&supra, Side::Supra)] {
        let slot = env.names.slot(side);
        wait_count(
            client,
            &format!(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}' AND active"
            ),
            1,
        )
        .await;
    }
    // `prsemail` is a legacy column: it stands for the SUPRA column it feeds (email).
    let spec = MergeSpec::parse("phone=supra, prsemail=legacy").unwrap();
    let done = resolve(&mut op, &id, &opts(Choice::Merge(spec), false))
        .await
        .unwrap();
    assert_eq!(done.resolution, "merged");
    assert_eq!(done.origins, vec![env.names.reconcile_origin(); 2]);
    assert_eq!(
        one(
            &legacy,
            "SELECT prstelef || ' ' || prsemail FROM cf_quere_pro.persona WHERE prsid = 1"
        )
        .await
        .as_deref(),
        Some("4429999999 legacy@example.mx")
    );
    assert_eq!(
        one(
            &supra,
            "SELECT phone || ' ' || email FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("4429999999 legacy@example.mx")
    );
    let conflicts = count(&supra, "SELECT count(*) FROM supra_sync.sync_conflicts").await;
    let logged = count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE entity_id = '1'",
    )
    .await;
    // The next edits flow normally: no false conflict, and nothing of the resolution comes
    // back (both sources have passed it once they delivered these).
    legacy
        .batch_execute("UPDATE cf_quere_pro.persona SET prstelef = '4423333333' WHERE prsid = 1")
        .await
        .unwrap();
    wait_count(
        &supra,
        "SELECT count(*) FROM persons WHERE phone = '4423333333'",
        1,
    )
    .await;
    supra
        .batch_execute("UPDATE persons SET email = 'otro@example.mx' WHERE first_name = 'Pedro'")
        .await
        .unwrap();
    wait_count(
        &legacy,
        "SELECT count(*) FROM cf_quere_pro.persona WHERE prsemail = 'otro@example.mx'",
        1,
    )
    .await;
    forward.stop().await.unwrap();
    reverse.stop().await.unwrap();
    assert_eq!(
        count(
            &supra,
            "SELECT count(*) FROM supra_sync.sync_log WHERE entity_id = '1'"
        )
        .await,
        logged + 1,
        "only the new edit: {}",
        log_of(&supra, "1").await
    );
    assert_eq!(
        count(&supra, "SELECT count(*) FROM supra_sync.sync_conflicts").await,
        conflicts,
        "no false conflict"
    );
    env.teardown().await;
}

#[tokio::test]
async fn delete_vs_update_resolved_for_legacy_recreates_the_supra_row() {
    let env = SyncEnv::new().await;
    let (legacy, supra) = concurrent_edit(
        &env,
        "DELETE FROM persons WHERE first_name = 'Lucía'",
        "UPDATE cf_quere_pro.persona SET prstelef = '4421111111' WHERE prsid = 1",
        1,
        1,
    )
    .await;
    let row = supra
        .query_one(
            "SELECT conflict_type::text, supra_data IS NULL FROM supra_sync.sync_conflicts",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "update_missing");
    assert!(row.get::<_, bool>(1), "no SUPRA image: the row is gone");
    assert_eq!(
        count(
            &legacy,
            "SELECT count(*) FROM cf_quere_pro.persona WHERE prsid = 1"
        )
        .await,
        1,
        "the delete is held"
    );
    let id = conflict_id(&supra).await;
    let mut op = operator(&env).await;
    let spec = MergeSpec::parse("*=legacy").unwrap();
    let e = resolve(&mut op, &id, &opts(Choice::Merge(spec), false))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("a merge needs both rows"), "{e}");
    let done = resolve(&mut op, &id, &opts(Choice::LegacyWins, false))
        .await
        .unwrap();
    assert_eq!(
        done.released.unwrap().superseded,
        1,
        "the held delete is superseded"
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
    assert_eq!(
        one(
            &legacy,
            "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 1"
        )
        .await
        .as_deref(),
        Some("4421111111")
    );
    let before = count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE entity_id = '1'",
    )
    .await;
    drain(&env, &legacy, &supra, 92).await;
    assert_eq!(
        count(
            &supra,
            "SELECT count(*) FROM supra_sync.sync_log WHERE entity_id = '1'"
        )
        .await,
        before,
        "no echo: {}",
        log_of(&supra, "1").await
    );
    assert_eq!(
        count(
            &legacy,
            "SELECT count(*) FROM cf_quere_pro.persona WHERE prsid = 1"
        )
        .await,
        1
    );
    env.teardown().await;
}
