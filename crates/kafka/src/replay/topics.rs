//! Which topics exist: checked before a replay so that a typo is a definite error naming the
//! topic, not an auto-created empty topic or a silent wait.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::KafkaError;

/// Every topic the cluster reports (internal `__…` topics excluded). One metadata request;
/// an unreachable cluster is a [`KafkaError::Transient`] after `timeout`.
pub async fn list_topics(
    bootstrap_servers: &str,
    properties: &BTreeMap<String, String>,
    timeout: Duration,
) -> Result<BTreeSet<String>, KafkaError> {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", bootstrap_servers);
    for (key, value) in properties {
        config.set(key, value);
    }
    let consumer: BaseConsumer = config
        .create()
        .map_err(|e| KafkaError::from_client("cannot create the Kafka client", e))?;
    tokio::task::spawn_blocking(move || {
        let metadata = consumer
            .fetch_metadata(None, timeout)
            .map_err(|e| KafkaError::from_client("cannot list the Kafka topics", e))?;
        Ok(metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none() && !t.name().starts_with("__"))
            .map(|t| t.name().to_string())
            .collect())
    })
    .await
    .map_err(|e| KafkaError::definite(format!("listing topics panicked: {e}"), None))?
}
