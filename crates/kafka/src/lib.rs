//! supra-sync's Kafka side: every captured change published in a Debezium-compatible envelope,
//! and topics replayed back into core changes.
//!
//! ```text
//!  source ─► Transaction ─► Publisher::publish_transaction ─► topic <prefix>.<schema>.<table>
//!                              (envelope::encode_transaction,       │
//!                               idempotent producer, acks=all)      │
//!  caller advances the slot only after publish_transaction → Ok     │
//!                                                                   ▼
//!  applier ◄─ ReplayBatch{records, next_offsets} ◄─ replay::run ◄─ StreamConsumer
//!  (stores next_offsets with the applied data)       (governor rate limit, --until high watermark)
//! ```
//!
//! * [`envelope`]: the record format (pure, round-trip tested).
//! * [`publisher`]: [`Publisher`], the delivery contract is in its rustdoc.
//! * [`replay`]: [`replay::run`], a consumer whose offsets live with the applied data.
//! * [`sink`]: [`KafkaSink`], the engine's `ChangePublisher` over a [`Publisher`] (the sync
//!   pipeline publishes each batch before applying it).
//! * [`target`]: [`target::ReplayTarget`], replay batches applied to SUPRA through the
//!   mappings, offsets in the same transaction (`supra-sync replay`).
//! * [`capture`]: capture-only, the legacy slot published to Kafka without applying.
#![deny(missing_docs)]

pub mod capture;
pub mod envelope;
mod error;
pub mod publisher;
pub mod replay;
pub mod sink;
pub mod target;

pub use error::{EnvelopeError, KafkaError};
pub use publisher::{Publisher, PublisherConfig, PublisherStats, RetryPolicy};
pub use sink::KafkaSink;
