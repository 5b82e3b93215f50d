//! `supra-sync log`: browsing `supra_sync.sync_log`, newest first.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::ResolveError;

/// Which log rows to show.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only this entity.
    pub entity: Option<String>,
    /// Only this legacy key.
    pub entity_id: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Only rows logged at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// At most this many rows.
    pub limit: i64,
}

/// One `sync_log` row.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Row id (what `retry` takes).
    pub id: i64,
    /// When it was logged.
    pub synced_at: DateTime<Utc>,
    /// Entity.
    pub entity: String,
    /// Legacy key text.
    pub entity_id: String,
    /// SUPRA id, when known.
    pub supra_id: Option<Uuid>,
    /// `legacy_to_supra` / `supra_to_legacy`.
    pub direction: String,
    /// insert / update / delete / truncate.
    pub operation: String,
    /// applied / failed / skipped / held / retried.
    pub status: String,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// Changed columns.
    pub diff: Option<Json>,
    /// Commit LSN at the source.
    pub source_lsn: Option<String>,
    /// Commit time at the source.
    pub source_commit_ts: Option<DateTime<Utc>>,
    /// The failed row this one retries.
    pub retry_of: Option<i64>,
}

/// Rows matching `filter`, newest first.
pub async fn list<C: GenericClient>(
    client: &C,
    filter: &LogFilter,
) -> Result<Vec<LogEntry>, ResolveError> {
    let rows = client
        .query(
            "SELECT id, synced_at, entity_type::text, entity_id::text, supra_id, direction::text,
                    operation::text, status::text, error_message, diff, source_lsn::text,
                    source_commit_ts, retry_of
               FROM supra_sync.sync_log
              WHERE ($1::text IS NULL OR entity_type = $1) AND ($2::text IS NULL OR entity_id = $2)
                AND ($3::text IS NULL OR status = $3) AND ($4::timestamptz IS NULL OR synced_at >= $4)
              ORDER BY synced_at DESC, id DESC LIMIT $5",
            &[
                &filter.entity,
                &filter.entity_id,
                &filter.status,
                &filter.since,
                &filter.limit,
            ],
        )
        .await
        .map_err(|e| ResolveError::sql("reading sync_log", e))?;
    Ok(rows
        .iter()
        .map(|r| LogEntry {
            id: r.get(0),
            synced_at: r.get(1),
            entity: r.get(2),
            entity_id: r.get(3),
            supra_id: r.get(4),
            direction: r.get(5),
            operation: r.get(6),
            status: r.get(7),
            error: r.get(8),
            diff: r.get(9),
            source_lsn: r.get(10),
            source_commit_ts: r.get(11),
            retry_of: r.get(12),
        })
        .collect())
}
