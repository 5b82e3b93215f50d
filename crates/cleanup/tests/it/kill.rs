//! kill -9 during apply: the apply runs in a child process (this test binary re-executed on
//! the ignored test `kill::child_apply`), is SIGKILLed twice at different points, and a
//! final apply in-process must produce exactly what an uninterrupted run produces.

use std::process::{Command, Stdio};
use std::time::Duration;

use supra_sync_cleanup::{Cleanup, Phase, all_passed};
use supra_sync_testkit::wait_until;

use crate::fixture::{self, Shape, count, dump, quiet};

const CONN: &str = "SUPRA_SYNC_CLEANUP_CHILD_CONN";
const DIR: &str = "SUPRA_SYNC_CLEANUP_CHILD_DIR";
const PHASE: &str = "SUPRA_SYNC_CLEANUP_CHILD_PHASE";

/// The child: applies a phase slowly. Does nothing unless started by a parent test.
#[tokio::test]
#[ignore = "child process of the kill -9 tests"]
async fn child_apply() {
    let (Ok(conn), Ok(dir)) = (std::env::var(CONN), std::env::var(DIR)) else {
        return;
    };
    let phase: Phase = std::env::var(PHASE)
        .unwrap_or_else(|_| "1".into())
        .parse()
        .unwrap();
    let mut config = fixture::config("child");
    config.archive_dir = dir.into();
    config.drops_per_second = std::num::NonZeroU32::new(40).unwrap();
    let cleanup = Cleanup::connect(&conn, config).await.unwrap();
    let _ = cleanup.apply(phase, &quiet).await;
}

pub fn spawn_child(conn: &str, dir: &std::path::Path, phase: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill::child_apply",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CONN, conn)
        .env(DIR, dir)
        .env(PHASE, phase)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

pub async fn wait_lock_free(client: &tokio_postgres::Client) {
    wait_until("the killed run's session to end", Duration::from_secs(30), || async {
        Ok(count(client, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'supra-sync cleanup' AND datname = current_database()").await == 0)
    })
    .await
    .unwrap();
}

async fn scalar_or_zero(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(0)
}

#[tokio::test]
async fn kill_9_during_apply_1_resumes_to_the_same_result() {
    let shape = Shape {
        deuda: 150,
        aux: 30,
        bb: 6,
        every: 7,
        padding: 0,
    };
    let reference = fixture::database("kill_ref", shape).await;
    let victim = fixture::database("kill_victim", shape).await;

    // Uninterrupted run.
    let reference_cleanup =
        Cleanup::connect(&reference.connection_string, fixture::config("kill_ref"))
            .await
            .unwrap();
    reference_cleanup.apply(Phase::One, &quiet).await.unwrap();
    let ref_client = reference.connect().await.unwrap();
    let expected = dump(&ref_client, "cf_quere_pro").await;

    let client = victim.connect().await.unwrap();
    let dir = std::env::temp_dir().join(format!("supra-sync-cleanup-{}-kill", std::process::id()));
    // First kill: as soon as the migration ledger has rows.
    let mut child = spawn_child(&victim.connection_string, &dir, "1");
    wait_until("the child to migrate", Duration::from_secs(60), || async {
        Ok(scalar_or_zero(&client, "SELECT count(*) FROM supra_sync_cleanup.migrated").await > 0)
    })
    .await
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    wait_lock_free(&client).await;

    // Second kill: in the middle of the drops.
    let mut child = spawn_child(&victim.connection_string, &dir, "1");
    wait_until(
        "the child to drop some tables",
        Duration::from_secs(60),
        || async {
            Ok(scalar_or_zero(
                &client,
                "SELECT count(*) FROM supra_sync_cleanup.migrated WHERE dropped_at IS NOT NULL",
            )
            .await
                >= 40)
        },
    )
    .await
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    wait_lock_free(&client).await;
    let dropped = count(
        &client,
        "SELECT count(*) FROM supra_sync_cleanup.migrated WHERE dropped_at IS NOT NULL",
    )
    .await;
    assert!(
        dropped < 186,
        "the kill came too late to test anything ({dropped} dropped)"
    );

    let mut config = fixture::config("kill_victim");
    config.archive_dir = dir;
    let cleanup = Cleanup::connect(&victim.connection_string, config)
        .await
        .unwrap();
    cleanup.apply(Phase::One, &quiet).await.unwrap();
    assert_eq!(dump(&client, "cf_quere_pro").await, expected);
    let checks = cleanup.verify(Phase::One).await.unwrap();
    assert!(
        all_passed(&checks),
        "{}",
        checks
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let status = cleanup.status().await.unwrap();
    assert!(
        status.steps.iter().any(|s| s.attempts > 1),
        "some step must have been resumed: {status}"
    );
}

#[tokio::test]
async fn kill_9_during_phase_2_backfill_resumes_to_the_same_result() {
    const BIG: &str = "INSERT INTO cf_quere_pro.hisdirec
        SELECT 1, 'calle ' || g, g * 0.1, NULL, DATE '2020-01-01' + g % 1000, g, g % 2 = 0, 'U',
               TIMESTAMP '2020-01-01' + g * interval '1 minute'
          FROM generate_series(1, 80000) g";
    let reference = crate::fixture2::database("kill2_ref").await;
    let victim = crate::fixture2::database("kill2_victim").await;
    for db in [&reference, &victim] {
        db.connect()
            .await
            .unwrap()
            .batch_execute(BIG)
            .await
            .unwrap();
    }
    let expected = {
        let c = Cleanup::connect(&reference.connection_string, fixture::config("kill2_ref"))
            .await
            .unwrap();
        let _ = c.apply(Phase::Two, &quiet).await;
        dump(&reference.connect().await.unwrap(), "cf_quere_pro").await
    };
    let client = victim.connect().await.unwrap();
    let dir = std::env::temp_dir().join(format!("supra-sync-cleanup-{}-kill2", std::process::id()));
    let mut child = spawn_child(&victim.connection_string, &dir, "2");
    wait_until("the backfill of hisdirec to run", Duration::from_secs(60), || async {
        Ok(count(&client, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'supra-sync cleanup' AND state = 'active' AND query LIKE '%INSERT INTO \"cf_quere_pro\".audit_log%hisdirec%'").await > 0)
    })
    .await
    .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    wait_lock_free(&client).await;
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM supra_sync_cleanup.migrated WHERE source_table = 'hisdirec'"
        )
        .await,
        0,
        "killed inside the backfill"
    );

    let mut config = fixture::config("kill2_victim");
    config.archive_dir = dir;
    let cleanup = Cleanup::connect(&victim.connection_string, config)
        .await
        .unwrap();
    let _ = cleanup.apply(Phase::Two, &quiet).await;
    assert_eq!(dump(&client, "cf_quere_pro").await, expected);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM cf_quere_pro.audit_log WHERE al_table_name = 'direccion'"
        )
        .await,
        80_003
    );
    let checks = cleanup.verify(Phase::Two).await.unwrap();
    assert!(
        all_passed(&checks),
        "{}",
        checks
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
