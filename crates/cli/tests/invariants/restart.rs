//! A crash-restart (immediate stop, then start) of the SUPRA server and then of the legacy
//! server while the service streams a workload both ways: the service reconnects by itself,
//! and afterwards nothing is missing, nothing is doubled, and no slot was confirmed past
//! what its target had committed (the origin and the slot both recover from WAL).

use std::time::Duration;

use supra_sync_core::{Lsn, Side};
use supra_sync_testkit::{Cluster, ClusterOptions, wait_until};

use crate::checks::{Findings, caught_up, in_step};
use crate::positions::Watch;
use crate::support::{Env, PATIENCE, Service, lsn};
use crate::workload::{Plan, Workload};

/// Crash-restarts `cluster` (in a blocking section: pg_ctl waits).
fn crash_restart(cluster: &Cluster) {
    tokio::task::block_in_place(|| {
        cluster.stop(false).expect("immediate stop");
        cluster.restart().expect("start again");
    });
}

/// The position of the `side → other` origin on its target, once reachable.
async fn applied(env: &Env, side: Side) -> Lsn {
    let found = std::cell::Cell::new(Lsn::ZERO);
    wait_until("the target to answer", PATIENCE, || async {
        let target = match side {
            Side::Legacy => env.supra.connect().await,
            Side::Supra => env.legacy.connect().await,
        }
        .map_err(|e| e.to_string())?;
        let origin = env.names.origin(side);
        found.set(
            lsn(
                &target,
                "SELECT pg_replication_origin_progress($1, true)::text",
                &[&origin],
            )
            .await?
            .unwrap_or(Lsn::ZERO),
        );
        Ok(true)
    })
    .await
    .unwrap();
    found.get()
}

/// Waits until both pipelines applied a source transaction committed after `label`: they
/// reconnected and stream again (the workload keeps both sides busy).
async fn both_resume(env: &Env, service: &mut Service, label: &str) {
    for side in [Side::Legacy, Side::Supra] {
        let source = match side {
            Side::Legacy => env.legacy.connect().await,
            Side::Supra => env.supra.connect().await,
        }
        .expect("the source is up");
        let now = lsn(&source, "SELECT pg_current_wal_lsn()::text", &[])
            .await
            .unwrap()
            .unwrap();
        let result = wait_until(
            &format!("{side} → {} to resume after {label}", side.other()),
            PATIENCE,
            || {
                let alive = service.check_alive();
                async move {
                    alive?;
                    Ok(applied(env, side).await > now)
                }
            },
        )
        .await;
        result.unwrap_or_else(|e| panic!("{e}\n{}", service.log_tail()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_of_each_database_mid_stream_loses_nothing_and_doubles_nothing() {
    let started = std::time::Instant::now();
    let (legacy_cluster, supra_cluster) = tokio::task::block_in_place(|| {
        (
            Cluster::start(ClusterOptions::named("restart-legacy")).expect("legacy cluster"),
            Cluster::start(ClusterOptions::named("restart-supra")).expect("SUPRA cluster"),
        )
    });
    let env = Env::new(&legacy_cluster, &supra_cluster, 100).await;
    eprintln!(
        "restart: clusters and databases ready after {:?}",
        started.elapsed()
    );
    let watch = Watch::start(&env).await;
    let mut service = env.start(&[]);
    caught_up(&env, &mut service).await;
    eprintln!("restart: snapshot done after {:?}", started.elapsed());
    let workload = Workload::start(
        &env,
        &Plan {
            legacy_writers: 2,
            supra_writer: true,
            // Slow enough that the backlog left by each outage is caught up quickly.
            pace: Duration::from_millis(100),
            seed: 7,
        },
    );
    both_resume(&env, &mut service, "the start").await;
    eprintln!(
        "restart: resumed after the start at {:?}",
        started.elapsed()
    );
    crash_restart(&supra_cluster);
    eprintln!("restart: SUPRA back at {:?}", started.elapsed());
    both_resume(&env, &mut service, "the SUPRA restart").await;
    eprintln!(
        "restart: resumed after the SUPRA restart at {:?}",
        started.elapsed()
    );
    crash_restart(&legacy_cluster);
    both_resume(&env, &mut service, "the legacy restart").await;
    eprintln!(
        "restart: resumed after the legacy restart at {:?}",
        started.elapsed()
    );
    let tally = workload.stop().await;
    caught_up(&env, &mut service).await;
    eprintln!("restart: caught up at {:?}", started.elapsed());

    let mut findings = Findings::default();
    let positions = watch.finish(&env, &mut findings).await;
    eprintln!("restart: positions checked at {:?}", started.elapsed());
    findings.check(in_step(&env).await);
    eprintln!(
        "restart: {positions}; {} workload transactions ({} failed while a server was down); total {:?}",
        tally.changes(),
        tally.errors.len(),
        started.elapsed()
    );
    service.stop().await;
    env.teardown().await;
    findings.assert_none("crash-restart of each database");
}
