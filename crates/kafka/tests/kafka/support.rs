//! Shared fixtures: a mock cluster, sample transactions, and a plain consumer that reads a topic
//! back from the beginning to its high watermark.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, TimeZone, Utc};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use supra_sync_core::{
    Change, ChangeOp, ColumnDef, Lsn, PgType, Row, RowSchema, Side, TableName, Transaction, Value,
};
use supra_sync_kafka::envelope::EnvelopeSettings;
use supra_sync_kafka::{PublisherConfig, RetryPolicy};

/// The topic of the sample table.
pub const PERSONA_TOPIC: &str = "aquacis.cf_quere_pro.persona";

pub type Cluster = MockCluster<'static, DefaultProducerContext>;

/// A one-broker mock cluster with the sample topic created with `partitions` partitions.
pub fn cluster(partitions: i32) -> Cluster {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster
        .create_topic(PERSONA_TOPIC, partitions, 1)
        .expect("create topic");
    cluster
}

pub fn envelope_settings() -> EnvelopeSettings {
    EnvelopeSettings {
        topic_prefix: "aquacis".into(),
        legacy_db: "aquacis".into(),
        supra_db: "supra".into(),
    }
}

/// Short timeouts so failure tests finish quickly.
pub fn publisher_config(bootstrap: &str) -> PublisherConfig {
    let mut config = PublisherConfig::new(bootstrap, envelope_settings());
    config.delivery_timeout = Duration::from_millis(1500);
    config.retry = RetryPolicy {
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        max_attempts: None,
    };
    // Reconnect quickly after a broker comes back (librdkafka backs off up to 10 s by default).
    config
        .properties
        .insert("reconnect.backoff.max.ms".into(), "300".into());
    config
}

pub fn persona_table() -> TableName {
    TableName::new("cf_quere_pro", "persona")
}

fn persona_schema() -> Arc<RowSchema> {
    let col = |name: &str, pg_type, key| ColumnDef {
        name: name.into(),
        pg_type,
        key,
    };
    Arc::new(RowSchema {
        table: persona_table(),
        columns: vec![
            col("prsid", PgType::Numeric, true),
            col("prsnombre", PgType::Varchar, false),
            col("prsfecnac", PgType::Date, false),
            col("prsfecreg", PgType::Timestamp, false),
            col("prsfecmod", PgType::Timestamptz, false),
            col("prssaldo", PgType::Numeric, false),
            col("prsnotas", PgType::Text, false),
        ],
    })
}

/// A full persona row.
pub fn persona(id: i64, name: &str) -> Row {
    let date = NaiveDate::from_ymd_opt(1980, 5, 17).unwrap();
    Row::new(
        persona_schema(),
        vec![
            Value::Numeric(id.into()),
            Value::Text(name.into()),
            Value::Date(date),
            Value::Timestamp(date.and_hms_micro_opt(8, 30, 0, 250_000).unwrap()),
            Value::Timestamptz(Utc.with_ymd_and_hms(2024, 3, 1, 16, 0, 0).unwrap()),
            Value::Numeric("1234.50".parse().unwrap()),
            Value::Text("x".repeat(3)),
        ],
    )
}

/// The key-only old image pgoutput sends for deletes and key changes.
pub fn persona_key(id: i64) -> Row {
    let mut values = vec![Value::Null; 7];
    values[0] = Value::Numeric(id.into());
    Row::new(persona_schema(), values)
}

pub fn insert(row: Row) -> Change {
    Change {
        op: ChangeOp::Insert,
        table: persona_table(),
        old: None,
        new: Some(row),
    }
}

pub fn update(old: Option<Row>, new: Row) -> Change {
    Change {
        op: ChangeOp::Update,
        table: persona_table(),
        old,
        new: Some(new),
    }
}

pub fn delete(old: Row) -> Change {
    Change {
        op: ChangeOp::Delete,
        table: persona_table(),
        old: Some(old),
        new: None,
    }
}

/// A legacy transaction; `n` makes xid, LSN and commit time distinct and increasing.
pub fn tx(n: u32, changes: Vec<Change>) -> Transaction {
    let lsn = 0x16_0000_0000 + u64::from(n) * 0x100;
    Transaction {
        side: Side::Legacy,
        xid: 700 + n,
        commit_lsn: Lsn(lsn),
        end_lsn: Lsn(lsn + 0x30),
        commit_ts: Utc.with_ymd_and_hms(2024, 3, 1, 16, 0, 0).unwrap()
            + chrono::Duration::seconds(i64::from(n)),
        origin: None,
        changes,
    }
}

/// A record as a plain consumer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumed {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Consumed {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(self.value.as_ref().expect("not a tombstone")).unwrap()
    }

    pub fn key_text(&self) -> Option<String> {
        self.key
            .as_ref()
            .map(|k| String::from_utf8(k.clone()).unwrap())
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
    }
}

/// Reads every record of `topic` (all partitions, from the beginning to the high watermark
/// at call time), ordered by partition then offset.
pub async fn read_topic(bootstrap: &str, topic: &str) -> Vec<Consumed> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .unwrap();
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| p.id())
        .collect();
    let mut tpl = TopicPartitionList::new();
    let mut remaining = 0;
    for &p in &partitions {
        let (_, high) = consumer
            .fetch_watermarks(topic, p, Duration::from_secs(10))
            .unwrap();
        remaining += high;
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    while remaining > 0 {
        let m = tokio::time::timeout(Duration::from_secs(20), consumer.recv())
            .await
            .expect("records up to the high watermark arrive")
            .unwrap();
        let headers = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        out.push(Consumed {
            topic: m.topic().to_string(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers,
        });
        remaining -= 1;
    }
    out.sort_by_key(|c| (c.partition, c.offset));
    out
}

/// Polls `check` until it holds (state-based waiting; no fixed sleeps in assertions).
pub async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
