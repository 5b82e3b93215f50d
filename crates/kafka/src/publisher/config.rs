//! Publisher settings and the librdkafka properties they become.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

use crate::KafkaError;
use crate::envelope::EnvelopeSettings;

/// How [`Publisher`](super::Publisher) retries a transaction the broker did not acknowledge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait before the first retry; doubled after each failed attempt.
    pub initial_backoff: Duration,
    /// Upper bound of the wait between attempts.
    pub max_backoff: Duration,
    /// Give up (with [`KafkaError::Transient`]) after this many attempts; `None` retries for as
    /// long as the call is not cancelled, which is what a capture pipeline wants.
    pub max_attempts: Option<u32>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Everything [`Publisher::new`](super::Publisher::new) needs.
#[derive(Debug, Clone)]
pub struct PublisherConfig {
    /// `bootstrap.servers`: `host:port[,host:port…]`.
    pub bootstrap_servers: String,
    /// Topic prefix and `source.db` names.
    pub envelope: EnvelopeSettings,
    /// Extra librdkafka properties, passed through as they are: TLS (`security.protocol`,
    /// `ssl.ca.location`, …), SASL (`sasl.mechanism`, `sasl.username`, …), tuning
    /// (`compression.type`, `linger.ms`, `batch.size`, …). They override the defaults below but
    /// may not weaken delivery: `enable.idempotence` must stay `true`, `acks` must stay `all`.
    pub properties: BTreeMap<String, String>,
    /// How long librdkafka keeps trying one attempt (`message.timeout.ms`) before the publisher
    /// counts it as failed and starts the next attempt.
    pub delivery_timeout: Duration,
    /// Retries after a failed attempt.
    pub retry: RetryPolicy,
}

impl PublisherConfig {
    /// A configuration with supra-sync's defaults.
    pub fn new(bootstrap_servers: impl Into<String>, envelope: EnvelopeSettings) -> Self {
        PublisherConfig {
            bootstrap_servers: bootstrap_servers.into(),
            envelope,
            properties: BTreeMap::new(),
            delivery_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
        }
    }

    /// The librdkafka configuration: defaults, then `properties`, then the delivery guarantees.
    pub(crate) fn client_config(&self) -> Result<ClientConfig, KafkaError> {
        for (key, required) in [("enable.idempotence", "true"), ("acks", "all")] {
            if let Some(v) = self.properties.get(key) {
                let ok = v == required || (key == "acks" && v == "-1");
                if !ok {
                    return Err(KafkaError::definite(
                        format!(
                            "producer property {key}={v} would allow lost or reordered changes"
                        ),
                        Some(&format!(
                            "remove {key} from the Kafka properties (supra-sync sets {key}={required})"
                        )),
                    ));
                }
            }
        }
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            // Same partition for the same key as the Java client (Kafka Connect, Debezium).
            .set("partitioner", "murmur2_random")
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            .set(
                "message.timeout.ms",
                self.delivery_timeout.as_millis().to_string(),
            );
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("max.in.flight.requests.per.connection", "5");
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PublisherConfig {
        PublisherConfig::new(
            "localhost:9092",
            EnvelopeSettings {
                topic_prefix: "aquacis".into(),
                legacy_db: "aquacis".into(),
                supra_db: "supra".into(),
            },
        )
    }

    #[test]
    fn delivery_guarantees_cannot_be_weakened() {
        let mut c = config();
        c.properties.insert("acks".into(), "1".into());
        assert!(matches!(
            c.client_config(),
            Err(KafkaError::Definite { .. })
        ));
        let mut c = config();
        c.properties
            .insert("enable.idempotence".into(), "false".into());
        assert!(c.client_config().is_err());
        let mut c = config();
        c.properties
            .insert("security.protocol".into(), "SASL_SSL".into());
        c.properties
            .insert("compression.type".into(), "zstd".into());
        let cc = c.client_config().unwrap();
        assert_eq!(cc.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(cc.get("compression.type"), Some("zstd"));
        assert_eq!(cc.get("enable.idempotence"), Some("true"));
        assert_eq!(cc.get("message.timeout.ms"), Some("60000"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let r = RetryPolicy::default();
        assert_eq!(r.backoff(1), Duration::from_millis(200));
        assert_eq!(r.backoff(2), Duration::from_millis(400));
        assert_eq!(r.backoff(40), Duration::from_secs(30));
    }
}
