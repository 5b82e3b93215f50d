//! Reading `supra_sync.sync_conflicts`: one conflict by id (or unique id prefix), or a page of
//! them by filter.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::ResolveError;

/// One `sync_conflicts` row.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictRecord {
    /// Conflict id.
    pub id: Uuid,
    /// Entity (mapping name).
    pub entity: String,
    /// Legacy key text.
    pub entity_id: String,
    /// Direction of the change that hit the conflict.
    pub direction: String,
    /// `concurrent_update`, `update_missing`, …
    pub conflict_type: String,
    /// The mapping's policy when it was detected.
    pub policy: String,
    /// `open`, `resolved` or `superseded`.
    pub status: String,
    /// `legacy_wins`, `supra_wins`, `merged`, `manual`.
    pub resolution: Option<String>,
    /// Legacy image when recorded (`None`: no legacy row).
    pub legacy_data: Option<Json>,
    /// SUPRA image when recorded (`None`: no SUPRA row).
    pub supra_data: Option<Json>,
    /// Image both sides agreed on, when recorded.
    pub last_synced_data: Option<Json>,
    /// Commit time of the legacy side's change.
    pub legacy_commit_ts: Option<DateTime<Utc>>,
    /// Commit time of the SUPRA side's change.
    pub supra_commit_ts: Option<DateTime<Utc>>,
    /// Who resolved it (`policy:<name>` for automatic resolutions).
    pub resolved_by: Option<String>,
    /// Operator's note.
    pub resolution_note: Option<String>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// Changes queued behind it.
    pub held_changes: i32,
    /// When it was detected.
    pub detected_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, entity_type::text, entity_id::text, direction::text, conflict_type::text,
    policy::text, status::text, resolution::text, legacy_data, supra_data, last_synced_data,
    legacy_commit_ts, supra_commit_ts, resolved_by, resolution_note, resolved_at, held_changes,
    detected_at";

fn from_row(r: &tokio_postgres::Row) -> ConflictRecord {
    ConflictRecord {
        id: r.get(0),
        entity: r.get(1),
        entity_id: r.get(2),
        direction: r.get(3),
        conflict_type: r.get(4),
        policy: r.get(5),
        status: r.get(6),
        resolution: r.get(7),
        legacy_data: r.get(8),
        supra_data: r.get(9),
        last_synced_data: r.get(10),
        legacy_commit_ts: r.get(11),
        supra_commit_ts: r.get(12),
        resolved_by: r.get(13),
        resolution_note: r.get(14),
        resolved_at: r.get(15),
        held_changes: r.get(16),
        detected_at: r.get(17),
    }
}

/// Which conflicts to list.
#[derive(Debug, Clone, Default)]
pub struct ConflictFilter {
    /// Only this entity.
    pub entity: Option<String>,
    /// Only this conflict type.
    pub conflict_type: Option<String>,
    /// Only this status (`None`: any).
    pub status: Option<String>,
    /// Only conflicts detected before this instant.
    pub detected_before: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// A page of conflicts, oldest first, and how many match in all.
pub async fn list<C: GenericClient>(
    client: &C,
    filter: &ConflictFilter,
) -> Result<(Vec<ConflictRecord>, i64), ResolveError> {
    let cond = "($1::text IS NULL OR entity_type = $1) AND ($2::text IS NULL OR conflict_type = $2)
                AND ($3::text IS NULL OR status = $3) AND ($4::timestamptz IS NULL OR detected_at < $4)";
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [
        &filter.entity,
        &filter.conflict_type,
        &filter.status,
        &filter.detected_before,
    ];
    let total: i64 = client
        .query_one(
            &format!("SELECT count(*) FROM supra_sync.sync_conflicts WHERE {cond}"),
            &params,
        )
        .await
        .map_err(|e| ResolveError::sql("counting conflicts", e))?
        .get(0);
    let mut all: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params.to_vec();
    all.push(&filter.limit);
    all.push(&filter.offset);
    let rows = client
        .query(
            &format!(
                "SELECT {COLUMNS} FROM supra_sync.sync_conflicts WHERE {cond}
                  ORDER BY detected_at, entity_type, entity_id, id LIMIT $5 OFFSET $6"
            ),
            &all,
        )
        .await
        .map_err(|e| ResolveError::sql("listing conflicts", e))?;
    Ok((rows.iter().map(from_row).collect(), total))
}

/// One conflict by full id or unique prefix (at least 4 characters). `lock` takes the row
/// lock (inside a transaction) so that two operators cannot resolve it at once.
pub async fn get<C: GenericClient>(
    client: &C,
    id: &str,
    lock: bool,
) -> Result<ConflictRecord, ResolveError> {
    let id = id.trim().to_ascii_lowercase();
    let lock = if lock { " FOR UPDATE" } else { "" };
    let rows = match Uuid::parse_str(&id) {
        Ok(uuid) => client
            .query(
                &format!("SELECT {COLUMNS} FROM supra_sync.sync_conflicts WHERE id = $1{lock}"),
                &[&uuid],
            )
            .await
            .map_err(|e| ResolveError::sql("reading the conflict", e))?,
        Err(_) if id.len() >= 4 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') => client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM supra_sync.sync_conflicts
                          WHERE id::text LIKE $1 || '%' ORDER BY id LIMIT 2{lock}"
                ),
                &[&id],
            )
            .await
            .map_err(|e| ResolveError::sql("reading the conflict", e))?,
        Err(_) => {
            return Err(ResolveError::NotFound(format!(
                "{id:?} is not a conflict id\nhint: ids are UUIDs (a unique prefix of 4 or more characters works); list them with `supra-sync conflicts list`"
            )));
        }
    };
    match rows.as_slice() {
        [one] => Ok(from_row(one)),
        [] => Err(ResolveError::NotFound(format!(
            "conflict {id} does not exist\nhint: list conflicts with `supra-sync conflicts list --status all`"
        ))),
        _ => Err(ResolveError::NotFound(format!(
            "conflict id prefix {id} is ambiguous\nhint: give more characters of the id"
        ))),
    }
}

/// Ids of the open conflicts matching `filter` (bulk resolution), oldest first.
pub async fn open_ids<C: GenericClient>(
    client: &C,
    filter: &ConflictFilter,
) -> Result<Vec<Uuid>, ResolveError> {
    let mut f = filter.clone();
    f.status = Some("open".into());
    let mut ids = Vec::new();
    f.offset = 0;
    f.limit = i64::MAX;
    let (rows, _) = list(client, &f).await?;
    ids.extend(rows.iter().map(|r| r.id));
    Ok(ids)
}
