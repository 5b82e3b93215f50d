//! The seed-size run (seed 000 §7 on 4,114 tables): `plan 1 → apply 1 → verify 1` on the
//! fixture generator's database with the seed's counts. Slow; run it with
//! `cargo test -p supra-sync-cleanup --test it full_size -- --ignored --nocapture`.

use std::time::Instant;

use supra_sync_cleanup::{Cleanup, Phase, all_passed};
use supra_sync_fixture::{
    FixtureConfig, SEED_TABLE_COUNT, apply_legacy_schema, seed, table_checksums,
};

use crate::fixture::{self, count, quiet};

#[tokio::test]
#[ignore = "seed-size run (4,114 tables), several minutes"]
async fn phase1_on_the_seed_counts() {
    let db = supra_sync_testkit::legacy()
        .fresh_database("full_size")
        .await
        .unwrap();
    let client = db.connect().await.unwrap();
    let t = Instant::now();
    apply_legacy_schema(&client).await.unwrap();
    let report = seed(&client, &FixtureConfig::with_accounts(1_000), |_, _| {})
        .await
        .unwrap();
    eprintln!(
        "fixture seeded in {:.1?}: {} rows",
        t.elapsed(),
        report.total_rows()
    );
    let tables = count(
        &client,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro'",
    )
    .await;
    assert_eq!(tables as u64, SEED_TABLE_COUNT);
    let original = table_checksums(&client).await.unwrap();
    let transient_rows = count(
        &client,
        r"SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM cf_quere_pro.%I', tablename), false, true, '')))[1]::text::bigint), 0)::bigint
            FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename ~ '^(tmp_deuda|aux_varscreditored|tmpbb)_\d+$'",
    )
    .await;

    let mut config = fixture::config("full_size");
    config.measure_schema_dump = true;
    config.lock_timeout_ms = 2_000;
    config.drops_per_second = std::num::NonZeroU32::new(200).unwrap();
    config.drop_batch_size = 100;
    let cleanup = Cleanup::connect(&db.connection_string, config)
        .await
        .unwrap();

    let t = Instant::now();
    let plan = cleanup.plan(Phase::One).await.unwrap();
    eprintln!(
        "plan 1: {:.1?}, {} steps, {} statements, {}",
        t.elapsed(),
        plan.steps.len(),
        plan.statement_count(),
        plan.freed()
    );
    for b in plan.blockers() {
        eprintln!("blocker: {b}");
    }

    let t = Instant::now();
    let applied = cleanup.apply(Phase::One, &quiet).await;
    let apply_time = t.elapsed();
    if let Err(e) = &applied {
        eprintln!("apply 1 did not complete: {e}");
    }
    eprintln!("apply 1: {apply_time:.1?}");

    let t = Instant::now();
    let checks = cleanup.verify(Phase::One).await.unwrap();
    eprintln!("verify 1: {:.1?}", t.elapsed());
    for c in &checks {
        eprintln!("{c}");
    }
    let metrics = cleanup.metrics(Phase::One).await.unwrap().unwrap();
    eprintln!("{metrics}");
    let migrated = count(&client, "SELECT (SELECT count(*) FROM cf_quere_pro.tmp_deuda) + (SELECT count(*) FROM cf_quere_pro.aux_varscreditored) + (SELECT count(*) FROM cf_quere_pro.tmpbb)").await;
    eprintln!("transient rows before: {transient_rows}, in consolidated tables after: {migrated}");
    applied.unwrap();
    assert_eq!(migrated, transient_rows);
    assert!(all_passed(&checks));

    // Phase 2 and the final cleanup on the same database (observation period 0).
    let mut config = fixture::config("full_size_p2");
    config.observation_period_secs = 0;
    let cleanup = Cleanup::connect(&db.connection_string, config)
        .await
        .unwrap();
    for phase in [Phase::Two, Phase::Final] {
        let t = Instant::now();
        let plan = cleanup.plan(phase).await.unwrap();
        eprintln!(
            "plan {phase}: {:.1?}, {} steps, {} statements, {} blockers",
            t.elapsed(),
            plan.steps.len(),
            plan.statement_count(),
            plan.blockers().len()
        );
        let t = Instant::now();
        let applied = cleanup.apply(phase, &quiet).await;
        eprintln!("apply {phase}: {:.1?}", t.elapsed());
        if let Err(e) = &applied {
            eprintln!("apply {phase} did not complete: {e}");
        }
        let checks = cleanup.verify(phase).await.unwrap();
        for c in &checks {
            eprintln!("{c}");
        }
        assert!(all_passed(&checks));
    }
    let tables = count(
        &client,
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro'",
    )
    .await;
    let views = count(
        &client,
        "SELECT count(*) FROM pg_views WHERE schemaname = 'cf_quere_pro'",
    )
    .await;
    eprintln!(
        "after phase 2 and final: {tables} tables (partitions included), {views} compatibility views"
    );

    // Rolling everything back gives the seeded database again, table for table, row for row.
    for phase in [Phase::Final, Phase::Two, Phase::One] {
        let t = Instant::now();
        cleanup.rollback(phase, &quiet).await.unwrap();
        eprintln!("rollback {phase}: {:.1?}", t.elapsed());
    }
    let restored = table_checksums(&client).await.unwrap();
    let differing: Vec<&String> = original
        .keys()
        .filter(|t| restored.get(*t) != original.get(*t))
        .collect();
    let extra: Vec<&String> = restored
        .keys()
        .filter(|t| !original.contains_key(*t))
        .collect();
    eprintln!(
        "after rollback: {} tables, {} differing, {} extra",
        restored.len(),
        differing.len(),
        extra.len()
    );
    assert!(
        differing.is_empty() && extra.is_empty(),
        "differing {differing:?}, extra {extra:?}"
    );
}
