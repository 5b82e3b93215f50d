//! Replay settings.

use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rdkafka::ClientConfig;

/// A topic partition: `(topic, partition)`.
pub type TopicPartition = (String, i32);

/// Where a partition without a stored offset starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartFrom {
    /// The oldest record still in the log.
    Earliest,
    /// The first record whose timestamp is at or after this instant (the end when none is).
    Timestamp(DateTime<Utc>),
}

/// Everything [`run`](super::run) needs.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// Consumer group id: names this replay to the brokers (monitoring, quotas, ACLs). Offsets
    /// committed to the group are informational only; the stored offsets below are the truth.
    pub group_id: String,
    /// Topics to read (every partition of each is assigned to this consumer).
    pub topics: Vec<String>,
    /// Start of partitions that have no entry in `stored_offsets`.
    pub start: StartFrom,
    /// The next offset to read per partition, as the applier stored it with the applied data in
    /// its last committed transaction. Takes precedence over `start`.
    pub stored_offsets: HashMap<TopicPartition, i64>,
    /// Stop at the partitions' high watermarks as they are when the replay starts (`--until`).
    /// Without it, the replay runs until its future is dropped.
    pub until_high_watermark: bool,
    /// At most this many records per second (`--max-rate`).
    pub max_rate: Option<NonZeroU32>,
    /// At most this many records per batch handed to the applier.
    pub max_batch: usize,
    /// After the first record of a batch, wait at most this long for more.
    pub batch_linger: Duration,
    /// Extra librdkafka properties (TLS, SASL, fetch tuning), passed through as they are.
    pub properties: BTreeMap<String, String>,
    /// Timeout of the metadata and watermark requests made at start.
    pub metadata_timeout: Duration,
}

impl ReplayConfig {
    /// A configuration with supra-sync's defaults: from the earliest record, no stored offsets,
    /// no rate limit, batches of up to 500 records.
    pub fn new(
        bootstrap_servers: impl Into<String>,
        group_id: impl Into<String>,
        topics: Vec<String>,
    ) -> Self {
        ReplayConfig {
            bootstrap_servers: bootstrap_servers.into(),
            group_id: group_id.into(),
            topics,
            start: StartFrom::Earliest,
            stored_offsets: HashMap::new(),
            until_high_watermark: false,
            max_rate: None,
            max_batch: 500,
            batch_linger: Duration::from_millis(50),
            properties: BTreeMap::new(),
            metadata_timeout: Duration::from_secs(30),
        }
    }

    pub(crate) fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("group.id", &self.group_id);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
            // Offsets are stored by the applier, with the data; never by the client on its own.
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // A stored offset that the log no longer has is an error, never a silent jump.
            .set("auto.offset.reset", "error")
            .set(
                "enable.partition.eof",
                if self.until_high_watermark {
                    "true"
                } else {
                    "false"
                },
            );
        config
    }
}
