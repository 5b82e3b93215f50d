//! Kafka wiring for `run`: the `[kafka]` section becomes a publisher in front of the forward
//! pipeline, or, with `capture_only = true`, the capture-only loop (publish, acknowledge the
//! legacy slot, apply nothing). Built only with the `kafka` cargo feature (on by default);
//! without it a configured `[kafka]` section is an error, never silently ignored.

use crate::config::KafkaConfig;
use supra_sync_engine::service::Service;

#[cfg(feature = "kafka")]
mod enabled {
    use std::process::ExitCode;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use anyhow::Context;
    use supra_sync_engine::service::Service;
    use supra_sync_kafka::capture::{self, CaptureOptions, CaptureStats};
    use supra_sync_kafka::envelope::EnvelopeSettings;
    use supra_sync_kafka::{KafkaSink, Publisher, PublisherConfig};
    use supra_sync_postgres::names::ObjectNames;
    use tokio::sync::watch;

    use crate::config::{KafkaConfig, RunConfig};
    use crate::options::{GlobalOptions, Side};

    /// The idempotent publisher described by `[kafka]`.
    pub fn publisher(kafka: &KafkaConfig) -> anyhow::Result<Arc<Publisher>> {
        if kafka.bootstrap_servers.trim().is_empty() {
            anyhow::bail!(
                "kafka.bootstrap_servers is empty\nhint: set it in [kafka] or SUPRA_SYNC_KAFKA_BOOTSTRAP_SERVERS"
            );
        }
        let mut config = PublisherConfig::new(
            &kafka.bootstrap_servers,
            EnvelopeSettings {
                topic_prefix: kafka.topic_prefix.clone(),
                legacy_db: kafka.legacy_db.clone(),
                supra_db: kafka.supra_db.clone(),
            },
        );
        config.properties = kafka.properties.clone();
        config.delivery_timeout = Duration::from_millis(kafka.delivery_timeout_ms.max(1));
        Ok(Arc::new(Publisher::new(config)?))
    }

    /// Puts the publisher in front of the forward pipeline.
    pub fn wire(service: Service, kafka: Option<&KafkaConfig>) -> anyhow::Result<Service> {
        let Some(kafka) = kafka else {
            return Ok(service);
        };
        tracing::info!(bootstrap = %kafka.bootstrap_servers, prefix = %kafka.topic_prefix,
            "publishing every captured change to Kafka before applying it");
        Ok(service.with_publisher(Arc::new(KafkaSink::new(publisher(kafka)?))))
    }

    /// `run` with `capture_only = true`: until SIGTERM / Ctrl-C.
    pub async fn capture_only(
        global: &GlobalOptions,
        config: &RunConfig,
        kafka: &KafkaConfig,
    ) -> anyhow::Result<ExitCode> {
        let publisher = publisher(kafka)?;
        let (legacy_db, _) = global.connect(Side::Legacy).await?;
        let opts = CaptureOptions {
            names: ObjectNames::with_prefix(&config.prefix),
            max_batch_changes: config.max_batch_changes,
            batch_linger: Duration::from_millis(config.batch_linger_ms),
            heartbeat_interval: Duration::from_secs(config.heartbeat_secs.max(1)),
            reconnect_give_up: Duration::from_secs(config.reconnect_give_up_secs),
        };
        let stats = Arc::new(CaptureStats::default());
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(async move {
            crate::commands::sync::wait_for_signal().await;
            tracing::info!("shutting down: finishing the batch in flight");
            let _ = stop.send(true);
        });
        let reporter = {
            let stats = stats.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(30));
                loop {
                    tick.tick().await;
                    tracing::info!(
                        published = stats.published.load(Ordering::Relaxed),
                        acknowledged_lsn = %supra_sync_core::Lsn(stats.acknowledged_lsn.load(Ordering::Relaxed)),
                        "capture-only progress"
                    );
                }
            })
        };
        tracing::info!(bootstrap = %kafka.bootstrap_servers, slot = %opts.names.slot(supra_sync_core::Side::Legacy),
            "capture-only: publishing to Kafka, nothing is applied to SUPRA");
        let result = capture::run(&legacy_db, &opts, &publisher, &stats, stopped)
            .await
            .context("capture-only stopped");
        reporter.abort();
        result?;
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(feature = "kafka")]
pub use enabled::capture_only;

/// Puts a Kafka publisher in front of the forward pipeline when `[kafka]` is configured.
pub fn wire(service: Service, kafka: Option<&KafkaConfig>) -> anyhow::Result<Service> {
    #[cfg(feature = "kafka")]
    {
        enabled::wire(service, kafka)
    }
    #[cfg(not(feature = "kafka"))]
    {
        match kafka {
            Some(_) => Err(not_built()),
            None => Ok(service),
        }
    }
}

/// `run` with `capture_only = true`, when this binary has Kafka.
#[cfg(not(feature = "kafka"))]
pub async fn capture_only(
    _global: &crate::options::GlobalOptions,
    _config: &crate::config::RunConfig,
    _kafka: &KafkaConfig,
) -> anyhow::Result<std::process::ExitCode> {
    Err(not_built())
}

#[cfg(not(feature = "kafka"))]
fn not_built() -> anyhow::Error {
    anyhow::anyhow!(
        "[kafka] is configured but this supra-sync was built without Kafka support\nhint: rebuild with the `kafka` cargo feature (on by default)"
    )
}
