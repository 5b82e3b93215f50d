//! The state table `supra_sync_cleanup.step_state` and its siblings: per-step JSON state,
//! the migration ledger and the rollback records.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Client;

use crate::error::{CleanupError, Result};
use crate::phase::Phase;

/// The SQL that creates the state schema (idempotent).
pub(crate) const STATE_SQL: &str = include_str!("../../../../sql/cleanup/0001_state.sql");

/// One step's persisted state.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepRecord {
    /// Phase name.
    pub phase: String,
    /// Step id.
    pub step: String,
    /// Group (a family; a blocked step skips the rest of its group).
    pub group: String,
    /// `running`, `done`, `blocked`, `waiting` or `failed`.
    pub status: String,
    /// What the step recorded (counts, created objects, …).
    pub state: Value,
    /// Why it stopped, when it did.
    pub error: Option<Value>,
    /// How many times it started.
    pub attempts: i32,
    /// Last start.
    pub started_at: DateTime<Utc>,
    /// Last finish.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Creates the state schema.
pub(crate) async fn ensure(client: &Client) -> Result<()> {
    // Serialise concurrent first runs: CREATE … IF NOT EXISTS can still race on the catalog.
    client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({}); {STATE_SQL} COMMIT;",
            super::lock::LOCK_KEY + 1
        ))
        .await
        .map_err(CleanupError::db(
            "create the state schema supra_sync_cleanup",
        ))
}

/// Whether the state schema exists (read-only commands never create it).
pub(crate) async fn exists(client: &Client) -> Result<bool> {
    let row = client
        .query_one(
            "SELECT to_regclass('supra_sync_cleanup.step_state') IS NOT NULL",
            &[],
        )
        .await
        .map_err(CleanupError::db("look for the state schema"))?;
    Ok(row.get(0))
}

fn record(row: &tokio_postgres::Row) -> StepRecord {
    StepRecord {
        phase: row.get("phase"),
        step: row.get("step"),
        group: row.get("grp"),
        status: row.get("status"),
        state: row.get("state"),
        error: row.get("error"),
        attempts: row.get("attempts"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
    }
}

/// One step's record.
pub(crate) async fn load(client: &Client, phase: Phase, step: &str) -> Result<Option<StepRecord>> {
    if !exists(client).await? {
        return Ok(None);
    }
    let row = client
        .query_opt(
            "SELECT * FROM supra_sync_cleanup.step_state WHERE phase = $1 AND step = $2",
            &[&phase.as_str(), &step],
        )
        .await
        .map_err(CleanupError::db("read the step state"))?;
    Ok(row.as_ref().map(record))
}

/// All records, optionally of one phase.
pub(crate) async fn load_all(client: &Client, phase: Option<Phase>) -> Result<Vec<StepRecord>> {
    if !exists(client).await? {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT * FROM supra_sync_cleanup.step_state
             WHERE $1::text IS NULL OR phase = $1 ORDER BY phase, started_at, step",
            &[&phase.map(|p| p.as_str())],
        )
        .await
        .map_err(CleanupError::db("read the step states"))?;
    Ok(rows.iter().map(record).collect())
}

pub(crate) async fn mark_running(
    client: &Client,
    phase: Phase,
    step: &str,
    group: &str,
) -> Result<()> {
    client
        .execute(
            "INSERT INTO supra_sync_cleanup.step_state (phase, step, grp, status, attempts)
             VALUES ($1, $2, $3, 'running', 1)
             ON CONFLICT (phase, step) DO UPDATE
                SET status = 'running', attempts = step_state.attempts + 1,
                    started_at = now(), finished_at = NULL, error = NULL",
            &[&phase.as_str(), &step, &group],
        )
        .await
        .map_err(CleanupError::db("record the step start"))?;
    Ok(())
}

pub(crate) async fn mark(
    client: &Client,
    phase: Phase,
    step: &str,
    status: &str,
    state: &Value,
    error: Option<&Value>,
) -> Result<()> {
    client
        .execute(
            "UPDATE supra_sync_cleanup.step_state
                SET status = $3, state = CASE WHEN $3 = 'done' THEN $4 ELSE state END,
                    error = $5, finished_at = now()
              WHERE phase = $1 AND step = $2",
            &[&phase.as_str(), &step, &status, state, &error],
        )
        .await
        .map_err(CleanupError::db("record the step outcome"))?;
    Ok(())
}

/// Forgets some steps so that the next run does them again (they are idempotent).
pub(crate) async fn forget_steps(client: &Client, phase: Phase, steps: &[String]) -> Result<()> {
    client
        .execute(
            "DELETE FROM supra_sync_cleanup.step_state WHERE phase = $1 AND step = ANY($2)",
            &[&phase.as_str(), &steps],
        )
        .await
        .map_err(CleanupError::db("reset steps"))?;
    Ok(())
}

/// Forgets the steps of a phase (after a rollback), keeping the run log.
pub(crate) async fn forget_phase(client: &Client, phase: Phase) -> Result<()> {
    client
        .execute(
            "DELETE FROM supra_sync_cleanup.step_state WHERE phase = $1",
            &[&phase.as_str()],
        )
        .await
        .map_err(CleanupError::db("reset the step state"))?;
    Ok(())
}

/// Opens a run log row; returns its id.
pub(crate) async fn run_started(client: &Client, phase: Phase, action: &str) -> Result<i64> {
    let row = client
        .query_one(
            "INSERT INTO supra_sync_cleanup.runs (phase, action) VALUES ($1, $2) RETURNING run_id",
            &[&phase.as_str(), &action],
        )
        .await
        .map_err(CleanupError::db("record the run"))?;
    Ok(row.get(0))
}

/// Closes a run log row.
pub(crate) async fn run_finished(client: &Client, run_id: i64, outcome: &str) -> Result<()> {
    client
        .execute(
            "UPDATE supra_sync_cleanup.runs SET finished_at = now(), outcome = $2 WHERE run_id = $1",
            &[&run_id, &outcome],
        )
        .await
        .map_err(CleanupError::db("record the run outcome"))?;
    Ok(())
}

/// A rollback record.
#[derive(Debug, Clone)]
pub(crate) struct RollbackRecord {
    pub step: String,
    pub object_name: String,
    pub kind: String,
    pub ddl: String,
    pub restore_sql: Option<String>,
    pub archive: Option<Value>,
    pub file: Option<String>,
}

/// Records rollback information (idempotent: a re-run overwrites an unapplied record).
pub(crate) async fn record_rollback(
    client: &Client,
    phase: Phase,
    records: &[RollbackRecord],
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let steps: Vec<&str> = records.iter().map(|r| r.step.as_str()).collect();
    let names: Vec<&str> = records.iter().map(|r| r.object_name.as_str()).collect();
    let kinds: Vec<&str> = records.iter().map(|r| r.kind.as_str()).collect();
    let ddls: Vec<&str> = records.iter().map(|r| r.ddl.as_str()).collect();
    let restores: Vec<Option<&str>> = records.iter().map(|r| r.restore_sql.as_deref()).collect();
    let archives: Vec<Option<Value>> = records.iter().map(|r| r.archive.clone()).collect();
    let files: Vec<Option<&str>> = records.iter().map(|r| r.file.as_deref()).collect();
    client
        .execute(
            "INSERT INTO supra_sync_cleanup.rollback_ddl
                 (phase, step, object_name, kind, ddl, restore_sql, archive, file)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                      $7::jsonb[], $8::text[])
             ON CONFLICT (phase, object_name) DO UPDATE
                SET step = excluded.step, kind = excluded.kind, ddl = excluded.ddl,
                    restore_sql = excluded.restore_sql, archive = excluded.archive,
                    file = excluded.file, recorded_at = now(), applied_at = NULL",
            &[
                &phase.as_str(),
                &steps,
                &names,
                &kinds,
                &ddls,
                &restores,
                &archives,
                &files,
            ],
        )
        .await
        .map_err(CleanupError::db("record rollback DDL"))?;
    Ok(())
}

/// Rollback records of a phase not yet applied, newest first.
pub(crate) async fn pending_rollbacks(
    client: &Client,
    phase: Phase,
) -> Result<Vec<RollbackRecord>> {
    if !exists(client).await? {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT step, object_name, kind, ddl, restore_sql, archive, file
               FROM supra_sync_cleanup.rollback_ddl
              WHERE phase = $1 AND applied_at IS NULL
              ORDER BY recorded_at DESC, object_name DESC",
            &[&phase.as_str()],
        )
        .await
        .map_err(CleanupError::db("read rollback records"))?;
    Ok(rows
        .iter()
        .map(|r| RollbackRecord {
            step: r.get(0),
            object_name: r.get(1),
            kind: r.get(2),
            ddl: r.get(3),
            restore_sql: r.get(4),
            archive: r.get(5),
            file: r.get(6),
        })
        .collect())
}

/// Saves metrics under a label (`before`, `after`).
pub(crate) async fn save_metrics(
    client: &Client,
    phase: Phase,
    label: &str,
    data: &Value,
) -> Result<()> {
    client
        .execute(
            "INSERT INTO supra_sync_cleanup.metrics (phase, label, data) VALUES ($1, $2, $3)
             ON CONFLICT (phase, label) DO UPDATE SET data = excluded.data, taken_at = now()",
            &[&phase.as_str(), &label, data],
        )
        .await
        .map_err(CleanupError::db("save metrics"))?;
    Ok(())
}

/// Loads metrics saved under a label.
pub(crate) async fn load_metrics(
    client: &Client,
    phase: Phase,
    label: &str,
) -> Result<Option<Value>> {
    if !exists(client).await? {
        return Ok(None);
    }
    let row = client
        .query_opt(
            "SELECT data FROM supra_sync_cleanup.metrics WHERE phase = $1 AND label = $2",
            &[&phase.as_str(), &label],
        )
        .await
        .map_err(CleanupError::db("load metrics"))?;
    Ok(row.map(|r| r.get(0)))
}
