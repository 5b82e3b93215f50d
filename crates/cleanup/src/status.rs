//! Reports returned by `apply`, `rollback`, `status` and `inventory`.

use std::fmt;
use std::time::Duration;

use serde_json::Value;
use tokio_postgres::Client;

use crate::config::CleanupConfig;
use crate::error::{CleanupError, Result};
use crate::job::state::StepRecord;
use crate::phase::Phase;

/// What an `apply` did.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// The phase.
    pub phase: Phase,
    /// Wall time of this run.
    pub duration: Duration,
    /// Every step's state after the run.
    pub steps: Vec<StepRecord>,
}

impl fmt::Display for ApplyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "phase {} applied in {:.1?}", self.phase, self.duration)?;
        for s in &self.steps {
            writeln!(f, "  {:<10} {:<36} {}", s.status, s.step, s.state)?;
        }
        Ok(())
    }
}

/// What a `rollback` did.
#[derive(Debug, Clone)]
pub struct RollbackReport {
    /// The phase.
    pub phase: Phase,
    /// Wall time.
    pub duration: Duration,
    /// Per-object outcomes.
    pub detail: Value,
}

impl fmt::Display for RollbackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "phase {} rolled back in {:.1?}",
            self.phase, self.duration
        )?;
        writeln!(
            f,
            "{}",
            serde_json::to_string_pretty(&self.detail).unwrap_or_default()
        )
    }
}

/// Step states of every phase.
#[derive(Debug, Clone)]
pub struct StatusReport {
    /// All step records.
    pub steps: Vec<StepRecord>,
    /// The session holding the run lock, if a run is in progress.
    pub running: Option<String>,
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.running {
            Some(h) => writeln!(f, "a run is in progress: {h}")?,
            None => writeln!(f, "no run in progress")?,
        }
        if self.steps.is_empty() {
            return writeln!(f, "no phase applied yet");
        }
        for s in &self.steps {
            write!(
                f,
                "  phase {:<5} {:<10} {:<36} attempts {}",
                s.phase, s.status, s.step, s.attempts
            )?;
            if let Some(e) = &s.error {
                write!(f, "  {}", e)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Tables of one category.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CategoryCount {
    /// Category (`transient_tmp_deuda`, `spain`, `history`, …).
    pub category: String,
    /// Tables.
    pub tables: i64,
    /// Estimated rows (`reltuples`).
    pub est_rows: i64,
}

/// The live inventory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Inventory {
    /// Schema.
    pub schema: String,
    /// Per category.
    pub categories: Vec<CategoryCount>,
}

impl Inventory {
    /// Tables in the schema.
    pub fn total_tables(&self) -> i64 {
        self.categories.iter().map(|c| c.tables).sum()
    }
}

impl fmt::Display for Inventory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<32} {:>8} {:>14}", "category", "tables", "est. rows")?;
        for c in &self.categories {
            writeln!(f, "{:<32} {:>8} {:>14}", c.category, c.tables, c.est_rows)?;
        }
        writeln!(
            f,
            "{:<32} {:>8}",
            format!("total ({})", self.schema),
            self.total_tables()
        )
    }
}

pub(crate) async fn inventory(client: &Client, config: &CleanupConfig) -> Result<Inventory> {
    let spain: Vec<String> = crate::phase1::spain::SPAIN_TABLES
        .iter()
        .map(|s| s.to_string())
        .collect();
    let staging: Vec<String> = crate::phase1::staging::STAGING
        .iter()
        .map(|s| s.to_string())
        .collect();
    let artifacts: Vec<String> = crate::phase1::staging::ARTIFACTS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let sql = format!(
        "SELECT {} AS category, count(*), coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          GROUP BY 1 ORDER BY 1",
        crate::phase1::inventory::CATEGORY
    );
    let rows = client
        .query(&sql, &[&config.schema, &spain, &staging, &artifacts])
        .await
        .map_err(CleanupError::db("take the inventory"))?;
    Ok(Inventory {
        schema: config.schema.clone(),
        categories: rows
            .iter()
            .map(|r| CategoryCount {
                category: r.get(0),
                tables: r.get(1),
                est_rows: r.get(2),
            })
            .collect(),
    })
}
