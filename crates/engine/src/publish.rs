//! The optional change publisher (Kafka) the pipeline calls before applying.
//!
//! Contract: [`ChangePublisher::publish`] returns `Ok` only when every change of `batch` is
//! durably accepted by the broker. The pipeline publishes a batch *before* applying it and
//! acknowledges the slot only after both, so a crash between publish and apply re-publishes
//! (at-least-once to Kafka) and never loses a change.

use std::future::Future;
use std::pin::Pin;

use supra_sync_core::Transaction;

/// A boxed future returned by [`ChangePublisher::publish`].
pub type PublishFuture<'a> = Pin<Box<dyn Future<Output = Result<(), PublishError>> + Send + 'a>>;

/// A failed publish.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct PublishError {
    /// What happened.
    pub message: String,
    /// Whether retrying may succeed (broker unavailable).
    pub transient: bool,
}

/// Somewhere to send captured changes before they are applied.
pub trait ChangePublisher: Send + Sync {
    /// Publishes `batch` (in commit order); `snapshot` marks snapshot rows.
    fn publish<'a>(&'a self, batch: &'a [Transaction], snapshot: bool) -> PublishFuture<'a>;
}
