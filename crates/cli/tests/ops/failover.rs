//! Two instances, one leader per pipeline: SIGKILL the leader mid-stream under a workload;
//! the standby takes over within seconds and nothing is lost or applied twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use supra_sync_ops::names;
use supra_sync_testkit::{legacy, wait_until};

use crate::support::{
    Env, Instance, PATIENCE, admin, count, legacy_database, supra_database, wait_count,
};

const FORWARD: (&str, &str) = (names::LABEL_PIPELINE, "legacy_to_supra");
const REVERSE: (&str, &str) = (names::LABEL_PIPELINE, "supra_to_legacy");

async fn state(instance: &Instance, pipeline: (&str, &str), state: &str) -> bool {
    instance
        .metric(
            names::PIPELINE_STATE,
            &[pipeline, (names::LABEL_STATE, state)],
        )
        .await
        == Some(1.0)
}

#[tokio::test]
async fn the_standby_takes_over_when_the_leader_is_killed_and_nothing_is_lost_or_doubled() {
    let env = Env::new(legacy_database(legacy()).await, supra_database().await).await;
    let a = Instance::start(env.command(&[]), "leader").await;
    for pipeline in [FORWARD, REVERSE] {
        a.wait_metric("A leads", names::LEASE_HELD, &[pipeline], |v| v == 1.0)
            .await;
    }
    wait_until("A streams both ways", PATIENCE, || async {
        Ok(state(&a, FORWARD, "streaming").await && state(&a, REVERSE, "streaming").await)
    })
    .await
    .unwrap();
    let mut b = Instance::start(env.command(&[]), "standby").await;
    wait_until("B stands by on both pipelines", PATIENCE, || async {
        Ok(state(&b, FORWARD, "standby").await && state(&b, REVERSE, "standby").await)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", b.log_text()));
    let (status, body) = b.get("/readyz").await;
    assert_eq!(status, 200, "a standby is ready: {body}");

    // Workload: one person per transaction until told to stop.
    let legacy_client = Arc::new(env.legacy.connect().await.unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let inserted = Arc::new(AtomicI64::new(0));
    let writer = tokio::spawn({
        let (client, stop, inserted) = (legacy_client.clone(), stop.clone(), inserted.clone());
        async move {
            let mut id = 1i64;
            while !stop.load(Ordering::Relaxed) {
                client
                    .execute(
                        "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES ($1::bigint, 'F', 'Carga')",
                        &[&id],
                    )
                    .await
                    .expect("insert");
                inserted.store(id, Ordering::Relaxed);
                id += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    });
    let supra = admin(&env.supra).await;
    wait_until("A applies part of the workload", PATIENCE, || async {
        Ok(count(&supra, "SELECT count(*) FROM persons").await >= 100)
    })
    .await
    .unwrap();

    // Kill the leader mid-stream.
    let mut a = a;
    a.child.start_kill().expect("SIGKILL the leader");
    let killed = Instant::now();
    a.child.wait().await.expect("leader exited");
    let before_kill = inserted.load(Ordering::Relaxed);
    wait_until("B holds the forward lease", PATIENCE, || async {
        Ok(b.metric(names::LEASE_HELD, &[FORWARD]).await == Some(1.0))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", b.log_text()));
    let lease_taken = killed.elapsed();
    wait_until("B streams", PATIENCE, || async {
        Ok(state(&b, FORWARD, "streaming").await)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", b.log_text()));
    let streaming = killed.elapsed();
    b.wait_metric(
        "B applies",
        names::CHANGES_APPLIED,
        &[(names::LABEL_DIRECTION, "legacy_to_supra")],
        |v| v > 0.0,
    )
    .await;
    let applying = killed.elapsed();
    wait_until("B takes the reverse lease too", PATIENCE, || async {
        Ok(b.metric(names::LEASE_HELD, &[REVERSE]).await == Some(1.0))
    })
    .await
    .unwrap();
    eprintln!(
        "TAKEOVER: leader killed after {before_kill} inserts; standby holds the lease after {lease_taken:?}, \
         streams after {streaming:?}, applies after {applying:?}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    let total = inserted.load(Ordering::Relaxed);
    assert!(total > before_kill, "the workload ran through the failover");

    // Nothing lost …
    wait_count(&supra, "SELECT count(*) FROM persons", total).await;
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE direction = 'legacy_to_supra' AND status = 'applied'",
        total,
    )
    .await;
    // … nothing doubled: one applied log row per source change, one mapping per row …
    let doubled = count(
        &supra,
        "SELECT count(*) FROM (SELECT source_lsn, entity_id FROM supra_sync.sync_log
                                WHERE direction = 'legacy_to_supra' AND status = 'applied'
                                GROUP BY 1, 2 HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(doubled, 0, "changes applied twice");
    assert_eq!(
        count(&supra, "SELECT count(DISTINCT entity_id) FROM supra_sync.sync_log WHERE direction = 'legacy_to_supra'").await,
        total
    );
    assert_eq!(
        count(
            &supra,
            "SELECT count(*) FROM supra_sync.sync_mappings WHERE entity_type = 'persona'"
        )
        .await,
        total
    );
    // … and no echo back to legacy.
    assert_eq!(
        count(&legacy_client, "SELECT count(*) FROM cf_quere_pro.persona").await,
        total
    );
    assert_eq!(
        count(&supra, "SELECT count(*) FROM supra_sync.sync_log WHERE direction = 'supra_to_legacy' AND status = 'applied'").await,
        0
    );
    b.child.id().expect("B still runs");
    let _ = b.child.try_wait();
    b.stop().await;
    env.teardown().await;
}
