//! Replaying topics: records back into core changes, in batches for an applier that stores the
//! offsets with the data it applies.
//!
//! ```text
//!  stored_offsets (from the target DB) ─┐
//!  start (earliest | timestamp) ────────┼─► plan: start offset + high watermark per partition
//!                                       ▼
//!  topics ─► StreamConsumer (assign) ─► governor (max_rate) ─► Decoder ─► ReplayBatch
//!                                                                           │
//!        applier(batch): apply records + store batch.next_offsets in ONE transaction
//!                                                                           │
//!        Ok ─► progress callback ─► next batch (stop when every partition reached its
//!                                   high watermark at start, with until_high_watermark)
//! ```
//!
//! # Contract
//!
//! * **Offsets live with the data.** [`ReplayBatch::next_offsets`] holds, for each partition in
//!   the batch, the offset of the next record to read. The applier stores them in the same
//!   target transaction as the applied records; the next run passes them back as
//!   [`ReplayConfig::stored_offsets`]. A crash at any point therefore resumes exactly after the
//!   last committed batch: no loss, no doubles. Offsets committed to the consumer group are
//!   informational (lag dashboards) and never read back.
//! * **Order.** Records of one partition (so of one key) arrive in offset order; the next batch
//!   is only read after the applier returned `Ok`. Partitions are interleaved.
//! * **Nothing skipped silently.** A record that does not decode is handed to the applier as
//!   [`Err(UndecodableRecord)`](UndecodableRecord) with its raw bytes, so it can go to the
//!   failure log; a stored offset older than the log's start is an error.
//! * **Cancellation.** Dropping the future between or during batches is safe: what the applier
//!   committed carries its offsets, what it did not commit will be read again.

mod config;
mod context;
mod plan;
mod progress;
mod topics;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use governor::{Quota, RateLimiter};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

pub use config::{ReplayConfig, StartFrom, TopicPartition};
pub use progress::ReplayProgress;
pub use topics::list_topics;

use crate::envelope::{Decoded, Decoder};
use crate::{EnvelopeError, KafkaError};
use context::{ReplayConsumer, ReplayContext};
use progress::Tracker;

/// A record that could not be decoded, with its raw bytes for the failure log.
#[derive(Debug, Clone, PartialEq)]
pub struct UndecodableRecord {
    /// Why it could not be decoded.
    pub error: EnvelopeError,
    /// Raw key.
    pub key: Option<Vec<u8>>,
    /// Raw value.
    pub value: Option<Vec<u8>>,
}

/// One replayed record.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayRecord {
    /// Topic it was read from.
    pub topic: String,
    /// Partition it was read from.
    pub partition: i32,
    /// Its offset.
    pub offset: i64,
    /// Its Kafka timestamp, when it has one.
    pub timestamp: Option<DateTime<Utc>>,
    /// The decoded change (with commit LSN and time), a tombstone, or why it failed to decode.
    pub decoded: Result<Decoded, UndecodableRecord>,
}

/// Records handed to the applier in one call.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayBatch {
    /// Records in arrival order (offset order within each partition).
    pub records: Vec<ReplayRecord>,
    /// Per partition in the batch: the next offset to read. Store these with the applied data.
    pub next_offsets: std::collections::HashMap<TopicPartition, i64>,
}

/// What a finished replay did.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySummary {
    /// Final progress figures.
    pub progress: ReplayProgress,
    /// Next offset to read per partition when the replay stopped.
    pub next_offsets: std::collections::HashMap<TopicPartition, i64>,
}

/// Replays the configured topics into `apply`, calling `progress` after every applied batch.
///
/// With [`ReplayConfig::until_high_watermark`] it returns once every partition reached the high
/// watermark it had at start (at once when there is nothing to read); otherwise it runs until
/// the future is dropped or an error occurs. An error from `apply` stops the replay with
/// [`KafkaError::Applier`]; the failed batch's offsets were not stored, so it is read again
/// next time.
pub async fn run<A, Fut, E, P>(
    config: ReplayConfig,
    mut apply: A,
    mut progress: P,
) -> Result<ReplaySummary, KafkaError>
where
    A: FnMut(ReplayBatch) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    P: FnMut(&ReplayProgress),
{
    let consumer: Arc<ReplayConsumer> = Arc::new(
        config
            .client_config()
            .create_with_context(ReplayContext)
            .map_err(|e| KafkaError::from_client("cannot create the Kafka consumer", e))?,
    );
    let plans = {
        let (consumer, config) = (consumer.clone(), config.clone());
        tokio::task::spawn_blocking(move || plan::plan(&consumer, &config))
            .await
            .map_err(|e| KafkaError::definite(format!("replay planning panicked: {e}"), None))??
    };
    consumer
        .assign(&plan::assignment(&plans)?)
        .map_err(|e| KafkaError::from_client("cannot assign partitions", e))?;
    let mut tracker = Tracker::new(&plans);
    let limiter = config
        .max_rate
        .map(|rate| RateLimiter::direct(Quota::per_second(rate)));
    let mut decoder = Decoder::new();
    let mut next_offsets = std::collections::HashMap::new();
    tracing::info!(topics = ?config.topics, partitions = plans.len(),
        remaining = tracker.report().remaining, "replay started");

    loop {
        if config.until_high_watermark && tracker.all_caught_up() {
            break;
        }
        let mut batch = ReplayBatch {
            records: Vec::new(),
            next_offsets: Default::default(),
        };
        let mut deadline = None;
        while batch.records.len() < config.max_batch.max(1) {
            if config.until_high_watermark && tracker.all_caught_up() {
                break;
            }
            let received = match deadline {
                None => consumer.recv().await,
                Some(at) => match tokio::time::timeout_at(at, consumer.recv()).await {
                    Ok(received) => received,
                    Err(_) => break,
                },
            };
            let message = match received {
                Ok(message) => message,
                Err(rdkafka::error::KafkaError::PartitionEOF(_)) => {
                    catch_up_at_eof(&consumer, &mut tracker);
                    continue;
                }
                Err(err) => {
                    let err = KafkaError::from_client("cannot read from Kafka", err);
                    if err.is_transient() {
                        tracing::warn!(error = %err, "replay read failed; the client retries");
                        continue;
                    }
                    return Err(err);
                }
            };
            let tp = (message.topic().to_string(), message.partition());
            let offset = message.offset();
            if config.until_high_watermark && tracker.high(&tp).is_some_and(|high| offset >= high) {
                pause(&consumer, &tp);
                continue;
            }
            if let Some(limiter) = &limiter {
                limiter.until_ready().await;
            }
            batch.records.push(record(&mut decoder, &message));
            batch.next_offsets.insert(tp.clone(), offset + 1);
            tracker.advance(&tp, offset + 1);
            deadline.get_or_insert_with(|| tokio::time::Instant::now() + config.batch_linger);
        }
        if batch.records.is_empty() {
            continue;
        }
        let (count, offsets) = (batch.records.len(), batch.next_offsets.clone());
        apply(batch)
            .await
            .map_err(|e| KafkaError::Applier(e.into()))?;
        tracker.batch_applied(count);
        commit_informational(&consumer, &offsets);
        next_offsets.extend(offsets);
        progress(&tracker.report());
    }
    let report = tracker.report();
    tracing::info!(messages = report.messages, elapsed = ?report.elapsed, "replay finished");
    Ok(ReplaySummary {
        progress: report,
        next_offsets,
    })
}

fn record(decoder: &mut Decoder, message: &BorrowedMessage<'_>) -> ReplayRecord {
    let headers: Vec<(&str, &[u8])> = message
        .headers()
        .map(|h| {
            h.iter()
                .map(|h| (h.key, h.value.unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let (key, value) = (message.key(), message.payload());
    let decoded = decoder
        .decode(key, value, &headers)
        .map_err(|error| UndecodableRecord {
            error,
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
        });
    ReplayRecord {
        topic: message.topic().to_string(),
        partition: message.partition(),
        offset: message.offset(),
        timestamp: message
            .timestamp()
            .to_millis()
            .and_then(DateTime::from_timestamp_millis),
        decoded,
    }
}

/// At a partition end, the client's position also covers offsets that hold no record for us
/// (e.g. transaction markers of other producers), so a gap cannot stall `--until`.
fn catch_up_at_eof(consumer: &ReplayConsumer, tracker: &mut Tracker) {
    if let Ok(positions) = consumer.position() {
        for elem in positions.elements() {
            if let Offset::Offset(position) = elem.offset() {
                tracker.advance(&(elem.topic().to_string(), elem.partition()), position);
            }
        }
    }
}

fn pause(consumer: &ReplayConsumer, (topic, partition): &TopicPartition) {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, *partition);
    if let Err(e) = consumer.pause(&tpl) {
        tracing::debug!(error = %e, topic, partition, "cannot pause a caught-up partition");
    }
}

/// Commits the stored offsets to the consumer group for lag monitoring only.
fn commit_informational(
    consumer: &ReplayConsumer,
    offsets: &std::collections::HashMap<TopicPartition, i64>,
) {
    let mut tpl = TopicPartitionList::new();
    for ((topic, partition), offset) in offsets {
        let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(*offset));
    }
    if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
        tracing::debug!(error = %e, "informational offset commit failed");
    }
}
