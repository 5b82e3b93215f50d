//! Cutover stages: persona and contrato walk shadow → dual → supra_primary → legacy_readonly
//! under workloads on both sides, and the direction and conflict behaviour follow the stage;
//! transitions whose preconditions fail are refused with every reason.

use supra_sync_core::Side;
use supra_sync_engine::stage::Stage;
use supra_sync_engine::stage::transition::{self, StageError, Transition};
use tokio_postgres::Client;

use crate::reconcile::{admin, assert_clean, load_base, reconcile};
use crate::support::{RunningPipeline, SyncEnv, wait_count};

/// The bidirectional entities (persona, ptoserv, contado, contrato, orden: they depend on
/// each other), dependencies first.
fn walk(env: &SyncEnv) -> Vec<String> {
    env.mappings
        .entities()
        .iter()
        .filter(|e| e.direction() == supra_sync_mapping::Direction::Bidirectional)
        .map(|e| e.name().to_string())
        .collect()
}

async fn set(env: &SyncEnv, entity: &str, to: Stage) -> Result<Transition, StageError> {
    let mut client = env.supra.connect().await.unwrap();
    transition::set(
        &mut client,
        &env.mappings,
        entity,
        to,
        "test",
        &format!("walk to {to}"),
        false,
    )
    .await
}

/// Reconciles the walk's entities (clean), then moves them to `to` (dependencies first when
/// advancing, dependents first when going back).
async fn move_all(env: &SyncEnv, to: Stage, back: bool) {
    let mut order = walk(env);
    let names: Vec<&str> = order.iter().map(String::as_str).collect();
    assert_clean(&reconcile(env, &names, false).await);
    if back {
        order.reverse();
    }
    for e in &order {
        set(env, e, to)
            .await
            .unwrap_or_else(|err| panic!("{e}: {err}"));
    }
}

async fn phone(client: &Client, sql: &str) -> Option<String> {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

const LUCIA_LEGACY: &str = "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 1";
const PEDRO_LEGACY: &str = "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 2";

/// Waits until `sql` (a count) is 1.
async fn until(client: &Client, sql: &str) {
    wait_count(client, sql, 1).await;
}

/// Both sides edit Lucía's phone while SUPRA → legacy is stopped; the forward change meets
/// the SUPRA edit. Returns the restarted reverse pipeline.
async fn concurrent_edit(
    legacy: &Client,
    supra: &Client,
    reverse: RunningPipeline,
    env: &SyncEnv,
    (supra_phone, legacy_phone): (&str, &str),
) -> RunningPipeline {
    reverse.stop().await.unwrap();
    supra
        .execute(
            "UPDATE persons SET phone = $1 WHERE first_name = 'Lucía'",
            &[&supra_phone],
        )
        .await
        .unwrap();
    let before: i64 = supra
        .query_one("SELECT count(*) FROM supra_sync.sync_conflicts", &[])
        .await
        .unwrap()
        .get(0);
    legacy
        .execute(
            "UPDATE cf_quere_pro.persona SET prstelef = $1 WHERE prsid = 1",
            &[&legacy_phone],
        )
        .await
        .unwrap();
    wait_count(
        supra,
        "SELECT count(*) FROM supra_sync.sync_conflicts",
        before + 1,
    )
    .await;
    env.start(Side::Supra)
}

#[tokio::test]
async fn persona_and_contrato_walk_through_the_stages() {
    // persona decides conflicts by legacy_wins (flipped at supra_primary); contrato is manual.
    let env = SyncEnv::with_persona_policy("legacy_wins").await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(&env).await;
    let forward = env.start(Side::Legacy);
    let mut reverse = env.start(Side::Supra);
    load_base(&env, &legacy, &supra).await;

    // ---- shadow: legacy → SUPRA only; SUPRA is a read-only copy.
    move_all(&env, Stage::Shadow, true).await;
    legacy
        .batch_execute(
            "UPDATE cf_quere_pro.persona SET prstelef = '4421000001' WHERE prsid = 1;
             UPDATE cf_quere_pro.contrato SET cnttobserv = 'visto en legacy' WHERE cnttnum = 30;",
        )
        .await
        .unwrap();
    until(
        &supra,
        "SELECT count(*) FROM persons WHERE phone = '4421000001'",
    )
    .await;
    until(
        &supra,
        "SELECT count(*) FROM contracts WHERE notes = 'visto en legacy'",
    )
    .await;
    supra
        .batch_execute("UPDATE persons SET phone = '4422000002' WHERE first_name = 'Pedro'")
        .await
        .unwrap();
    until(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE entity_type = 'persona' AND direction = 'supra_to_legacy'
            AND status = 'skipped' AND error_message LIKE 'stage shadow:%'",
    )
    .await;
    assert_eq!(
        phone(&legacy, PEDRO_LEGACY).await.as_deref(),
        Some("4420000002")
    );
    // The SUPRA edit is a difference; --fix re-applies legacy, the system of record.
    let fixed = reconcile(&env, &["persona"], true).await;
    assert_clean(&fixed);
    assert_eq!(
        fixed.entities[0].fixed[0].fix.as_deref(),
        Some("fixed: re-synced legacy → supra")
    );
    until(
        &supra,
        "SELECT count(*) FROM persons WHERE first_name = 'Pedro' AND phone = '4420000002'",
    )
    .await;

    // ---- dual: both ways; persona's own policy (legacy_wins).
    move_all(&env, Stage::Dual, false).await;
    supra
        .batch_execute("UPDATE persons SET phone = '4423000002' WHERE first_name = 'Pedro'")
        .await
        .unwrap();
    until(
        &legacy,
        "SELECT count(*) FROM cf_quere_pro.persona WHERE prsid = 2 AND prstelef = '4423000002'",
    )
    .await;
    supra
        .batch_execute("UPDATE contracts SET notes = 'visto en SUPRA' WHERE contract_number = '31'")
        .await
        .unwrap();
    until(&legacy, "SELECT count(*) FROM cf_quere_pro.contrato WHERE cnttnum = 31 AND cnttobserv = 'visto en SUPRA'").await;
    reverse = concurrent_edit(&legacy, &supra, reverse, &env, ("4424000001", "4425000001")).await;
    let resolution: String = supra
        .query_one("SELECT resolution::text FROM supra_sync.sync_conflicts ORDER BY detected_at DESC LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(resolution, "legacy_wins");
    until(
        &supra,
        "SELECT count(*) FROM persons WHERE first_name = 'Lucía' AND phone = '4425000001'",
    )
    .await;
    until(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE entity_type = 'persona' AND entity_id = '1'
            AND direction = 'supra_to_legacy' AND status = 'skipped' AND error_message LIKE 'superseded%'",
    )
    .await;
    assert_eq!(
        phone(&legacy, LUCIA_LEGACY).await.as_deref(),
        Some("4425000001")
    );

    // ---- supra_primary: both ways, the default policy flips; manual stays manual.
    move_all(&env, Stage::SupraPrimary, false).await;
    let shown = transition::overview(&supra, &env.mappings).await.unwrap();
    let policy = |e: &str| shown.iter().find(|r| r.entity == e).unwrap().policy;
    assert_eq!(
        (policy("persona"), policy("contrato")),
        ("supra_wins", "manual")
    );
    reverse = concurrent_edit(&legacy, &supra, reverse, &env, ("4426000001", "4427000001")).await;
    let resolution: String = supra
        .query_one("SELECT resolution::text FROM supra_sync.sync_conflicts ORDER BY detected_at DESC LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(resolution, "supra_wins");
    // SUPRA's version is kept and flows back to legacy.
    until(
        &legacy,
        "SELECT count(*) FROM cf_quere_pro.persona WHERE prsid = 1 AND prstelef = '4426000001'",
    )
    .await;
    assert_eq!(
        phone(
            &supra,
            "SELECT phone FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("4426000001")
    );
    // An open (manual) conflict on contrato blocks its next transition, by name.
    let all = walk(&env);
    let names: Vec<&str> = all.iter().map(String::as_str).collect();
    assert_clean(&reconcile(&env, &names, false).await);
    for e in names.iter().filter(|e| !["contrato", "orden"].contains(e)) {
        set(&env, e, Stage::LegacyReadonly).await.unwrap();
    }
    let open: String = supra
        .query_one(
            "INSERT INTO supra_sync.sync_conflicts (entity_type, entity_id, direction, legacy_data, supra_data, conflict_type, policy)
             VALUES ('contrato', '30', 'legacy_to_supra', '{}', '{}', 'concurrent_update', 'manual') RETURNING id::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    match set(&env, "contrato", Stage::LegacyReadonly).await {
        Err(StageError::Refused { reasons, .. }) => {
            assert!(
                reasons
                    .iter()
                    .any(|r| r.contains(&open) && r.contains("key 30")),
                "{reasons:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    supra
        .execute(
            "UPDATE supra_sync.sync_conflicts SET status = 'resolved', resolution = 'manual', resolved_by = 'test',
                    resolved_at = now() WHERE id = $1::text::uuid",
            &[&open],
        )
        .await
        .unwrap();
    set(&env, "contrato", Stage::LegacyReadonly).await.unwrap();
    set(&env, "orden", Stage::LegacyReadonly).await.unwrap();

    // ---- legacy_readonly: SUPRA → legacy only.
    supra
        .batch_execute("UPDATE persons SET phone = '4428000002' WHERE first_name = 'Pedro'")
        .await
        .unwrap();
    until(
        &legacy,
        "SELECT count(*) FROM cf_quere_pro.persona WHERE prsid = 2 AND prstelef = '4428000002'",
    )
    .await;
    legacy
        .batch_execute("UPDATE cf_quere_pro.persona SET prstelef = '4429000001' WHERE prsid = 1")
        .await
        .unwrap();
    until(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE entity_type = 'persona' AND entity_id = '1'
            AND status = 'skipped' AND error_message LIKE 'stage legacy_readonly:%'",
    )
    .await;
    assert_eq!(
        phone(
            &supra,
            "SELECT phone FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("4426000001")
    );
    // A write to read-only legacy is a difference; --fix restores legacy from SUPRA.
    let fixed = reconcile(&env, &["persona"], true).await;
    assert_clean(&fixed);
    assert_eq!(
        phone(&legacy, LUCIA_LEGACY).await.as_deref(),
        Some("4426000001")
    );

    let history = transition::history(&supra, "persona").await.unwrap();
    let steps: Vec<(Option<&str>, &str)> = history
        .iter()
        .map(|h| (h.from.as_deref(), h.to.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (None, "dual"),
            (Some("dual"), "shadow"),
            (Some("shadow"), "dual"),
            (Some("dual"), "supra_primary"),
            (Some("supra_primary"), "legacy_readonly")
        ]
    );
    assert!(history.iter().all(|h| h.changed_by == "test"));
    assert_eq!(history[2].reason, "walk to dual");
    reverse.stop().await.unwrap();
    forward.stop().await.unwrap();
    env.teardown().await;
}

#[tokio::test]
async fn transitions_are_refused_with_every_reason() {
    let env = SyncEnv::new().await;
    let supra = admin(&env).await;
    let conflict: String = supra
        .query_one(
            "INSERT INTO supra_sync.sync_conflicts (entity_type, entity_id, direction, legacy_data, conflict_type, policy)
             VALUES ('persona', '7', 'legacy_to_supra', '{}', 'concurrent_update', 'manual') RETURNING id::text",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    supra
        .batch_execute(
            "INSERT INTO supra_sync.sync_log (entity_type, entity_id, direction, operation, status, error_message)
             VALUES ('persona', '8', 'legacy_to_supra', 'update', 'failed', 'boom')",
        )
        .await
        .unwrap();
    let Err(StageError::Refused { from, reasons, .. }) =
        set(&env, "persona", Stage::SupraPrimary).await
    else {
        panic!("expected a refusal");
    };
    assert_eq!(from, Stage::Dual, "the default of a bidirectional entity");
    let all = reasons.join("\n");
    assert!(
        all.contains(&format!("1 open conflict(s) on persona: {conflict} (key 7")),
        "{all}"
    );
    assert!(
        all.contains("1 failed change(s) of persona in sync_log (key 8: boom)"),
        "{all}"
    );
    assert!(all.contains("no reconciliation of persona yet"), "{all}");

    let Err(StageError::Refused { reasons, .. }) = set(&env, "contrato", Stage::SupraPrimary).await
    else {
        panic!("expected a refusal");
    };
    assert!(
        reasons.iter().any(|r| r == "contrato depends on persona, which is at dual: move persona to supra_primary first"),
        "{reasons:?}"
    );
    let Err(StageError::Refused { reasons, .. }) =
        set(&env, "persona", Stage::LegacyReadonly).await
    else {
        panic!("expected a refusal");
    };
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("the next stage after dual is supra_primary")),
        "{reasons:?}"
    );
    let Err(StageError::Refused { reasons, .. }) = set(&env, "persona", Stage::Shadow).await else {
        panic!("expected a refusal");
    };
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("contrato (at dual) depends on persona")),
        "{reasons:?}"
    );
    assert!(matches!(
        set(&env, "factura", Stage::Dual).await,
        Err(StageError::NotAllowed { .. })
    ));
    let Err(StageError::Refused { reasons, .. }) = set(&env, "factura", Stage::Retired).await
    else {
        panic!("expected a refusal");
    };
    assert!(
        reasons
            .iter()
            .any(|r| r == "opecargest (at shadow) depends on factura: retire it first"),
        "{reasons:?}"
    );
    // Nothing was recorded; a forced transition is, with what it overrode.
    assert!(
        transition::history(&supra, "persona")
            .await
            .unwrap()
            .is_empty()
    );
    let mut client = env.supra.connect().await.unwrap();
    let forced = transition::set(
        &mut client,
        &env.mappings,
        "persona",
        Stage::Shadow,
        "ops",
        "incident 42",
        true,
    )
    .await
    .unwrap();
    assert!(!forced.overridden.is_empty());
    let history = transition::history(&supra, "persona").await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(
        history[1].reason.starts_with("incident 42 [forced past: "),
        "{}",
        history[1].reason
    );
    assert!(matches!(
        set(&env, "persona", Stage::Shadow).await,
        Err(StageError::Unchanged { .. })
    ));
    env.teardown().await;
}
