//! The producer's client context: librdkafka's error events at the level they deserve.
//!
//! rdkafka's default context logs every client error at ERROR. A broker that is down or a
//! connection that drops is retried (by librdkafka, then by the publisher) and loses nothing:
//! a warning. A fatal error of the idempotent producer (it can no longer guarantee order and
//! no duplicates) stays an error; the publisher recreates the producer and re-sends.

use rdkafka::ClientContext;
use rdkafka::error::KafkaError as ClientError;
use rdkafka::types::RDKafkaErrorCode;

/// Client context of the publisher's producer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PublisherContext;

impl ClientContext for PublisherContext {
    fn error(&self, error: ClientError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Fatal) {
            tracing::error!(error = %error, reason, "Kafka producer fatal error");
        } else {
            tracing::warn!(error = %error, reason, "Kafka client error (retried)");
        }
    }
}
