//! Publish and replay throughput against librdkafka's mock cluster (loopback TCP, Kafka
//! protocol, one broker, in-memory log).
//!
//! ```text
//! cargo run --release -p supra-sync-kafka --example bench_publish -- [changes] [changes_per_tx] [txs_per_call]
//! ```
//!
//! Prints changes/s for: one `publish_transaction` per transaction (each waits for its
//! acknowledgement, the strictest mode), `publish_transactions` over groups of transactions
//! (what a group-committing pipeline does), and `replay::run` reading everything back.

use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, TimeZone, Utc};
use rdkafka::mocking::MockCluster;
use supra_sync_core::{
    Change, ChangeOp, ColumnDef, Lsn, PgType, Row, RowSchema, Side, TableName, Transaction, Value,
};
use supra_sync_kafka::envelope::EnvelopeSettings;
use supra_sync_kafka::replay::{self, ReplayConfig};
use supra_sync_kafka::{Publisher, PublisherConfig};

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn schema(table: &TableName) -> Arc<RowSchema> {
    let col = |name: &str, pg_type, key| ColumnDef {
        name: name.into(),
        pg_type,
        key,
    };
    Arc::new(RowSchema {
        table: table.clone(),
        columns: vec![
            col("prsid", PgType::Numeric, true),
            col("prsnombre", PgType::Varchar, false),
            col("prsnif", PgType::Varchar, false),
            col("prsfecnac", PgType::Date, false),
            col("prsfecreg", PgType::Timestamp, false),
            col("prssaldo", PgType::Numeric, false),
            col("prsemail", PgType::Text, false),
            col("prsactivo", PgType::Bool, false),
        ],
    })
}

fn transactions(count: usize, per_tx: usize, offset: usize) -> Vec<Transaction> {
    let table = TableName::new("cf_quere_pro", "persona");
    let shape = schema(&table);
    let date = NaiveDate::from_ymd_opt(1980, 5, 17).unwrap();
    (0..count.div_ceil(per_tx))
        .map(|t| {
            let changes = (0..per_tx)
                .map(|i| {
                    let id = (offset + t * per_tx + i) as i64;
                    let row = Row::new(
                        shape.clone(),
                        vec![
                            Value::Numeric(id.into()),
                            Value::Text(format!("PERSONA {id}")),
                            Value::Text("XAXX010101000".into()),
                            Value::Date(date),
                            Value::Timestamp(date.and_hms_opt(8, 30, 0).unwrap()),
                            Value::Numeric("1234.50".parse().unwrap()),
                            Value::Text(format!("persona{id}@example.mx")),
                            Value::Bool(true),
                        ],
                    );
                    Change {
                        op: ChangeOp::Insert,
                        table: table.clone(),
                        old: None,
                        new: Some(row),
                    }
                })
                .collect();
            let lsn = 0x16_0000_0000 + (offset + t) as u64 * 0x100;
            Transaction {
                side: Side::Legacy,
                xid: (offset + t) as u32,
                commit_lsn: Lsn(lsn),
                end_lsn: Lsn(lsn + 0x30),
                commit_ts: Utc.with_ymd_and_hms(2024, 3, 1, 16, 0, 0).unwrap(),
                origin: None,
                changes,
            }
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let changes = arg(1, 20_000);
    let per_tx = arg(2, 10).max(1);
    let per_call = arg(3, 100).max(1);
    let cluster = MockCluster::new(1).expect("mock cluster");
    let topic = "aquacis.cf_quere_pro.persona";
    cluster.create_topic(topic, 4, 1).expect("topic");
    let bootstrap = cluster.bootstrap_servers();
    let envelope = EnvelopeSettings {
        topic_prefix: "aquacis".into(),
        legacy_db: "aquacis".into(),
        supra_db: "supra".into(),
    };
    let publisher = Publisher::new(PublisherConfig::new(&bootstrap, envelope)).expect("publisher");

    // Strict: one transaction at a time, each acknowledged before the next.
    let strict = transactions(changes / 10, per_tx, 0);
    let n: usize = strict.iter().map(|t| t.changes.len()).sum();
    let started = Instant::now();
    for tx in &strict {
        publisher
            .publish_transaction(tx, false)
            .await
            .expect("publish");
    }
    let strict_rate = n as f64 / started.elapsed().as_secs_f64();
    println!(
        "publish, 1 tx per call ({per_tx} changes/tx):        {n:>7} changes in {:>6.2?}  {strict_rate:>9.0} changes/s",
        started.elapsed()
    );

    // Grouped: many transactions per acknowledgement wait.
    let grouped = transactions(changes, per_tx, n);
    let m: usize = grouped.iter().map(|t| t.changes.len()).sum();
    let started = Instant::now();
    for group in grouped.chunks(per_call) {
        publisher
            .publish_transactions(group, false)
            .await
            .expect("publish");
    }
    let grouped_rate = m as f64 / started.elapsed().as_secs_f64();
    println!(
        "publish, {per_call} tx per call ({per_tx} changes/tx):      {m:>7} changes in {:>6.2?}  {grouped_rate:>9.0} changes/s",
        started.elapsed()
    );

    // Replay everything back.
    let mut config = ReplayConfig::new(&bootstrap, "bench-replay", vec![topic.into()]);
    config.until_high_watermark = true;
    config.max_batch = 1000;
    let started = Instant::now();
    let summary = replay::run(
        config,
        |_| async { Ok::<_, std::convert::Infallible>(()) },
        |_| {},
    )
    .await
    .expect("replay");
    println!(
        "replay (decode, no apply):                    {:>7} records in {:>6.2?}  {:>9.0} records/s",
        summary.progress.messages,
        started.elapsed(),
        summary.progress.messages as f64 / started.elapsed().as_secs_f64()
    );
}
