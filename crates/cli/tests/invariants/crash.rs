//! `kill -9` of `supra-sync run` at random points — during the initial snapshot (small
//! chunks) and during streaming, under a workload on both sides — and a restart each time:
//! afterwards nothing is missing, nothing is doubled, and no slot was ever confirmed past what
//! its target had committed.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use supra_sync_testkit::{legacy, supra, wait_until};

use crate::checks::{Findings, caught_up, in_step};
use crate::positions::Watch;
use crate::support::{Env, PATIENCE, Service};
use crate::workload::{Plan, Workload};

/// Kills in all; at most [`SNAPSHOT_KILLS`] of them while the snapshot runs.
const KILLS: usize = 22;
const SNAPSHOT_KILLS: usize = 8;
const SERVICE_ENV: &[(&str, &str)] = &[("SUPRA_SYNC_SNAPSHOT_CHUNK_ROWS", "200")];

/// (chunks committed, entities not done) of the snapshot.
async fn snapshot_state(supra: &tokio_postgres::Client) -> Result<(i64, i64), String> {
    let row = supra
        .query_one(
            "SELECT COALESCE(sum(chunks_done), 0)::bigint, count(*) FILTER (WHERE status <> 'done')
               FROM supra_sync.snapshot_progress",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok((row.get(0), row.get(1)))
}

/// Kills the service a moment after the snapshot committed one more chunk (so that every
/// run makes progress); returns false when the snapshot finished first.
async fn kill_after_a_chunk(env: &Env, service: &mut Service, rng: &mut StdRng) -> bool {
    let supra = env.supra().await;
    let (chunks, _) = snapshot_state(&supra).await.unwrap();
    wait_until("a snapshot chunk to commit", PATIENCE, || async {
        let (now, pending) = snapshot_state(&supra).await?;
        Ok(now > chunks || pending == 0)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", service.log_tail()));
    tokio::time::sleep(Duration::from_millis(rng.gen_range(0..250))).await; // the kill moment
    let running = snapshot_state(&supra).await.unwrap().1 > 0;
    service.kill().await;
    running
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_snapshot_and_streaming_loses_nothing_and_doubles_nothing() {
    let started = std::time::Instant::now();
    let env = Env::new(legacy(), supra(), 300).await;
    eprintln!("crash: databases ready after {:?}", started.elapsed());
    let watch = Watch::start(&env).await;
    let mut rng = StdRng::seed_from_u64(9);
    let workload = Workload::start(
        &env,
        &Plan {
            legacy_writers: 2,
            supra_writer: true,
            // A pace the debug build applies faster than it is written, so that restarts
            // catch up and the snapshot's watermarks come through.
            pace: Duration::from_millis(100),
            seed: 99,
        },
    );

    let mut snapshot_kills = 0;
    while snapshot_kills < SNAPSHOT_KILLS {
        let mut service = env.start(SERVICE_ENV);
        if !kill_after_a_chunk(&env, &mut service, &mut rng).await {
            break;
        }
        snapshot_kills += 1;
    }
    let mut kills = snapshot_kills;
    let mut service = env.start(SERVICE_ENV);
    let supra_client = env.supra().await;
    // Liveness, not correctness: on a loaded 2-core machine the debug build copies the
    // remaining entities (3,000+ invoices) while catching up the workload.
    wait_until("the snapshot to finish", PATIENCE * 3, || async {
        Ok(snapshot_state(&supra_client).await?.1 == 0)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", service.log_tail()));
    let snapshot_done = started.elapsed();
    while kills < KILLS {
        // Up to 1.5 s of streaming (catching up the backlog of the previous kill).
        tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1_500))).await;
        service.check_alive().unwrap();
        service.kill().await;
        kills += 1;
        service = env.start(SERVICE_ENV);
    }
    let tally = workload.stop().await;
    caught_up(&env, &mut service).await;
    let mut findings = Findings::default();
    let positions = watch.finish(&env, &mut findings).await;
    findings.check(in_step(&env).await);
    eprintln!(
        "crash: {kills} kills ({snapshot_kills} during the snapshot, done after {snapshot_done:?}); \
         {positions}; {} workload transactions; total {:?}",
        tally.changes(),
        started.elapsed()
    );
    if !tally.errors.is_empty() {
        findings.check::<()>(Err(format!("the workload failed: {:?}", tally.errors)));
    }
    if snapshot_kills < 3 {
        findings.check::<()>(Err(format!(
            "only {snapshot_kills} kills landed during the snapshot"
        )));
    }
    service.stop().await;
    if !findings.is_empty() {
        eprintln!("crash: service logs kept in {}", env.keep_logs().display());
    }
    env.teardown().await;
    findings.assert_none("kill -9 of the service");
}
