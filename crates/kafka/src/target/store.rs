//! What replay writes to SUPRA besides the data: the consumer's offsets
//! (`supra_sync.kafka_offsets`) and the records that could not be decoded (`sync_log`,
//! status `failed`). Both are staged into the applier's target transaction, so they commit
//! atomically with the data of the same batch.

use std::collections::HashMap;

use serde_json::json;
use supra_sync_engine::EngineError;
use supra_sync_postgres::names::ObjectNames;
use tokio_postgres::Client;

use super::batch::FailedRecord;
use crate::replay::TopicPartition;

/// Upserts the next offsets of one group (`$1`) from a JSON array (`$2`) of
/// `{topic, partition, next_offset}`. Forward only: an older batch never moves an offset back.
pub const UPSERT_OFFSETS: &str = "\
INSERT INTO supra_sync.kafka_offsets (consumer_group, topic, partition, next_offset, updated_at)
SELECT $1::text, o.topic, o.partition, o.next_offset, now()
  FROM jsonb_to_recordset($2::text::jsonb) AS o(topic text, partition integer, next_offset bigint)
ON CONFLICT (consumer_group, topic, partition) DO UPDATE
   SET next_offset = GREATEST(supra_sync.kafka_offsets.next_offset, EXCLUDED.next_offset),
       updated_at = now()";

/// Logs one record that could not be decoded as a failed forward change.
pub const INSERT_FAILED: &str = "\
INSERT INTO supra_sync.sync_log
       (entity_type, entity_id, direction, operation, raw_change, status, error_message, error_hint)
VALUES ($1::text, $2::text, 'legacy_to_supra', $3::text, $4::text::json, 'failed', $5::text, $6::text)";

/// The parameters of [`UPSERT_OFFSETS`].
pub fn offsets_params(group: &str, next: &HashMap<TopicPartition, i64>) -> Vec<Option<String>> {
    let mut rows: Vec<_> = next
        .iter()
        .map(|((topic, partition), offset)| {
            json!({"topic": topic, "partition": partition, "next_offset": offset})
        })
        .collect();
    rows.sort_by_key(|r| r.to_string());
    vec![
        Some(group.to_string()),
        Some(serde_json::Value::Array(rows).to_string()),
    ]
}

/// The parameters of [`INSERT_FAILED`]; `entity` names the mapping the topic feeds.
pub fn failed_params(entity: &str, record: &FailedRecord) -> Vec<Option<String>> {
    let text = |b: &Option<Vec<u8>>| b.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
    // The envelope's own `op`, when the value is JSON at all; the log needs one of its four.
    let operation = record
        .value
        .as_deref()
        .and_then(|v| serde_json::from_slice::<serde_json::Value>(v).ok())
        .and_then(|v| v.get("op").and_then(|o| o.as_str()).map(str::to_string));
    let operation = match operation.as_deref() {
        Some("u") => "update",
        Some("d") => "delete",
        Some("t") => "truncate",
        _ => "insert",
    };
    let raw = json!({
        "kafka": {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": text(&record.key),
            "value": text(&record.value),
        }
    });
    vec![
        Some(entity.chars().take(50).collect()),
        Some(format!(
            "{}/{}/{}",
            record.topic, record.partition, record.offset
        )),
        Some(operation.to_string()),
        Some(raw.to_string()),
        Some(format!("undecodable Kafka record: {}", record.error)),
        Some(
            "the record was not written by supra-sync or is corrupt; fix the producer, then replay it under a new group"
                .to_string(),
        ),
    ]
}

/// The next offset per partition stored for `group` by earlier replays.
pub async fn stored_offsets(
    client: &Client,
    group: &str,
) -> Result<HashMap<TopicPartition, i64>, EngineError> {
    let rows = client
        .query(
            "SELECT topic::text, partition, next_offset FROM supra_sync.kafka_offsets
              WHERE consumer_group = $1",
            &[&group],
        )
        .await
        .map_err(|e| EngineError::sql("reading stored Kafka offsets", e))?;
    Ok(rows
        .iter()
        .map(|r| ((r.get::<_, String>(0), r.get::<_, i32>(1)), r.get(2)))
        .collect())
}

/// Creates the replay replication origin when missing (as `setup` does), so a freshly
/// migrated SUPRA can be replayed into without a legacy slot.
pub async fn ensure_replay_origin(client: &Client, names: &ObjectNames) -> Result<(), EngineError> {
    client
        .execute(
            "SELECT pg_replication_origin_create($1)
              WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)",
            &[&names.replay_origin()],
        )
        .await
        .map_err(|e| EngineError::sql("creating the replay origin", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_one_json_array() {
        let mut next = HashMap::new();
        next.insert(("a.b.c".to_string(), 1), 7);
        next.insert(("a.b.c".to_string(), 0), 3);
        let p = offsets_params("g", &next);
        assert_eq!(p[0].as_deref(), Some("g"));
        let rows: serde_json::Value = serde_json::from_str(p[1].as_deref().unwrap()).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 2);
        assert_eq!(rows[0]["partition"], 0);
        assert_eq!(rows[0]["next_offset"], 3);
    }

    #[test]
    fn failed_records_name_their_position_and_keep_raw_bytes() {
        let r = FailedRecord {
            topic: "aquacis.cf_quere_pro.persona".into(),
            partition: 2,
            offset: 41,
            error: "field op is missing".into(),
            key: Some(b"{\"prsid\":\"1\"}".to_vec()),
            value: Some(br#"{"op":"u"}"#.to_vec()),
        };
        let p = failed_params("persona", &r);
        assert_eq!(p[1].as_deref(), Some("aquacis.cf_quere_pro.persona/2/41"));
        assert_eq!(p[2].as_deref(), Some("update"));
        let raw: serde_json::Value = serde_json::from_str(p[3].as_deref().unwrap()).unwrap();
        assert_eq!(raw["kafka"]["value"], r#"{"op":"u"}"#);
    }
}
