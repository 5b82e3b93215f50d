//! Initial load and re-snapshots, consistent with the stream without a long transaction on
//! legacy: the watermark technique (DBLog, Debezium incremental snapshots).
//!
//! ```text
//!  legacy:  emit LOW(id) ─ SELECT next chunk by key (keyset, LIMIT n) ─ emit HIGH(id)
//!  stream:  … tx … LOW(id) … tx(k1) … tx(k7) … HIGH(id) …
//!                          └ keys changed inside the window are dropped from the chunk:
//!                            the stream already carries a newer image of them
//!  at HIGH: the remaining chunk rows are applied as inserts, in stream order, in one target
//!           transaction that also records snapshot_progress.last_key and the origin position
//! ```
//! A crash anywhere loses at most the chunk in flight: on restart the stream resumes before
//! its HIGH mark, the HIGH mark finds no chunk and is ignored, and the chunk is read again
//! from the last committed key. Entities load in dependency order (persona before contrato);
//! a row whose reference is not mapped yet is parked and retried, never failed.

use std::collections::HashSet;

use serde_json::json;
use supra_sync_core::{Lsn, Row, TableName, Value};
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::source::WATERMARK_PREFIX;
use tokio_postgres::Client;

use crate::EngineError;
use crate::reader::RowReader;

/// Snapshot state of one entity, as stored in `supra_sync.snapshot_progress`.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityProgress {
    /// Entity.
    pub entity: String,
    /// Its primary legacy table.
    pub table: TableName,
    /// Key of the last row applied (in key-column order).
    pub last_key: Option<Vec<Value>>,
    /// Rows applied so far.
    pub rows: i64,
}

/// A chunk read between two watermarks, waiting for its HIGH mark on the stream.
#[derive(Debug)]
pub struct Chunk {
    /// Watermark id.
    pub id: String,
    /// Entity.
    pub entity: String,
    /// Table read.
    pub table: TableName,
    /// Rows read, in key order.
    pub rows: Vec<Row>,
    /// True when fewer rows than the chunk size came back (the table is done).
    pub last: bool,
    window_open: bool,
    changed: HashSet<String>,
}

impl Chunk {
    /// The stream reached the LOW mark: start collecting changed keys.
    pub fn open_window(&mut self) {
        self.window_open = true;
    }

    /// A streamed change to `table` with key `key` inside the window.
    pub fn observe(&mut self, table: &TableName, key: String) {
        if self.window_open && *table == self.table {
            self.changed.insert(key);
        }
    }

    /// The rows to apply at the HIGH mark: those not changed inside the window.
    pub fn surviving_rows(&self) -> Vec<Row> {
        self.rows
            .iter()
            .filter(|r| !self.changed.contains(&r.key_text()))
            .cloned()
            .collect()
    }

    /// Progress after applying this chunk.
    pub fn progress(&self, before: &EntityProgress) -> EntityProgress {
        EntityProgress {
            entity: self.entity.clone(),
            table: self.table.clone(),
            last_key: self
                .rows
                .last()
                .map(|r| r.key_values().into_iter().cloned().collect())
                .or_else(|| before.last_key.clone()),
            rows: before.rows + self.rows.len() as i64,
        }
    }
}

/// Reads and tracks snapshot work for the forward pipeline.
pub struct Snapshotter {
    reader: RowReader,
    chunk_rows: i64,
    next_id: u64,
}

impl Snapshotter {
    /// A snapshotter reading legacy through `client`.
    pub async fn new(client: Client, chunk_rows: i64) -> Result<Snapshotter, EngineError> {
        Ok(Snapshotter {
            reader: RowReader::new(client).await?,
            chunk_rows,
            next_id: 0,
        })
    }

    /// Entities still to snapshot, in dependency order, with their progress.
    pub async fn pending(
        supra: &Client,
        mappings: &MappingSet,
    ) -> Result<Vec<EntityProgress>, EngineError> {
        let rows = supra
            .query(
                "SELECT entity_type::text, source_table::text, last_key::text, rows_copied
                   FROM supra_sync.snapshot_progress
                  WHERE direction = 'legacy_to_supra' AND status IN ('pending', 'running')",
                &[],
            )
            .await
            .map_err(|e| EngineError::sql("reading snapshot progress", e))?;
        let mut out = Vec::new();
        for entity in mappings.entities() {
            let table = entity.legacy_table().clone();
            if let Some(r) = rows.iter().find(|r| r.get::<_, String>(0) == entity.name()) {
                let last_key = r
                    .get::<_, Option<String>>(2)
                    .and_then(|t| serde_json::from_str::<Vec<Option<String>>>(&t).ok())
                    .map(|v| {
                        v.into_iter()
                            .map(|x| x.map_or(Value::Null, Value::Text))
                            .collect()
                    });
                out.push(EntityProgress {
                    entity: entity.name().to_string(),
                    table,
                    last_key,
                    rows: r.get(3),
                });
            }
        }
        Ok(out)
    }

    /// Marks `entities` (all mapped ones when empty) to be snapshotted from the start.
    pub async fn request(
        supra: &Client,
        mappings: &MappingSet,
        entities: &[String],
    ) -> Result<usize, EngineError> {
        let mut n = 0;
        for entity in mappings.entities() {
            if !entities.is_empty() && !entities.iter().any(|e| e == entity.name()) {
                continue;
            }
            supra
                .execute(
                    "INSERT INTO supra_sync.snapshot_progress (entity_type, source_table, status, last_key, rows_copied, chunks_done, started_at)
                     VALUES ($1, $2, 'pending', NULL, 0, 0, NULL)
                     ON CONFLICT (entity_type, source_table) DO UPDATE
                        SET status = 'pending', last_key = NULL, rows_copied = 0, chunks_done = 0,
                            started_at = NULL, finished_at = NULL, error_message = NULL, updated_at = now()",
                    &[&entity.name(), &entity.legacy_table().to_string()],
                )
                .await
                .map_err(|e| EngineError::sql("requesting a snapshot", e))?;
            n += 1;
        }
        Ok(n)
    }

    /// Emits LOW, reads the next chunk after `progress.last_key`, emits HIGH.
    pub async fn read_chunk(&mut self, progress: &EntityProgress) -> Result<Chunk, EngineError> {
        self.next_id += 1;
        let id = format!(
            "{}:{}:{}",
            progress.entity,
            std::process::id(),
            self.next_id
        );
        self.emit(&format!("low:{id}")).await?;
        let rows = self
            .reader
            .page(
                &progress.table,
                progress.last_key.as_deref(),
                self.chunk_rows,
            )
            .await?;
        self.emit(&format!("high:{id}")).await?;
        Ok(Chunk {
            id,
            entity: progress.entity.clone(),
            table: progress.table.clone(),
            last: (rows.len() as i64) < self.chunk_rows,
            rows,
            window_open: false,
            changed: HashSet::new(),
        })
    }

    async fn emit(&self, content: &str) -> Result<(), EngineError> {
        self.reader
            .client()
            .execute(
                "SELECT pg_logical_emit_message(false, $1, $2)",
                &[&WATERMARK_PREFIX, &content],
            )
            .await
            .map_err(|e| EngineError::sql("emitting a snapshot watermark", e))?;
        Ok(())
    }
}

/// Splits watermark content `low:<id>` / `high:<id>`.
pub fn parse_watermark(content: &str) -> Option<(bool, &str)> {
    content
        .strip_prefix("low:")
        .map(|id| (true, id))
        .or_else(|| content.strip_prefix("high:").map(|id| (false, id)))
}

/// Writes snapshot progress inside the target transaction that applied the chunk.
pub async fn record_progress<C: tokio_postgres::GenericClient>(
    client: &C,
    progress: &EntityProgress,
    done: bool,
    high_lsn: Lsn,
) -> Result<(), EngineError> {
    let last_key = progress
        .last_key
        .as_ref()
        .map(|k| json!(k.iter().map(Value::to_text).collect::<Vec<_>>()).to_string());
    client
        .execute(
            "UPDATE supra_sync.snapshot_progress
                SET last_key = $3::text::jsonb, rows_copied = $4, chunks_done = chunks_done + 1,
                    status = CASE WHEN $5 THEN 'done' ELSE 'running' END,
                    started_at = COALESCE(started_at, now()),
                    finished_at = CASE WHEN $5 THEN now() END,
                    high_watermark_lsn = $6::text::pg_lsn, updated_at = now()
              WHERE entity_type = $1 AND source_table = $2",
            &[
                &progress.entity,
                &progress.table.to_string(),
                &last_key,
                &progress.rows,
                &done,
                &high_lsn.to_string(),
            ],
        )
        .await
        .map_err(|e| EngineError::sql("recording snapshot progress", e))?;
    Ok(())
}
