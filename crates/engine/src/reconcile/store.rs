//! Reconciliation results in `supra_sync.reconcile_runs` / `reconcile_results`
//! (migration 1006), and what other commands read back: the latest result per subject
//! (`status`), and whether it allows a stage transition (`stage set`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use tokio_postgres::GenericClient;

use super::{ReconcileOptions, Report};
use crate::EngineError;

/// Records the start of a run; returns its id.
pub(super) async fn begin<C: GenericClient>(
    client: &C,
    opts: &ReconcileOptions,
) -> Result<i64, EngineError> {
    let options = json!({
        "entities": opts.entities,
        "fix": opts.fix,
        "max_rate": opts.max_rate.map(|r| r.get()),
        "chunk_rows": opts.chunk_rows,
        "finance": opts.finance,
        "settle_secs": opts.settle.as_secs_f64(),
        "tenant": opts.tenant,
    });
    let row = client
        .query_one(
            "INSERT INTO supra_sync.reconcile_runs (run_by, fix, options)
             VALUES ($1, $2, $3::text::jsonb) RETURNING id",
            &[&opts.run_by, &opts.fix, &options.to_string()],
        )
        .await
        .map_err(|e| EngineError::sql("recording the reconcile run", e))?;
    Ok(row.get(0))
}

/// Stores a finished run and its per-subject results.
pub(super) async fn finish<C: GenericClient>(
    client: &C,
    report: &Report,
) -> Result<(), EngineError> {
    let document = serde_json::to_string(report)
        .map_err(|e| EngineError::Definite(format!("reconcile: encoding the report: {e}")))?;
    client
        .execute(
            "UPDATE supra_sync.reconcile_runs
                SET finished_at = now(), status = $2, rows_compared = $3, rows_per_sec = $4::float8::numeric,
                    report = $5::text::jsonb
              WHERE id = $1",
            &[
                &report.run_id,
                &if report.clean() { "clean" } else { "differences" },
                &(report.rows_compared as i64),
                &((report.rows_per_sec * 10.0).round() / 10.0),
                &document,
            ],
        )
        .await
        .map_err(|e| EngineError::sql("recording the reconcile report", e))?;
    for e in &report.entities {
        let summary = json!({
            "stage": e.stage, "expected_rows": e.expected_rows, "retained": e.retained,
            "settled": e.settled, "seconds": e.seconds,
        });
        let diffs: Vec<&super::KeyDiff> = e.differences.iter().chain(&e.fixed).collect();
        insert(
            client,
            report.run_id,
            &e.entity,
            e.clean(),
            (e.legacy_rows, e.supra_rows),
            e.differences.len(),
            e.fixed.len(),
            &summary,
            &serde_json::to_value(diffs).unwrap_or_default(),
        )
        .await?;
    }
    for f in &report.finance {
        let (legacy, supra) = f.periods.iter().fold((0i64, 0i64), |a, p| {
            (a.0 + p.legacy_count, a.1 + p.supra_count)
        });
        let summary = json!({ "periods": f.periods });
        insert(
            client,
            report.run_id,
            &format!("finance:{}", f.check),
            f.clean(),
            (legacy as u64, supra as u64),
            f.differences.len(),
            0,
            &summary,
            &serde_json::to_value(&f.differences).unwrap_or_default(),
        )
        .await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn insert<C: GenericClient>(
    client: &C,
    run: i64,
    subject: &str,
    clean: bool,
    (legacy_rows, supra_rows): (u64, u64),
    differing: usize,
    fixed: usize,
    summary: &serde_json::Value,
    differences: &serde_json::Value,
) -> Result<(), EngineError> {
    client
        .execute(
            "INSERT INTO supra_sync.reconcile_results
                    (run_id, subject, clean, legacy_rows, supra_rows, differing, fixed, summary, differences)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9::text::jsonb)",
            &[
                &run,
                &subject,
                &clean,
                &(legacy_rows as i64),
                &(supra_rows as i64),
                &(differing as i32),
                &(fixed as i32),
                &summary.to_string(),
                &differences.to_string(),
            ],
        )
        .await
        .map_err(|e| EngineError::sql("recording a reconcile result", e))?;
    Ok(())
}

/// Marks a run failed.
pub(super) async fn fail<C: GenericClient>(
    client: &C,
    run: i64,
    error: &str,
) -> Result<(), EngineError> {
    client
        .execute(
            "UPDATE supra_sync.reconcile_runs SET finished_at = now(), status = 'failed', error_message = $2 WHERE id = $1",
            &[&run, &error],
        )
        .await
        .map_err(|e| EngineError::sql("recording the failed reconcile run", e))?;
    Ok(())
}

/// The latest stored result of one subject.
#[derive(Debug, Clone, Serialize)]
pub struct LatestResult {
    /// Entity or `finance:<check>`.
    pub subject: String,
    /// Run id.
    pub run_id: i64,
    /// When it was checked.
    pub checked_at: DateTime<Utc>,
    /// No difference left.
    pub clean: bool,
    /// Differences left.
    pub differing: i32,
    /// Differences repaired by `--fix`.
    pub fixed: i32,
    /// Legacy rows (documents) compared.
    pub legacy_rows: i64,
    /// SUPRA rows (documents) compared.
    pub supra_rows: i64,
}

/// The latest result of every subject (for `status` and `reconcile --latest`).
pub async fn latest<C: GenericClient>(client: &C) -> Result<Vec<LatestResult>, EngineError> {
    let rows = client
        .query(
            "SELECT DISTINCT ON (subject) subject::text, run_id, checked_at, clean, differing, fixed,
                    legacy_rows, supra_rows
               FROM supra_sync.reconcile_results ORDER BY subject, run_id DESC",
            &[],
        )
        .await
        .map_err(|e| EngineError::sql("reading reconcile results", e))?;
    Ok(rows
        .iter()
        .map(|r| LatestResult {
            subject: r.get(0),
            run_id: r.get(1),
            checked_at: r.get(2),
            clean: r.get(3),
            differing: r.get(4),
            fixed: r.get(5),
            legacy_rows: r.get(6),
            supra_rows: r.get(7),
        })
        .collect())
}

/// Why the latest reconciliation does not allow `entity` to change stage (empty: it does):
/// the entity's own result and its financial checks must exist and be clean.
pub async fn unclean_for_stage<C: GenericClient>(
    client: &C,
    entity: &str,
) -> Result<Vec<String>, EngineError> {
    let mut subjects = vec![entity.to_string()];
    subjects.extend(super::finance::subjects_for(entity));
    let latest: Vec<LatestResult> = latest(client)
        .await?
        .into_iter()
        .filter(|l| subjects.contains(&l.subject))
        .collect();
    let mut reasons = Vec::new();
    for s in &subjects {
        match latest.iter().find(|l| &l.subject == s) {
            None => reasons.push(format!(
                "no reconciliation of {s} yet: run `supra-sync reconcile --entity {entity}`"
            )),
            Some(l) if !l.clean => reasons.push(format!(
                "the last reconciliation of {s} (run {}, {}) found {} difference(s)",
                l.run_id,
                l.checked_at.format("%Y-%m-%d %H:%M:%S UTC"),
                l.differing
            )),
            Some(_) => {}
        }
    }
    Ok(reasons)
}
