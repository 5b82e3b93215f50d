//! The consumer's client context: librdkafka's error events at the level they deserve.
//!
//! With `enable.partition.eof` (the `--until` mode) librdkafka reports every partition end as
//! a "global error"; rdkafka's default context logs all of them at ERROR. Reaching the end of
//! a partition is how `--until` finishes, and a broker going away is retried by the client:
//! neither loses data, so neither is logged as an error here.

use rdkafka::ClientContext;
use rdkafka::consumer::{ConsumerContext, StreamConsumer};
use rdkafka::error::KafkaError as ClientError;

/// The consumer type replay uses.
pub(crate) type ReplayConsumer = StreamConsumer<ReplayContext>;

/// Client context of the replay consumer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReplayContext;

impl ClientContext for ReplayContext {
    fn error(&self, error: ClientError, reason: &str) {
        match error {
            ClientError::PartitionEOF(partition) => {
                tracing::debug!(partition, "reached the end of a partition")
            }
            other => {
                tracing::warn!(error = %other, reason, "Kafka client error (retried by the client)")
            }
        }
    }
}

impl ConsumerContext for ReplayContext {}
