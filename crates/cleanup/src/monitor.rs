//! Re-accumulation monitoring (seed 000 P1-S4-07), runnable on a schedule inside
//! `supra-sync run`: counts table-per-process tables that appeared again, and keeps the
//! `audit_log` partitions 24 months ahead (seed 001 P2-S1-02, in place of pg_partman).

use std::fmt;

use serde::Serialize;
use tokio_postgres::Client;

use crate::config::CleanupConfig;
use crate::error::{CleanupError, Result};

/// What one monitoring pass found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MonitorReport {
    /// Table-per-process tables per family (`tmp_deuda`, …).
    pub transient_tables: Vec<(String, i64)>,
    /// Some of the newest offending tables, to find the code path that created them.
    pub examples: Vec<String>,
    /// Whether an alert should go out (any table-per-process table exists).
    pub alert: bool,
    /// Months of `audit_log` partitions ahead of now, when `audit_log` exists.
    pub audit_partitions_ahead: Option<i32>,
    /// Partitions this pass created.
    pub partitions_created: Vec<String>,
}

impl fmt::Display for MonitorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: i64 = self.transient_tables.iter().map(|t| t.1).sum();
        if self.alert {
            writeln!(
                f,
                "WARNING: ALERT: {total} table-per-process tables detected. Application patch may be incomplete."
            )?;
        } else {
            writeln!(f, "re-accumulation check: no table-per-process tables")?;
        }
        for (family, n) in &self.transient_tables {
            writeln!(f, "  {family}_*: {n}")?;
        }
        if !self.examples.is_empty() {
            writeln!(f, "  newest: {}", self.examples.join(", "))?;
        }
        if let Some(m) = self.audit_partitions_ahead {
            writeln!(f, "audit_log partitions ahead: {m} months")?;
        }
        for p in &self.partitions_created {
            writeln!(f, "  created partition {p}")?;
        }
        Ok(())
    }
}

/// One pass.
pub(crate) async fn run(client: &Client, config: &CleanupConfig) -> Result<MonitorReport> {
    let rows = client
        .query(
            r"SELECT f, count(c.relname)
                FROM unnest(ARRAY['tmp_deuda', 'aux_varscreditored', 'tmpbb']) AS f
                LEFT JOIN (pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $1)
                       ON c.relkind IN ('r', 'p') AND c.relname ~ ('^' || f || '_\d+')
               GROUP BY f ORDER BY f",
            &[&config.schema],
        )
        .await
        .map_err(CleanupError::db("run the re-accumulation check"))?;
    let transient_tables: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let examples = client
        .query(
            r"SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
                 AND c.relname ~ '^(tmp_deuda|aux_varscreditored|tmpbb)_\d+'
               ORDER BY c.oid DESC LIMIT 5",
            &[&config.schema],
        )
        .await
        .map_err(CleanupError::db("list re-accumulated tables"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let alert = transient_tables.iter().any(|t| t.1 > 0);
    if alert {
        tracing::warn!(
            ?transient_tables,
            "table-per-process tables detected: application patch may be incomplete"
        );
    }
    let (audit_partitions_ahead, partitions_created) =
        crate::phase2::audit::maintain_partitions(client, config).await?;
    Ok(MonitorReport {
        transient_tables,
        examples,
        alert,
        audit_partitions_ahead,
        partitions_created,
    })
}
