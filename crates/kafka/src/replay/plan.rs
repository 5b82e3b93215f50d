//! Start offsets and high watermarks of every assigned partition, resolved once at start.

use std::collections::BTreeMap;

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};

use super::config::{ReplayConfig, StartFrom, TopicPartition};
use super::context::ReplayConsumer;
use crate::KafkaError;

/// One partition's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartitionPlan {
    /// First offset to read.
    pub start: i64,
    /// High watermark when the replay started (offset of the next record to be written).
    pub high: i64,
}

/// Resolves where each partition of each topic starts. Blocking (metadata requests).
pub(crate) fn plan(
    consumer: &ReplayConsumer,
    config: &ReplayConfig,
) -> Result<BTreeMap<TopicPartition, PartitionPlan>, KafkaError> {
    let timeout = config.metadata_timeout;
    let mut plans = BTreeMap::new();
    for topic in &config.topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), timeout)
            .map_err(|e| KafkaError::from_client(&format!("cannot read metadata of {topic}"), e))?;
        let Some(meta) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Err(KafkaError::definite(
                format!("topic {topic} does not exist"),
                None,
            ));
        };
        if let Some(err) = meta.error() {
            return Err(KafkaError::definite(
                format!(
                    "topic {topic} cannot be read: {:?}",
                    rdkafka::types::RDKafkaErrorCode::from(err)
                ),
                Some("check the topic name and the consumer's ACLs"),
            ));
        }
        if meta.partitions().is_empty() {
            return Err(KafkaError::definite(
                format!("topic {topic} does not exist"),
                None,
            ));
        }
        for partition in meta.partitions() {
            let p = partition.id();
            let (low, high) = consumer.fetch_watermarks(topic, p, timeout).map_err(|e| {
                KafkaError::from_client(&format!("cannot read watermarks of {topic}[{p}]"), e)
            })?;
            let start = match config.stored_offsets.get(&(topic.clone(), p)) {
                Some(&stored) if stored < low => {
                    return Err(KafkaError::definite(
                        format!(
                            "records {stored}..{low} of {topic}[{p}] were deleted before they were replayed"
                        ),
                        Some(
                            "the topic's retention is shorter than the replay lag; replay from a snapshot instead",
                        ),
                    ));
                }
                Some(&stored) if stored > high => {
                    return Err(KafkaError::definite(
                        format!("stored offset {stored} of {topic}[{p}] is past its end ({high})"),
                        Some(
                            "the topic was deleted and recreated since the last replay; replay it from the start into an empty target",
                        ),
                    ));
                }
                Some(&stored) => stored,
                None => match config.start {
                    StartFrom::Earliest => low,
                    StartFrom::Timestamp(ts) => {
                        offset_for_time(consumer, topic, p, ts.timestamp_millis(), high, config)?
                    }
                },
            };
            plans.insert((topic.clone(), p), PartitionPlan { start, high });
        }
    }
    Ok(plans)
}

fn offset_for_time(
    consumer: &ReplayConsumer,
    topic: &str,
    partition: i32,
    millis: i64,
    high: i64,
    config: &ReplayConfig,
) -> Result<i64, KafkaError> {
    let mut query = TopicPartitionList::new();
    query
        .add_partition_offset(topic, partition, Offset::Offset(millis))
        .map_err(|e| KafkaError::from_client("bad offset query", e))?;
    let answer = consumer
        .offsets_for_times(query, config.metadata_timeout)
        .map_err(|e| {
            KafkaError::from_client(&format!("cannot look up offsets of {topic} by time"), e)
        })?;
    let offset = answer
        .find_partition(topic, partition)
        .map(|e| e.offset())
        .unwrap_or(Offset::End);
    Ok(match offset {
        Offset::Offset(o) => o,
        // No record at or after the instant.
        _ => high,
    })
}

/// The assignment for the plan: each partition at its start offset.
pub(crate) fn assignment(
    plans: &BTreeMap<TopicPartition, PartitionPlan>,
) -> Result<TopicPartitionList, KafkaError> {
    let mut tpl = TopicPartitionList::new();
    for ((topic, p), plan) in plans {
        tpl.add_partition_offset(topic, *p, Offset::Offset(plan.start))
            .map_err(|e| KafkaError::from_client("bad assignment", e))?;
    }
    Ok(tpl)
}
