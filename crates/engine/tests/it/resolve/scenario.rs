//! Building blocks of the operator tests: two synced persons, concurrent edits while one
//! pipeline is stopped, and an [`Operator`] on the test's databases.

use std::time::Duration;

use supra_sync_core::Side;
use supra_sync_engine::resolve::Operator;
use supra_sync_testkit::wait_until;
use tokio_postgres::Client;

use crate::support::{SyncEnv, wait_count};

/// A SUPRA session that sees every tenant's rows.
pub async fn admin(env: &SyncEnv) -> Client {
    let c = env.supra.connect().await.unwrap();
    c.batch_execute("SET app.is_admin = 'true'").await.unwrap();
    c
}

/// The operator library on the test's databases.
pub async fn operator(env: &SyncEnv) -> Operator {
    Operator::connect(
        env.config(Side::Legacy),
        env.config(Side::Supra),
        env.mappings.clone(),
        env.names.clone(),
        "cea-queretaro".into(),
    )
    .await
    .unwrap()
}

/// The first column of the first row, as text.
pub async fn one(client: &Client, sql: &str) -> Option<String> {
    client
        .query_opt(sql, &[])
        .await
        .unwrap()
        .and_then(|r| r.get::<_, Option<String>>(0))
}

/// A count.
pub async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// Persons 1 (Lucía) and 2 (Pedro) synced, both versions recorded; then `supra_sql` runs on
/// SUPRA while the SUPRA → legacy pipeline is stopped and `legacy_sql` on legacy, and the
/// legacy → SUPRA pipeline processes `legacy_changes` changes. With `hold`, the SUPRA
/// changes are then delivered too (and held behind the conflict they meet). Both pipelines
/// are stopped on return.
pub async fn concurrent_edit(
    env: &SyncEnv,
    supra_sql: &str,
    legacy_sql: &str,
    legacy_changes: i64,
    hold: i64,
) -> (Client, Client) {
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(env).await;
    let forward = env.start(Side::Legacy);
    let reverse = env.start(Side::Supra);
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre, prstelef, prsemail) VALUES
               (1, 'F', 'Lucía', '4420000001', 'lucia@example.mx'),
               (2, 'F', 'Pedro', '4420000002', 'pedro@example.mx')",
        )
        .await
        .unwrap();
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_mappings WHERE last_synced_hash IS NOT NULL AND last_legacy_hash IS NOT NULL",
        2,
    )
    .await;
    reverse.stop().await.unwrap();
    supra.batch_execute(supra_sql).await.unwrap();
    let supra_edited = one(&supra, "SELECT pg_current_wal_lsn()::text")
        .await
        .unwrap();
    legacy.batch_execute(legacy_sql).await.unwrap();
    wait_until("the forward pipeline to process the legacy edits", Duration::from_secs(60), || async {
        let n = count(
            &supra,
            "SELECT count(*) FROM supra_sync.sync_log WHERE direction = 'legacy_to_supra' AND operation <> 'insert'",
        )
        .await;
        if n >= legacy_changes { Ok(true) } else { Err(n.to_string()) }
    })
    .await
    .unwrap();
    forward.stop().await.unwrap();
    if hold > 0 {
        let reverse = env.start(Side::Supra);
        wait_count(&supra, "SELECT count(*) FROM supra_sync.held_changes", hold).await;
        // Stop only once the slot confirmed the held changes: a held change writes nothing on
        // legacy, so only the slot remembers it was delivered.
        let slot = env.names.slot(Side::Supra);
        wait_count(
            &supra,
            &format!(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}' AND confirmed_flush_lsn >= '{supra_edited}'"
            ),
            1,
        )
        .await;
        reverse.stop().await.unwrap();
    }
    (legacy, supra)
}

/// Runs both pipelines until a fresh legacy insert reached SUPRA and a fresh SUPRA edit
/// reached legacy: everything committed before has been through both sources.
pub async fn drain(env: &SyncEnv, legacy: &Client, supra: &Client, marker: i32) {
    let forward = env.start(Side::Legacy);
    let reverse = env.start(Side::Supra);
    legacy
        .batch_execute(&format!(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES ({marker}, 'F', 'Marca')"
        ))
        .await
        .unwrap();
    wait_count(
        supra,
        &format!("SELECT count(*) FROM supra_sync.sync_mappings WHERE entity_type = 'persona' AND legacy_id = '{marker}' AND last_legacy_hash IS NOT NULL"),
        1,
    )
    .await;
    supra
        .execute(
            "UPDATE persons SET notes = 'x', email = $1 WHERE first_name = 'Marca'",
            &[&format!("m{marker}@example.mx")],
        )
        .await
        .unwrap();
    wait_count(
        legacy,
        &format!(
            "SELECT count(*) FROM cf_quere_pro.persona WHERE prsemail = 'm{marker}@example.mx'"
        ),
        1,
    )
    .await;
    forward.stop().await.unwrap();
    reverse.stop().await.unwrap();
}

/// The log rows of one legacy key (for assertion messages).
pub async fn log_of(supra: &Client, key: &str) -> String {
    supra
        .query(
            "SELECT id, direction::text, operation::text, status::text, COALESCE(error_message, ''), diff::text
               FROM supra_sync.sync_log WHERE entity_id = $1 ORDER BY id",
            &[&key],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "#{} {} {} {} {} {:?}\n",
                r.get::<_, i64>(0),
                r.get::<_, String>(1),
                r.get::<_, String>(2),
                r.get::<_, String>(3),
                r.get::<_, String>(4),
                r.get::<_, Option<String>>(5)
            )
        })
        .collect()
}

/// The shipped mappings with one line of `persona.toml` replaced.
pub fn persona_mappings(from: &str, to: &str) -> std::sync::Arc<supra_sync_mapping::MappingSet> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.file_name().is_some_and(|n| n == "persona.toml") {
            assert!(text.contains(from), "persona.toml has no {from:?}");
            text = text.replace(from, to);
        }
        files.push((path, text));
    }
    std::sync::Arc::new(supra_sync_mapping::MappingSet::from_sources(&files).unwrap())
}
