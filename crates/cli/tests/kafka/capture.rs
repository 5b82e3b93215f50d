//! The slot and the broker: while Kafka is down the pipeline retries and the legacy slot does
//! not advance; nothing is lost once it is back. Capture-only publishes and acknowledges the
//! slot without touching SUPRA.

use std::time::Duration;

use supra_sync_core::Side;
use supra_sync_postgres::names::ObjectNames;

use crate::support::*;

const PERSONA_TOPIC: &str = "aquacis.cf_quere_pro.persona";

/// Inserts `n` persons with keys from `first`, one transaction each.
async fn insert_persons(legacy: &tokio_postgres::Client, first: i64, n: i64) {
    for id in first..first + n {
        legacy
            .execute(
                "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES ($1::text::numeric, 'F', 'Durante la caída')",
                &[&id.to_string()],
            )
            .await
            .unwrap();
    }
}

/// Published persona records whose key is one of `first..first+n`.
fn published(cluster: &Cluster, first: i64, n: i64) -> usize {
    read_topic(&cluster.bootstrap_servers(), PERSONA_TOPIC)
        .iter()
        .filter(|(key, value)| {
            value.is_some()
                && key.as_ref().is_some_and(|k| {
                    let k = String::from_utf8_lossy(k);
                    (first..first + n).any(|id| k == format!("{{\"prsid\":\"{id}\"}}"))
                })
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_holds_the_slot_and_nothing_is_lost() {
    let cluster = kafka();
    let legacy_db = legacy_database().await;
    let supra_db = supra_database().await;
    let prefix = unique_prefix();
    let slot = ObjectNames::with_prefix(&prefix).slot(Side::Legacy);
    success(command(&legacy_db, &supra_db, &prefix, &["setup"]), "setup").await;
    let mut run = Running::spawn(
        with_env(
            command(&legacy_db, &supra_db, &prefix, &["run"]),
            &kafka_env(&cluster),
        ),
        "run",
    );
    let (legacy, supra) = (legacy_db.connect().await.unwrap(), admin(&supra_db).await);
    snapshot_done(&supra, &mut run).await;
    marker_through(&legacy, &supra, &mut run).await;

    cluster.broker_down(1).unwrap();
    let before = wal_lsn(&legacy).await;
    insert_persons(&legacy, 70_000_000, 1).await;
    // The pipeline is now blocked publishing that change: from here on the slot holds.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = confirmed_flush(&legacy, &slot).await;
    assert!(
        held <= before,
        "the slot passed an unpublished change: {held} > {before}"
    );
    insert_persons(&legacy, 70_000_001, 4).await;
    let written = wal_lsn(&legacy).await;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        run.check_alive();
        assert_eq!(
            confirmed_flush(&legacy, &slot).await,
            held,
            "the slot moved while Kafka was down"
        );
    }
    let in_supra = "SELECT count(*) FROM supra_sync.sync_mappings
                     WHERE entity_type = 'persona' AND legacy_id::numeric BETWEEN 70000000 AND 70000004";
    assert_eq!(
        count(&supra, in_supra).await,
        0,
        "published before applied: nothing applied while Kafka is down"
    );

    cluster.broker_up(1).unwrap();
    wait_at_least(&supra, in_supra, 5, &mut run).await;
    marker_through(&legacy, &supra, &mut run).await;
    // The slot moves on once published and applied (acknowledged with the next status update).
    supra_sync_testkit::wait_until("the slot to pass the inserts", PATIENCE, || {
        let (legacy, slot) = (&legacy, &slot);
        async move { Ok::<_, String>(confirmed_flush(legacy, slot).await >= written) }
    })
    .await
    .unwrap();
    run.stop().await;
    assert!(
        published(&cluster, 70_000_000, 5) >= 5,
        "every change published (at least once)"
    );
    success(
        command(&legacy_db, &supra_db, &prefix, &["teardown"]),
        "teardown",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_only_publishes_and_acknowledges_without_applying() {
    let cluster = kafka();
    let legacy_db = legacy_database().await;
    let supra_db = supra_database().await;
    let prefix = unique_prefix();
    let slot = ObjectNames::with_prefix(&prefix).slot(Side::Legacy);
    success(
        command(&legacy_db, &supra_db, &prefix, &["setup", "--no-snapshot"]),
        "setup",
    )
    .await;
    let mut env = kafka_env(&cluster);
    env.push(("SUPRA_SYNC_KAFKA_CAPTURE_ONLY", "true".into()));
    let mut run = Running::spawn(
        with_env(command(&legacy_db, &supra_db, &prefix, &["run"]), &env),
        "capture",
    );
    let (legacy, supra) = (legacy_db.connect().await.unwrap(), admin(&supra_db).await);
    insert_persons(&legacy, 71_000_000, 4).await;
    let written = wal_lsn(&legacy).await;
    supra_sync_testkit::wait_until("the slot to pass the inserts", PATIENCE, || {
        run.check_alive();
        let (legacy, slot) = (&legacy, &slot);
        async move { Ok::<_, String>(confirmed_flush(legacy, slot).await >= written) }
    })
    .await
    .unwrap();
    assert_eq!(
        published(&cluster, 71_000_000, 4),
        4,
        "acknowledged only after publishing"
    );
    run.stop().await;
    assert_eq!(
        count(&supra, "SELECT count(*) FROM persons").await,
        0,
        "capture-only applies nothing"
    );

    // The topics feed SUPRA later, by replay.
    let mut c = command(
        &legacy_db,
        &supra_db,
        &prefix,
        &[
            "replay",
            "--topics",
            PERSONA_TOPIC,
            "--until-high-watermark",
        ],
    );
    c.envs(kafka_env(&cluster).iter().map(|(k, v)| (*k, v.as_str())));
    success(c, "replay").await;
    assert_eq!(count(&supra, "SELECT count(*) FROM persons").await, 4);
    success(
        command(&legacy_db, &supra_db, &prefix, &["teardown"]),
        "teardown",
    )
    .await;
}
