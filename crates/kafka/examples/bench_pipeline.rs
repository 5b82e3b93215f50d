//! Pipeline throughput with and without Kafka, and replay throughput, on one workload, in one
//! run: real PostgreSQL clusters (testkit) and librdkafka's mock cluster.
//!
//! ```text
//! cargo run --release -p supra-sync-kafka --example bench_pipeline -- [changes] [changes_per_tx]
//! ```
//!
//! ```text
//!  legacy: slots A, B, C created ─► workload (inserts then updates of persona) = backlog
//!  A: Pipeline (no Kafka)            ─► SUPRA 1   streaming apply      changes/s
//!  B: Pipeline + KafkaSink           ─► SUPRA 2   publish + apply      changes/s
//!  C: capture-only (publish, ack)                 publish alone        changes/s
//!  topics (from B) ─► ReplayTarget   ─► SUPRA 3   replay               records/s
//!  D: Pipeline (no Kafka), again     ─► SUPRA 4   (the first run pays for cold caches)
//! ```
//! Each figure is the drain time of the same backlog (clock starts when the pipeline starts).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::mocking::MockCluster;
use supra_sync_core::Side;
use supra_sync_engine::{Pipeline, PipelineOptions};
use supra_sync_kafka::capture::{self, CaptureOptions, CaptureStats};
use supra_sync_kafka::envelope::EnvelopeSettings;
use supra_sync_kafka::replay::ReplayConfig;
use supra_sync_kafka::target::{self, ReplayTarget, TargetOptions};
use supra_sync_kafka::{KafkaSink, Publisher, PublisherConfig};
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::names::ObjectNames;
use supra_sync_postgres::{DbConfig, migrate, setup};
use supra_sync_testkit::{TestDatabase, legacy, supra};
use tokio::sync::watch;

const TOPIC: &str = "bench.cf_quere_pro.persona";

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn cfg(db: &TestDatabase, label: &str) -> DbConfig {
    DbConfig::parse(label, &db.connection_string).expect("connection string")
}

async fn supra_db() -> TestDatabase {
    let db = supra()
        .fresh_database("bench_supra")
        .await
        .expect("SUPRA db");
    migrate::migrate_supra(&cfg(&db, "supra"))
        .await
        .expect("migrate");
    let c = db.connect().await.unwrap();
    c.batch_execute("INSERT INTO tenants (name, slug) VALUES ('CEA Querétaro', 'cea-queretaro')")
        .await
        .unwrap();
    db
}

/// Runs `pipeline` until it processed `changes` (every route of every change: applied,
/// failed or skipped); returns changes/s.
async fn drain(pipeline: Pipeline, changes: u64, routes: u64) -> f64 {
    let stats = pipeline.stats();
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let task = tokio::spawn(async move { pipeline.run(stopped).await });
    let done = || {
        let processed = stats.applied.load(Ordering::Relaxed)
            + stats.failed.load(Ordering::Relaxed)
            + stats.skipped.load(Ordering::Relaxed);
        processed >= changes * routes
    };
    while !done() {
        assert!(!task.is_finished(), "pipeline stopped early");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = changes as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    task.await.unwrap().expect("pipeline");
    rate
}

#[tokio::main]
async fn main() {
    let changes = arg(1, 20_000) as u64;
    let per_tx = arg(2, 10).max(1) as u64;
    let mappings = Arc::new(
        MappingSet::load_dir(
            &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mappings"),
        )
        .expect("mappings"),
    );
    let legacy_db = legacy()
        .fresh_database("bench_legacy")
        .await
        .expect("legacy db");
    let l = legacy_db.connect().await.unwrap();
    supra_sync_fixture::apply_legacy_schema(&l)
        .await
        .expect("legacy schema");
    let names: Vec<ObjectNames> = ["bench_a", "bench_b", "bench_c", "bench_d"]
        .into_iter()
        .map(ObjectNames::with_prefix)
        .collect();
    let (s1, s2, s3, s4) = (
        supra_db().await,
        supra_db().await,
        supra_db().await,
        supra_db().await,
    );
    for (n, s) in names.iter().zip([&s1, &s2, &s1, &s4]) {
        setup::setup_source(&l, Side::Legacy, n, &mappings.legacy_tables())
            .await
            .unwrap();
        let sc = s.connect().await.unwrap();
        setup::setup_target(&sc, Side::Legacy, n).await.unwrap();
    }

    // The backlog: half inserts, half updates, `per_tx` changes per transaction.
    let inserts = changes / 2;
    let started = Instant::now();
    for first in (0..inserts).step_by(per_tx as usize) {
        l.batch_execute(&format!(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnomape, prsnombre, prstelef)
             SELECT g, 'F', 'BNCH' || lpad(g::text, 9, '0'), 'Apellido ' || g, 'Nombre ' || g, '442' || lpad(g::text, 7, '0')
               FROM generate_series({}, {}) g",
            first + 1,
            (first + per_tx).min(inserts)
        ))
        .await
        .unwrap();
    }
    for first in (0..changes - inserts).step_by(per_tx as usize) {
        l.batch_execute(&format!(
            "UPDATE cf_quere_pro.persona SET prsnombre = 'Cambiado ' || prsid WHERE prsid BETWEEN {} AND {}",
            first + 1,
            (first + per_tx).min(changes - inserts)
        ))
        .await
        .unwrap();
    }
    let routes = mappings
        .routes_for(
            Side::Legacy,
            &supra_sync_core::TableName::new("cf_quere_pro", "persona"),
        )
        .len() as u64;
    println!(
        "workload: {changes} changes in {} transactions written in {:.1?}",
        changes.div_ceil(per_tx),
        started.elapsed()
    );

    let opts = |n: &ObjectNames| {
        let mut o = PipelineOptions::new(Side::Legacy);
        o.names = n.clone();
        o
    };
    let (legacy_cfg, cfg1, cfg2) = (
        cfg(&legacy_db, "legacy"),
        cfg(&s1, "supra"),
        cfg(&s2, "supra"),
    );
    let plain = drain(
        Pipeline::new(opts(&names[0]), legacy_cfg.clone(), cfg1, mappings.clone()),
        changes,
        routes,
    )
    .await;
    println!("streaming apply, no Kafka:           {plain:>9.0} changes/s");

    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic(TOPIC, 1, 1).unwrap();
    cluster
        .create_topic("capture.cf_quere_pro.persona", 1, 1)
        .unwrap();
    let bootstrap = cluster.bootstrap_servers();
    let envelope = EnvelopeSettings {
        topic_prefix: "bench".into(),
        legacy_db: "aquacis".into(),
        supra_db: "supra".into(),
    };
    let publisher =
        Arc::new(Publisher::new(PublisherConfig::new(&bootstrap, envelope.clone())).unwrap());
    let with_kafka = Pipeline::new(opts(&names[1]), legacy_cfg.clone(), cfg2, mappings.clone())
        .with_publisher(Arc::new(KafkaSink::new(publisher.clone())));
    let kafka_rate = drain(with_kafka, changes, routes).await;
    println!(
        "streaming apply, Kafka publish first:{kafka_rate:>9.0} changes/s  ({} records acknowledged)",
        publisher.stats().records_acked
    );

    let capture_publisher = Publisher::new(PublisherConfig::new(
        &bootstrap,
        EnvelopeSettings {
            topic_prefix: "capture".into(),
            ..envelope
        },
    ))
    .unwrap();
    let stats = Arc::new(CaptureStats::default());
    let copts = CaptureOptions {
        names: names[2].clone(),
        max_batch_changes: 5_000,
        batch_linger: Duration::from_millis(5),
        heartbeat_interval: Duration::from_secs(10),
        reconnect_give_up: Duration::from_secs(60),
    };
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let task = {
        let (stats, legacy_cfg) = (stats.clone(), legacy_cfg.clone());
        tokio::spawn(async move {
            capture::run(&legacy_cfg, &copts, &capture_publisher, &stats, stopped).await
        })
    };
    while stats.published.load(Ordering::Relaxed) < changes {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let capture_rate = changes as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    task.await.unwrap().expect("capture");
    println!("capture-only publish (no apply):     {capture_rate:>9.0} changes/s");

    let topts = TargetOptions {
        names: ObjectNames::with_prefix("bench_r"),
        tenant: "cea-queretaro".into(),
        group: "bench".into(),
        topic_prefix: "bench".into(),
        halt_on_failure: false,
        retry_for: Duration::from_secs(30),
    };
    let sc3 = s3.connect().await.unwrap();
    migrate::migrate_sync_only(&cfg(&s3, "supra"))
        .await
        .unwrap();
    target::ensure_replay_origin(&sc3, &topts.names)
        .await
        .unwrap();
    let replay_target =
        ReplayTarget::connect(topts, legacy_cfg, cfg(&s3, "supra"), mappings.clone())
            .await
            .unwrap();
    let mut rc = ReplayConfig::new(&bootstrap, "bench", vec![TOPIC.into()]);
    rc.until_high_watermark = true;
    rc.max_batch = 1_000;
    let outcome = target::run(replay_target, rc, Duration::from_secs(30), |_, _| {})
        .await
        .expect("replay");
    let p = &outcome.summary.progress;
    println!(
        "replay into an empty SUPRA:          {:>9.0} records/s ({} records, {} applied, {:.1?})",
        p.rate, p.messages, outcome.stats.applied, p.elapsed
    );
    // The plain pipeline once more, last: the first figure pays for cold caches.
    let again = drain(
        Pipeline::new(
            opts(&names[3]),
            cfg(&legacy_db, "legacy"),
            cfg(&s4, "supra"),
            mappings.clone(),
        ),
        changes,
        routes,
    )
    .await;
    println!("streaming apply, no Kafka (again):   {again:>9.0} changes/s");
    for n in &names {
        setup::teardown_source(&l, Side::Legacy, n).await.unwrap();
    }
}
