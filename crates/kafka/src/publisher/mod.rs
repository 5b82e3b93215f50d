//! Publishing captured transactions, acknowledged before the slot may advance.
//!
//! ```text
//!  Transaction ─► envelope::encode_transaction ─► [Record…] ─► FutureProducer (idempotent,
//!                                                    │          acks=all, murmur2 partitioner)
//!                          attempt n: enqueue records[from..] in order, await every delivery
//!                                                    │
//!             all acknowledged ─► Ok(())   (caller may now confirm tx.end_lsn to the slot)
//!             transient failure ─► backoff, resend from the first unacknowledged record
//!             definite failure  ─► Err(KafkaError::Definite)
//! ```

mod config;
mod context;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use supra_sync_core::{TableName, Transaction};

pub use config::{PublisherConfig, RetryPolicy};
use context::PublisherContext;

use crate::KafkaError;
use crate::envelope::{self, Record};

/// Counters of one publisher, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublisherStats {
    /// Records acknowledged by the broker (a record re-sent after a failure counts again).
    pub records_acked: u64,
    /// Attempts that failed transiently and were retried.
    pub retries: u64,
}

/// Publishes transactions to Kafka with an idempotent producer.
///
/// # Delivery contract
///
/// [`publish_transaction`](Publisher::publish_transaction) returns `Ok(())` only when **every**
/// record of the transaction (each change, and the tombstone after each delete) has been
/// **acknowledged**: the partition leader answered the produce request successfully with
/// `acks=all`, which means the record is in the log of every in-sync replica (with the topic's
/// `min.insync.replicas` ≥ 2 it survives the loss of a broker). Only then may the caller confirm
/// `tx.end_lsn` to the replication slot. Until it returns `Ok`, nothing about the transaction is
/// promised, and the caller must not advance the slot.
///
/// * **Never drops**: a transient failure (broker down, leader election, timeout) is retried
///   with backoff according to [`RetryPolicy`], re-sending from the first record that was not
///   acknowledged. With `max_attempts = None` the call only returns once delivered, or with a
///   [`KafkaError::Definite`] error (record too large, not authorized, bad configuration).
/// * **At least once**: the idempotent producer removes duplicates of its own internal retries,
///   but a record re-sent after a failed attempt, or after a crash before the slot advanced, may
///   appear twice. The re-sent suffix keeps the source order, so the last record for each key is
///   always the newest state; consumers (replay) must be idempotent.
/// * **Order**: records of one table key go to one partition (murmur2 of the JSON key, like the
///   Java client) in source order. Call it for one transaction after the other (or use
///   [`publish_transactions`](Publisher::publish_transactions)) to keep commit order.
/// * **Cancellation**: dropping the future is safe for the slot (it was not advanced) but records
///   already handed to librdkafka may still be delivered: they will appear again after the
///   transaction is re-published.
pub struct Publisher {
    config: PublisherConfig,
    producer: Mutex<FutureProducer<PublisherContext>>,
    acked: AtomicU64,
    retries: AtomicU64,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("config", &self.config)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Publisher {
    /// Creates the producer. Does not contact the broker (that happens on the first publish).
    pub fn new(config: PublisherConfig) -> Result<Self, KafkaError> {
        let producer = create_producer(&config)?;
        Ok(Publisher {
            config,
            producer: Mutex::new(producer),
            acked: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        })
    }

    /// The topic changes of `table` go to: `<prefix>.<schema>.<table>`.
    pub fn topic_for(&self, table: &TableName) -> String {
        envelope::topic_name(&self.config.envelope.topic_prefix, table)
    }

    /// Counters since creation.
    pub fn stats(&self) -> PublisherStats {
        PublisherStats {
            records_acked: self.acked.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }

    /// Publishes every change of `tx` and returns once all of its records are acknowledged
    /// (see the [delivery contract](Publisher#delivery-contract)). `snapshot` marks initial-load
    /// rows (`op` = `r`). A transaction without changes returns at once.
    pub async fn publish_transaction(
        &self,
        tx: &Transaction,
        snapshot: bool,
    ) -> Result<(), KafkaError> {
        self.publish_transactions(std::slice::from_ref(tx), snapshot)
            .await
    }

    /// Publishes several transactions as one batch, in order; returns once all records of all of
    /// them are acknowledged, after which the caller may confirm the last one's `end_lsn`.
    pub async fn publish_transactions(
        &self,
        txs: &[Transaction],
        snapshot: bool,
    ) -> Result<(), KafkaError> {
        let now = Utc::now();
        let records: Vec<Record> = txs
            .iter()
            .flat_map(|tx| envelope::encode_transaction(&self.config.envelope, tx, snapshot, now))
            .collect();
        self.publish_records(&records).await
    }

    /// Publishes prepared records in order, with the same contract as
    /// [`publish_transaction`](Publisher::publish_transaction).
    pub async fn publish_records(&self, records: &[Record]) -> Result<(), KafkaError> {
        let mut from = 0;
        let mut attempt = 0u32;
        while from < records.len() {
            attempt += 1;
            let producer = self.producer.lock().map_err(|_| poisoned())?.clone();
            match self.attempt(&producer, &records[from..]).await {
                Ok(()) => return Ok(()),
                Err((failed_at, err)) if err.is_transient() => {
                    from += failed_at;
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    if self
                        .config
                        .retry
                        .max_attempts
                        .is_some_and(|max| attempt >= max)
                    {
                        return Err(KafkaError::Transient {
                            message: format!(
                                "gave up after {attempt} attempts, {} of {} records unacknowledged: {err}",
                                records.len() - from,
                                records.len()
                            ),
                            source: None,
                        });
                    }
                    let wait = self.config.retry.backoff(attempt);
                    tracing::warn!(attempt, unacknowledged = records.len() - from, ?wait, error = %err,
                        "kafka publish failed, retrying");
                    if let Some((code, reason)) = producer.client().fatal_error() {
                        tracing::warn!(?code, %reason, "kafka producer hit a fatal error, recreating it");
                        *self.producer.lock().map_err(|_| poisoned())? =
                            create_producer(&self.config)?;
                    }
                    tokio::time::sleep(wait).await;
                }
                Err((_, err)) => return Err(err),
            }
        }
        Ok(())
    }

    /// One attempt: enqueue every record in order, then await every delivery report. On
    /// failure, returns the index of the first record that was not acknowledged.
    async fn attempt(
        &self,
        producer: &FutureProducer<PublisherContext>,
        records: &[Record],
    ) -> Result<(), (usize, KafkaError)> {
        let mut deliveries = Vec::with_capacity(records.len());
        let mut failures: Vec<(usize, KafkaError)> = Vec::new();
        for (i, record) in records.iter().enumerate() {
            match enqueue(producer, record).await {
                Ok(delivery) => deliveries.push(delivery),
                Err(err) => {
                    failures.push((i, err));
                    break;
                }
            }
        }
        // Await every report, also after a failure: records enqueued before it may still land.
        for (i, delivery) in deliveries.into_iter().enumerate() {
            match delivery.await {
                Ok(Ok(_)) => {
                    self.acked.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Err((err, _))) => {
                    failures.push((i, KafkaError::from_client("delivery failed", err)))
                }
                Err(_) => failures.push((
                    i,
                    KafkaError::Transient {
                        message: "producer closed before delivery".into(),
                        source: None,
                    },
                )),
            }
        }
        let Some(first) = failures.iter().map(|(i, _)| *i).min() else {
            return Ok(());
        };
        // A definite error anywhere decides; else report the first transient one.
        failures.sort_by_key(|(i, e)| (e.is_transient(), *i));
        let (_, err) = failures.swap_remove(0);
        Err((first, err))
    }
}

/// Hands one record to librdkafka, waiting while its local queue is full.
async fn enqueue(
    producer: &FutureProducer<PublisherContext>,
    record: &Record,
) -> Result<rdkafka::producer::DeliveryFuture, KafkaError> {
    let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
    for (key, value) in &record.headers {
        headers = headers.insert(Header {
            key,
            value: Some(value),
        });
    }
    let mut future = FutureRecord::to(&record.topic).headers(headers);
    if let Some(key) = &record.key {
        future = future.key(key);
    }
    if let Some(value) = &record.value {
        future = future.payload(value);
    }
    loop {
        match producer.send_result(future) {
            Ok(delivery) => return Ok(delivery),
            Err((
                rdkafka::error::KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull),
                back,
            )) => {
                future = back;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Err((err, _)) => return Err(KafkaError::from_client("cannot enqueue record", err)),
        }
    }
}

fn create_producer(
    config: &PublisherConfig,
) -> Result<FutureProducer<PublisherContext>, KafkaError> {
    config
        .client_config()?
        .create_with_context(PublisherContext)
        .map_err(|e| KafkaError::from_client("cannot create the Kafka producer", e))
}

fn poisoned() -> KafkaError {
    KafkaError::definite("publisher state poisoned by a panic", None)
}
