//! The engine's [`ChangePublisher`] over a Kafka [`Publisher`]: how the sync pipeline publishes
//! every captured transaction before applying it.
//!
//! ```text
//!  Pipeline ─ batch (commit order) ─► KafkaSink::publish ─► Publisher::publish_transactions
//!     │                                                        │ every record acknowledged
//!     │ ◄───────────────────── Ok ─────────────────────────────┘ (acks=all, idempotent)
//!     ├─► Applier::apply (unless capture-only)
//!     └─► acknowledge end_lsn to the slot
//! ```
//!
//! The contract of [`ChangePublisher::publish`] (return `Ok` only when every change is durably
//! accepted by the broker) is exactly [`Publisher`]'s [delivery contract](Publisher#delivery-contract).
//! A transient failure is retried inside the publisher according to its
//! [`RetryPolicy`](crate::RetryPolicy); with the default (unlimited attempts) the call only
//! returns once delivered, so the pipeline — and the slot — waits while the broker is down.

use std::sync::Arc;

use supra_sync_core::Transaction;
use supra_sync_engine::publish::{ChangePublisher, PublishError, PublishFuture};

use crate::{KafkaError, Publisher};

/// Publishes pipeline batches to Kafka (one topic per source table).
#[derive(Debug, Clone)]
pub struct KafkaSink {
    publisher: Arc<Publisher>,
}

impl KafkaSink {
    /// An adapter over `publisher` (shared, e.g. with a metrics reporter reading its stats).
    pub fn new(publisher: Arc<Publisher>) -> KafkaSink {
        KafkaSink { publisher }
    }

    /// The publisher behind it.
    pub fn publisher(&self) -> &Arc<Publisher> {
        &self.publisher
    }
}

impl ChangePublisher for KafkaSink {
    fn publish<'a>(&'a self, batch: &'a [Transaction], snapshot: bool) -> PublishFuture<'a> {
        Box::pin(async move {
            self.publisher
                .publish_transactions(batch, snapshot)
                .await
                .map_err(publish_error)
        })
    }
}

/// Carries the consequence (transient or not) and the operator hint across the boundary.
pub(crate) fn publish_error(err: KafkaError) -> PublishError {
    let transient = err.is_transient();
    let message = match &err {
        KafkaError::Definite {
            hint: Some(hint), ..
        } => format!("publishing to Kafka: {err}\nhint: {hint}"),
        _ => format!("publishing to Kafka: {err}"),
    };
    PublishError { message, transient }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_consequence_and_hint() {
        let e = publish_error(KafkaError::definite("record too large", Some("raise it")));
        assert!(!e.transient);
        assert_eq!(
            e.message,
            "publishing to Kafka: kafka error: record too large\nhint: raise it"
        );
        let e = publish_error(KafkaError::Transient {
            message: "broker down".into(),
            source: None,
        });
        assert!(e.transient);
    }
}
