//! `supra-sync status`: one screen on the health of both pipelines, read from the servers
//! (slots, origins, WAL positions) and from SUPRA's bookkeeping.
//!
//! ```text
//!  source server: pg_current_wal_lsn · slot (active, restart_lsn, confirmed_flush_lsn)
//!                 · pg_stat_replication lag            → lag bytes / seconds, retained WAL
//!  target server: replication origin progress           → applied LSN
//!  SUPRA:         sync_log (last minute, failed) · sync_conflicts · held/parked changes
//!                 · snapshot_progress (+ legacy row estimates)
//! ```

use chrono::{DateTime, Utc};
use serde::Serialize;
use supra_sync_core::Side;
use supra_sync_postgres::names::ObjectNames;
use tokio_postgres::Client;

use super::ResolveError;

/// One direction of the sync.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineStatus {
    /// `legacy_to_supra` or `supra_to_legacy`.
    pub name: String,
    /// Its slot on the source server.
    pub slot: String,
    /// The slot exists.
    pub slot_present: bool,
    /// A walsender streams from it (the service is running).
    pub slot_active: bool,
    /// The source server's current WAL position.
    pub source_lsn: Option<String>,
    /// What the slot has confirmed.
    pub confirmed_lsn: Option<String>,
    /// The target's resume point (replication origin progress).
    pub applied_lsn: Option<String>,
    /// Source WAL not yet confirmed, in bytes.
    pub lag_bytes: Option<i64>,
    /// Replication lag reported by the walsender (0 when caught up; unknown when inactive).
    pub lag_seconds: Option<f64>,
    /// WAL the slot keeps on the source server, in bytes.
    pub retained_wal_bytes: Option<i64>,
    /// Changes logged in the last minute, per second.
    pub changes_per_second: f64,
    /// When the last change was applied.
    pub last_applied_at: Option<DateTime<Utc>>,
}

/// Snapshot progress of one entity's table.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotStatus {
    /// Entity.
    pub entity: String,
    /// Source table.
    pub table: String,
    /// pending / running / paused / done / failed.
    pub status: String,
    /// Rows copied so far.
    pub rows_copied: i64,
    /// Estimated rows of the table (`pg_class.reltuples`), when analyzed.
    pub estimated_rows: Option<f64>,
}

/// A count per entity.
#[derive(Debug, Clone, Serialize)]
pub struct EntityCount {
    /// Entity.
    pub entity: String,
    /// Count.
    pub count: i64,
}

/// Everything `status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// When it was read.
    pub generated_at: DateTime<Utc>,
    /// Each pipeline.
    pub pipelines: Vec<PipelineStatus>,
    /// Snapshot progress.
    pub snapshots: Vec<SnapshotStatus>,
    /// Failed changes by entity.
    pub failed: Vec<EntityCount>,
    /// Open conflicts by entity.
    pub open_conflicts: Vec<EntityCount>,
    /// Changes held behind open conflicts.
    pub held_changes: i64,
    /// Changes still held behind conflicts that are no longer open (release them).
    pub unreleased_changes: i64,
    /// Changes parked until a referenced row is synced.
    pub parked_changes: i64,
    /// Why the sync is unhealthy (empty: healthy), after [`StatusReport::evaluate`].
    pub problems: Vec<String>,
}

/// When `status` calls the sync unhealthy.
#[derive(Debug, Clone, Serialize)]
pub struct HealthThresholds {
    /// An inactive slot (service down) may lag this many bytes.
    pub max_lag_bytes: i64,
    /// Replication lag allowed, in seconds (`None`: not checked).
    pub max_lag_seconds: Option<f64>,
    /// Failed changes allowed.
    pub max_failed: i64,
    /// Open conflicts allowed.
    pub max_open_conflicts: i64,
}

fn sql(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> ResolveError {
    move |e| ResolveError::sql(context, e)
}

async fn pipeline(
    source: &Client,
    target: &Client,
    names: &ObjectNames,
    side: Side,
) -> Result<PipelineStatus, ResolveError> {
    let slot = names.slot(side);
    let s = source
        .query_one(
            "SELECT pg_current_wal_lsn()::text, s.slot_name IS NOT NULL, COALESCE(s.active, false),
                    s.confirmed_flush_lsn::text,
                    pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn)::bigint,
                    pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint,
                    EXTRACT(epoch FROM COALESCE(r.replay_lag, r.flush_lag, r.write_lag))::float8
               FROM (SELECT 1) one
               LEFT JOIN pg_replication_slots s ON s.slot_name = $1
               LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid",
            &[&slot],
        )
        .await
        .map_err(sql("reading the replication slot"))?;
    let applied: Option<String> = target
        .query_opt(
            "SELECT pg_replication_origin_progress(roname, false)::text
               FROM pg_replication_origin WHERE roname = $1",
            &[&names.origin(side)],
        )
        .await
        .map_err(sql("reading the replication origin"))?
        .and_then(|r| r.get(0));
    let active: bool = s.get(2);
    let lag_seconds: Option<f64> = s.get(6);
    Ok(PipelineStatus {
        name: names.pipeline(side),
        slot,
        slot_present: s.get(1),
        slot_active: active,
        source_lsn: s.get(0),
        confirmed_lsn: s.get(3),
        applied_lsn: applied,
        lag_bytes: s.get::<_, Option<i64>>(4).map(|b| b.max(0)),
        lag_seconds: lag_seconds.or(active.then_some(0.0)),
        retained_wal_bytes: s.get::<_, Option<i64>>(5).map(|b| b.max(0)),
        changes_per_second: 0.0,
        last_applied_at: None,
    })
}

fn counts(rows: &[tokio_postgres::Row]) -> Vec<EntityCount> {
    rows.iter()
        .map(|r| EntityCount {
            entity: r.get(0),
            count: r.get(1),
        })
        .collect()
}

/// Reads the status of both pipelines (`bidirectional`: the SUPRA → legacy one exists).
pub async fn collect(
    legacy: &Client,
    supra: &Client,
    names: &ObjectNames,
    bidirectional: bool,
) -> Result<StatusReport, ResolveError> {
    let mut pipelines = vec![pipeline(legacy, supra, names, Side::Legacy).await?];
    if bidirectional {
        pipelines.push(pipeline(supra, legacy, names, Side::Supra).await?);
    }
    for (p, side) in pipelines.iter_mut().zip([Side::Legacy, Side::Supra]) {
        // The last applied row by id (the primary key, newest first): the status index
        // leaves applied rows out (sql/sync/1008).
        let r = supra
            .query_one(
                "SELECT (SELECT count(*) FROM supra_sync.sync_log
                          WHERE direction = $1 AND synced_at > now() - interval '1 minute'),
                        (SELECT synced_at FROM supra_sync.sync_log
                          WHERE direction = $1 AND status = 'applied' ORDER BY id DESC LIMIT 1)",
                &[&side.direction()],
            )
            .await
            .map_err(sql("reading sync_log activity"))?;
        p.changes_per_second = r.get::<_, i64>(0) as f64 / 60.0;
        p.last_applied_at = r.get(1);
    }
    let failed = supra
        .query(
            "SELECT entity_type::text, count(*) FROM supra_sync.sync_log
              WHERE status = 'failed' GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .map_err(sql("counting failed changes"))?;
    let conflicts = supra
        .query(
            "SELECT entity_type::text, count(*) FROM supra_sync.sync_conflicts
              WHERE status = 'open' GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .map_err(sql("counting open conflicts"))?;
    let queued = supra
        .query_one(
            "SELECT (SELECT count(*) FROM supra_sync.held_changes h JOIN supra_sync.sync_conflicts c
                       ON c.id = h.conflict_id WHERE c.status = 'open'),
                    (SELECT count(*) FROM supra_sync.held_changes h JOIN supra_sync.sync_conflicts c
                       ON c.id = h.conflict_id WHERE c.status <> 'open'),
                    (SELECT count(*) FROM supra_sync.parked_changes)",
            &[],
        )
        .await
        .map_err(sql("counting queued changes"))?;
    let snapshots = snapshots(legacy, supra).await?;
    Ok(StatusReport {
        generated_at: Utc::now(),
        pipelines,
        snapshots,
        failed: counts(&failed),
        open_conflicts: counts(&conflicts),
        held_changes: queued.get(0),
        unreleased_changes: queued.get(1),
        parked_changes: queued.get(2),
        problems: Vec::new(),
    })
}

async fn snapshots(legacy: &Client, supra: &Client) -> Result<Vec<SnapshotStatus>, ResolveError> {
    let rows = supra
        .query(
            "SELECT entity_type::text, source_table::text, status::text, rows_copied
               FROM supra_sync.snapshot_progress ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(sql("reading snapshot progress"))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let table: String = r.get(1);
        let estimated_rows: Option<f64> = legacy
            .query_one(
                "SELECT (SELECT c.reltuples::float8 FROM pg_class c WHERE c.oid = to_regclass($1))",
                &[&table],
            )
            .await
            .map_err(sql("reading a table's row estimate"))?
            .get::<_, Option<f64>>(0)
            .filter(|e| *e >= 0.0);
        out.push(SnapshotStatus {
            entity: r.get(0),
            table,
            status: r.get(2),
            rows_copied: r.get(3),
            estimated_rows,
        });
    }
    Ok(out)
}

impl StatusReport {
    /// Total failed changes.
    pub fn failed_total(&self) -> i64 {
        self.failed.iter().map(|c| c.count).sum()
    }

    /// Total open conflicts.
    pub fn open_conflicts_total(&self) -> i64 {
        self.open_conflicts.iter().map(|c| c.count).sum()
    }

    /// Fills [`StatusReport::problems`]; returns true when healthy.
    pub fn evaluate(&mut self, t: &HealthThresholds) -> bool {
        let mut problems = Vec::new();
        for p in &self.pipelines {
            let lag = p.lag_bytes.unwrap_or(0);
            if !p.slot_present {
                problems.push(format!("{}: slot {} is missing", p.name, p.slot));
            } else if !p.slot_active && lag > t.max_lag_bytes {
                problems.push(format!(
                    "{}: slot {} is inactive with {lag} bytes of lag (more than {})",
                    p.name, p.slot, t.max_lag_bytes
                ));
            }
            if let (Some(max), Some(secs)) = (t.max_lag_seconds, p.lag_seconds)
                && secs > max
            {
                problems.push(format!(
                    "{}: {secs:.1} s of lag (more than {max} s)",
                    p.name
                ));
            }
        }
        if self.failed_total() > t.max_failed {
            problems.push(format!(
                "{} failed change(s) (more than {}): see `supra-sync log --failed`",
                self.failed_total(),
                t.max_failed
            ));
        }
        if self.open_conflicts_total() > t.max_open_conflicts {
            problems.push(format!(
                "{} open conflict(s) (more than {}): see `supra-sync conflicts list`",
                self.open_conflicts_total(),
                t.max_open_conflicts
            ));
        }
        if self.unreleased_changes > 0 {
            problems.push(format!(
                "{} change(s) still held behind resolved conflicts: run `supra-sync conflicts release <id>`",
                self.unreleased_changes
            ));
        }
        self.problems = problems;
        self.problems.is_empty()
    }
}
