//! `/metrics` moves with the databases; `/readyz` follows a database going down and back.

use supra_sync_ops::names;
use supra_sync_testkit::{Cluster, ClusterOptions, wait_until};

use crate::support::{
    Env, Instance, PATIENCE, admin, count, insert_persons, legacy_database, supra_database,
    wait_count,
};

const LEGACY_TO_SUPRA: (&str, &str) = (names::LABEL_DIRECTION, "legacy_to_supra");

#[tokio::test]
async fn metrics_follow_a_workload_and_readiness_follows_the_legacy_database() {
    // A private legacy cluster: this test stops it.
    let cluster =
        tokio::task::spawn_blocking(|| Cluster::start(ClusterOptions::named("ops_metrics")))
            .await
            .unwrap()
            .expect("private legacy cluster");
    let env = Env::new(legacy_database(&cluster).await, supra_database().await).await;
    let run = Instance::start(env.command(&[]), "metrics").await;
    wait_until("ready", PATIENCE, || async {
        let (status, body) = run.get("/readyz").await;
        if status == 200 {
            Ok(true)
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", run.log_text()));
    let (status, body) = run.get("/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"legacy_to_supra\":\"streaming\""), "{body}");

    // A workload: 40 persons, then one that fails (duplicate RFC).
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(&env.supra).await;
    insert_persons(&legacy, 1, 41).await;
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnombre) VALUES (100, 'F', 'DUPL800101XX1', 'Uno');
             INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnombre) VALUES (101, 'F', 'DUPL800101XX1', 'Dos');",
        )
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM persons", 41).await;
    let applied = count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE entity_type = 'persona' AND direction = 'legacy_to_supra' AND status = 'applied'",
    )
    .await;
    assert_eq!(applied, 41);
    let persona = (names::LABEL_ENTITY, "persona");
    run.wait_metric(
        "applied counter = sync_log",
        names::CHANGES_APPLIED,
        &[persona, LEGACY_TO_SUPRA],
        |v| v == 41.0,
    )
    .await;
    run.wait_metric(
        "failed counter",
        names::CHANGES_FAILED,
        &[persona, LEGACY_TO_SUPRA],
        |v| v == 1.0,
    )
    .await;
    // The collector's view of sync_log agrees.
    run.wait_metric(
        "failed rows gauge",
        names::SYNC_LOG_FAILED,
        &[persona, LEGACY_TO_SUPRA],
        |v| v == 1.0,
    )
    .await;
    let (_, text) = run.get("/metrics").await;
    let batches = crate::support::metric_value(
        &text,
        &format!("{}_count", names::BATCH_COMMIT_SECONDS),
        &[LEGACY_TO_SUPRA],
    )
    .expect("batch histogram");
    assert!(batches >= 1.0, "{text}");
    let lag = crate::support::metric_value(
        &text,
        &format!("{}_count", names::APPLY_LAG_SECONDS),
        &[LEGACY_TO_SUPRA],
    )
    .expect("lag histogram");
    assert!(lag >= 41.0, "one observation per source transaction: {lag}");
    let slot = env.prefix.clone() + "_legacy";
    let slot_labels = [(names::LABEL_SLOT, slot.as_str())];
    run.wait_metric("slot active", names::SLOT_ACTIVE, &slot_labels, |v| {
        v == 1.0
    })
    .await;
    run.wait_metric(
        "retained WAL",
        names::SLOT_RETAINED_WAL_BYTES,
        &slot_labels,
        |v| v > 0.0,
    )
    .await;
    assert!(
        run.metric(names::REPLICATION_LAG_BYTES, &slot_labels)
            .await
            .is_some()
    );
    assert!(
        run.metric(names::REPLICATION_LAG_SECONDS, &slot_labels)
            .await
            .is_some()
    );
    run.wait_metric(
        "supra up",
        names::DATABASE_UP,
        &[(names::LABEL_DATABASE, "supra")],
        |v| v == 1.0,
    )
    .await;
    for (name, _, _) in names::ALL {
        if text.contains(&format!("\n{name}")) {
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "{name} has no HELP line"
            );
        }
    }

    // Legacy goes down: not ready (and says which), still live; back up: ready again.
    cluster.stop(true).expect("stop legacy");
    wait_until("not ready while legacy is down", PATIENCE, || async {
        let (status, body) = run.get("/readyz").await;
        if status == 503 && body.contains("\"legacy\":\"down") {
            Ok(true)
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", run.log_text()));
    let (status, body) = run.get("/healthz").await;
    assert_eq!(status, 200, "a reconnecting pipeline is alive: {body}");
    run.wait_metric(
        "legacy down",
        names::DATABASE_UP,
        &[(names::LABEL_DATABASE, "legacy")],
        |v| v == 0.0,
    )
    .await;
    cluster.restart().expect("restart legacy");
    wait_until("ready again", PATIENCE, || async {
        let (status, body) = run.get("/readyz").await;
        if status == 200 {
            Ok(true)
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", run.log_text()));
    let legacy = env.legacy.connect().await.unwrap();
    insert_persons(&legacy, 200, 205).await;
    wait_count(&supra, "SELECT count(*) FROM persons", 46).await;
    run.wait_metric(
        "applied after recovery",
        names::CHANGES_APPLIED,
        &[persona, LEGACY_TO_SUPRA],
        |v| v == 46.0,
    )
    .await;
    run.stop().await;
    env.teardown().await;
}
