//! A whole replay into SUPRA: stored offsets in, [`replay::run`] through a [`ReplayTarget`],
//! retried while the broker is unreachable.
//!
//! ```text
//!  loop ─ stored_offsets(group) ─► ReplayConfig.stored_offsets ─► replay::run(apply = target)
//!    ▲                                                                 │
//!    └── transient (broker unreachable at start), within give_up ◄─────┤
//!                                            Ok / definite / give up ◄─┘
//! ```
//! Each attempt re-reads the stored offsets, so batches committed by an earlier attempt are
//! never applied again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use supra_sync_engine::EngineError;

use super::{ReplayTarget, TargetStats};
use crate::KafkaError;
use crate::replay::{self, ReplayConfig, ReplayProgress, ReplaySummary};

/// Why a replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Kafka failed definitely (unknown topic, authorization, deleted records, …).
    #[error(transparent)]
    Kafka(KafkaError),
    /// SUPRA or legacy failed (definitely, or for longer than the retry window).
    #[error(transparent)]
    Database(#[from] EngineError),
    /// The brokers could not be reached for the whole retry window.
    #[error(
        "cannot reach Kafka at {bootstrap} (kept trying for {waited:?}): {last}\nhint: check kafka.bootstrap_servers (SUPRA_SYNC_KAFKA_BOOTSTRAP_SERVERS) and that the broker is up; TLS/SASL settings go in kafka.properties"
    )]
    Unreachable {
        /// The bootstrap servers tried.
        bootstrap: String,
        /// How long it kept trying.
        waited: Duration,
        /// The last error.
        last: KafkaError,
    },
}

/// What a finished replay did.
#[derive(Debug, Clone)]
pub struct ReplayOutcome {
    /// The consumer's summary (records read, final offsets).
    pub summary: ReplaySummary,
    /// What the target did with them.
    pub stats: TargetStats,
}

/// Runs `config` into `target` (its `stored_offsets` are replaced by the group's stored
/// ones). `progress` is called after every committed batch with the consumer's figures and
/// the target's counters.
pub async fn run(
    target: ReplayTarget,
    config: ReplayConfig,
    give_up_after: Duration,
    mut progress: impl FnMut(&ReplayProgress, &TargetStats),
) -> Result<ReplayOutcome, ReplayError> {
    let target = Arc::new(tokio::sync::Mutex::new(target));
    let started = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        let mut attempt = config.clone();
        attempt.stored_offsets = target.lock().await.stored_offsets().await?;
        let result = replay::run(
            attempt,
            |batch| {
                let target = target.clone();
                async move { target.lock().await.apply(batch).await }
            },
            |p| {
                if let Ok(t) = target.try_lock() {
                    progress(p, &t.stats());
                }
            },
        )
        .await;
        let err = match result {
            Ok(summary) => {
                let stats = target.lock().await.stats();
                return Ok(ReplayOutcome { summary, stats });
            }
            Err(KafkaError::Applier(e)) => return Err(applier_error(e)),
            Err(e) if e.is_transient() => e,
            Err(e) => return Err(ReplayError::Kafka(e)),
        };
        if started.elapsed() >= give_up_after {
            return Err(ReplayError::Unreachable {
                bootstrap: config.bootstrap_servers.clone(),
                waited: started.elapsed(),
                last: err,
            });
        }
        tracing::warn!(error = %err, retry_in = ?delay, "Kafka unavailable; retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

fn applier_error(e: Box<dyn std::error::Error + Send + Sync>) -> ReplayError {
    match e.downcast::<EngineError>() {
        Ok(e) => ReplayError::Database(*e),
        Err(e) => ReplayError::Database(EngineError::Definite(e.to_string())),
    }
}
