//! Publish a workload through the running pipeline, then replay the topics into empty SUPRA
//! databases: the result equals a SUPRA built by a snapshot of the same legacy, row for row;
//! replaying again changes nothing; a replay killed mid-way resumes without loss or doubles.

use chrono::Utc;
use supra_sync_testkit::TestDatabase;

use crate::compare::Capture;
use crate::support::*;
use crate::workload;

/// `supra-sync replay --all …` into `supra` with `extra` flags.
fn replay(
    legacy: &TestDatabase,
    supra: &TestDatabase,
    cluster: &Cluster,
    group: &str,
    extra: &[&str],
) -> tokio::process::Command {
    let mut args = vec![
        "replay",
        "--all",
        "--until-high-watermark",
        "--group",
        group,
    ];
    args.extend_from_slice(extra);
    with_env(
        command(legacy, supra, &unique_prefix(), &args),
        &kafka_env(cluster),
    )
}

/// Builds SUPRA from legacy by the initial snapshot alone (no Kafka).
async fn snapshot_built(legacy: &TestDatabase) -> TestDatabase {
    let supra = supra_database().await;
    let prefix = unique_prefix();
    success(
        command(legacy, &supra, &prefix, &["setup"]),
        "setup (snapshot SUPRA)",
    )
    .await;
    let mut run = Running::spawn(command(legacy, &supra, &prefix, &["run"]), "snapshot-run");
    // Legacy is quiet: once every entity's snapshot is done, SUPRA holds all of it (no
    // marker here: it would change legacy after the replayed topics were written).
    snapshot_done(&admin(&supra).await, &mut run).await;
    run.stop().await;
    success(command(legacy, &supra, &prefix, &["teardown"]), "teardown").await;
    supra
}

/// Applied changes as (entity, key, operation, source LSN), sorted: equal lists mean every
/// change was applied exactly as often in both databases.
async fn applied(supra: &TestDatabase) -> Vec<String> {
    let c = admin(supra).await;
    let rows = c
        .query(
            "SELECT concat_ws(' ', entity_type, entity_id, operation, source_lsn) FROM supra_sync.sync_log
              WHERE status = 'applied' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_changes_replay_into_an_empty_supra_like_a_snapshot() {
    let since = Utc::now();
    let cluster = kafka();
    let legacy_db = legacy_database().await;

    // 1. The pipeline with Kafka: initial snapshot (op = r), then the workload, published
    //    before being applied.
    let live = supra_database().await;
    let prefix = unique_prefix();
    success(command(&legacy_db, &live, &prefix, &["setup"]), "setup").await;
    let mut run = Running::spawn(
        with_env(
            command(&legacy_db, &live, &prefix, &["run"]),
            &kafka_env(&cluster),
        ),
        "run",
    );
    let (mut legacy, live_c) = (legacy_db.connect().await.unwrap(), admin(&live).await);
    snapshot_done(&live_c, &mut run).await;
    workload::run(&mut legacy).await;
    marker_through(&legacy, &live_c, &mut run).await;
    run.stop().await;
    success(
        command(&legacy_db, &live, &prefix, &["teardown"]),
        "teardown",
    )
    .await;

    // 2. The reference: a SUPRA built by a snapshot of the same (final) legacy.
    let reference = Capture::read(&admin(&snapshot_built(&legacy_db).await).await).await;
    assert!(
        reference.rows() > 1_000,
        "the fixture fills SUPRA ({} rows)",
        reference.rows()
    );

    // 3. Replay every topic into an empty SUPRA.
    let replayed_db = supra_database().await;
    let out = success(
        replay(&legacy_db, &replayed_db, &cluster, "g1", &[]),
        "replay",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failed = failed_rows(&admin(&replayed_db).await).await;
    let live_failed = failed_rows(&live_c).await;
    assert!(
        failed.is_empty(),
        "{stdout}\nfailed: {failed:#?}\nlive pipeline failed: {live_failed:#?}"
    );
    assert!(
        stdout.contains("0 failed") && stdout.contains("0 undecodable"),
        "{stdout}"
    );
    let replayed = Capture::read(&admin(&replayed_db).await).await;
    let diff = reference.differences(&replayed, since);
    assert!(
        diff.is_empty(),
        "replayed SUPRA differs from the snapshot-built one:\n{}",
        diff.join("\n")
    );
    let c = admin(&replayed_db).await;
    let total = count(&c, "SELECT coalesce(sum(next_offset), 0)::bigint FROM supra_sync.kafka_offsets WHERE consumer_group = 'g1'").await;
    assert!(total > 1_000, "offsets cover every record ({total})");
    assert_eq!(
        count(&c, "SELECT count(*) FROM supra_sync.parked_changes").await,
        0,
        "nothing left parked"
    );
    let once = applied(&replayed_db).await;

    // 4. Twice: the same group has nothing left to read; a new group re-applies every record,
    //    and SUPRA does not change.
    let out = success(
        replay(&legacy_db, &replayed_db, &cluster, "g1", &[]),
        "replay again",
    )
    .await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("replayed 0 records"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    success(
        replay(&legacy_db, &replayed_db, &cluster, "g2", &[]),
        "replay, new group",
    )
    .await;
    let again = Capture::read(&admin(&replayed_db).await).await;
    let diff = replayed.differences(&again, since);
    assert!(
        diff.is_empty(),
        "replaying again changed SUPRA:\n{}",
        diff.join("\n")
    );

    // 5. Killed mid-way (SIGKILL), then run again: same SUPRA, every change applied once.
    let killed_db = supra_database().await;
    let k = admin(&killed_db).await;
    let mut slow = Running::spawn(
        replay(
            &legacy_db,
            &killed_db,
            &cluster,
            "gk",
            &["--max-rate", "600", "--batch", "40"],
        ),
        "replay-slow",
    );
    let progress = "SELECT coalesce(sum(next_offset), 0)::bigint FROM supra_sync.kafka_offsets WHERE consumer_group = 'gk'";
    wait_at_least(&k, progress, total / 4, &mut slow).await;
    slow.kill().await;
    let at_kill = count(&k, progress).await;
    assert!(
        at_kill < total,
        "killed before the end ({at_kill} of {total})"
    );
    success(
        replay(&legacy_db, &killed_db, &cluster, "gk", &[]),
        "replay after kill",
    )
    .await;
    assert_eq!(count(&k, progress).await, total);
    let resumed = Capture::read(&k).await;
    let diff = replayed.differences(&resumed, since);
    assert!(
        diff.is_empty(),
        "the resumed replay differs:\n{}",
        diff.join("\n")
    );
    let resumed_log = applied(&killed_db).await;
    assert_eq!(
        once.len(),
        resumed_log.len(),
        "applied changes: uninterrupted vs killed and resumed"
    );
    assert!(once == resumed_log, "the same changes were applied in both");
}
