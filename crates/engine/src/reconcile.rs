//! Online reconciliation: does SUPRA hold what the mappings make of legacy, row by row and in
//! money, while both pipelines keep running? (`supra-sync reconcile`.)
//!
//! ```text
//!  per entity (dependency order)                       rate limited (governor), chunked
//!    1. legacy pages ──► verify::slice ──► missing · differing · unmappable   (short snapshots)
//!    2. sync_mappings pages ─ legacy row gone? ─► verify::slice (mapped ids) ─► unexpected
//!    3. SUPRA pages ─ mapped to nothing? ─────────────────────────────────────► missing in legacy
//!  settle: wait until each running pipeline's slot confirmed what its source had written
//!  recheck the candidates (differences in flight are gone, real ones stay)
//!  --fix: re-sync exactly those keys through an Applier (synthetic changes), recheck them
//!  finance: invoices per billing period, payments per period, exact, down to the document
//!  store: reconcile_runs + reconcile_results (stage preconditions, status)
//! ```
//!
//! Nothing is locked beyond row reads: every slice runs in its own short REPEATABLE READ READ
//! ONLY snapshot on legacy (and a rolled-back transaction with temporary tables on SUPRA), so
//! neither side's vacuum is held back for longer than a chunk. The comparison is the
//! verifier's ([`crate::verify`]): typed, the mapping evaluated as the applier does, columns
//! depending on the apply time masked per row. A slice sees legacy and SUPRA a few
//! milliseconds apart, so a row changed meanwhile can differ for a moment; every candidate is
//! compared again after the pipelines caught up, and only what still differs is reported.
//!
//! Per-row content hashes (the same hashes conflict detection records in `sync_mappings`)
//! tell, for a differing row of a bidirectional entity, which side changed since the last
//! sync; `--fix` uses that to pick the direction (see [`fix`]).

mod direction;
mod finance;
mod fix;
mod recheck;
mod rows;
mod settle;
pub mod store;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use supra_sync_mapping::{EntityMapping, MappingSet};
use supra_sync_postgres::DbConfig;
use supra_sync_postgres::names::ObjectNames;

use crate::EngineError;
use crate::stage::{Stage, StageBook};

pub use finance::{FinanceDiff, FinanceReport, PeriodTotals};

/// What to reconcile and how.
#[derive(Debug, Clone)]
pub struct ReconcileOptions {
    /// Entities to compare row by row (empty: all). Financial checks run for all entities,
    /// or when `factura` / `opecargest` is among them.
    pub entities: Vec<String>,
    /// Re-sync the differing keys (see [`fix`]).
    pub fix: bool,
    /// Rows read per second, over all passes (`None`: as fast as the databases answer).
    pub max_rate: Option<NonZeroU32>,
    /// Legacy rows per slice.
    pub chunk_rows: i64,
    /// Run the financial checks.
    pub finance: bool,
    /// How long to wait for the running pipelines to catch up before rechecking candidates
    /// (zero: report the first comparison as is).
    pub settle: Duration,
    /// Tenant code.
    pub tenant: String,
    /// Object names (slots to watch while settling, origin of `--fix`).
    pub names: ObjectNames,
    /// Who runs it (stored with the results).
    pub run_by: String,
    /// Entities whose fixes append domain events (the service's `domain_events`).
    pub domain_events: Vec<String>,
}

impl ReconcileOptions {
    /// Defaults: every entity, no fix, no rate limit, 10,000-row slices, finance on, 60 s
    /// settle.
    pub fn new(tenant: &str, names: ObjectNames) -> ReconcileOptions {
        ReconcileOptions {
            entities: Vec::new(),
            fix: false,
            max_rate: None,
            chunk_rows: 10_000,
            finance: true,
            settle: Duration::from_secs(60),
            tenant: tenant.to_string(),
            names,
            run_by: "supra-sync".into(),
            domain_events: Vec::new(),
        }
    }
}

/// What kind of difference a key has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// Present on both sides, different content.
    Differs,
    /// The legacy row has no SUPRA row.
    MissingInSupra,
    /// The SUPRA row has no legacy row (mapped to a gone legacy row, or to nothing).
    MissingInLegacy,
    /// The mapping cannot turn the legacy row into a SUPRA row now (reference not synced,
    /// data the mapping refuses): it is not in SUPRA.
    Unmappable,
}

impl DiffKind {
    /// Short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            DiffKind::Differs => "differs",
            DiffKind::MissingInSupra => "missing in SUPRA",
            DiffKind::MissingInLegacy => "missing in legacy",
            DiffKind::Unmappable => "unmappable",
        }
    }
}

/// Which side changed a row since both sides last agreed (from the per-row content hashes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Changed {
    /// Only legacy.
    Legacy,
    /// Only SUPRA.
    Supra,
    /// Both: a conflict.
    Both,
    /// No agreed version recorded (one-way entity, row never synced).
    Unknown,
}

/// One differing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyDiff {
    /// Kind.
    pub kind: DiffKind,
    /// SUPRA table of the row.
    pub table: String,
    /// Legacy key, when there is one.
    pub legacy_key: Option<String>,
    /// SUPRA id of the row in `table`, when known.
    pub supra_id: Option<String>,
    /// What differs.
    pub detail: String,
    /// Which side changed since the last sync (filled by `--fix`).
    pub changed: Option<Changed>,
    /// What `--fix` did with it.
    pub fix: Option<String>,
}

/// One entity's row-level result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EntityReport {
    /// Entity.
    pub entity: String,
    /// Its stage.
    pub stage: Option<Stage>,
    /// Legacy rows compared.
    pub legacy_rows: u64,
    /// SUPRA rows of its primary table (tenant).
    pub supra_rows: u64,
    /// SUPRA rows the mapping expects (all its tables).
    pub expected_rows: u64,
    /// SUPRA rows kept after their legacy row was deleted, as the delete policy says.
    pub retained: u64,
    /// Every differing key (after the recheck, and after `--fix` when given).
    pub differences: Vec<KeyDiff>,
    /// Keys `--fix` repaired (with what it did).
    pub fixed: Vec<KeyDiff>,
    /// Differences found by the first comparison that were gone on the recheck (in flight).
    pub settled: usize,
    /// Seconds spent.
    pub seconds: f64,
}

impl EntityReport {
    /// True when no difference is left.
    pub fn clean(&self) -> bool {
        self.differences.is_empty()
    }
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `reconcile_runs.id`.
    pub run_id: i64,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Rows read on both sides by the row-level comparison.
    pub rows_compared: u64,
    /// `rows_compared / seconds`.
    pub rows_per_sec: f64,
    /// Per entity.
    pub entities: Vec<EntityReport>,
    /// Financial checks.
    pub finance: Vec<FinanceReport>,
    /// Remarks (pipelines not running, settle timeouts, …).
    pub notes: Vec<String>,
}

impl Report {
    /// True when every entity and financial check is clean.
    pub fn clean(&self) -> bool {
        self.entities.iter().all(EntityReport::clean) && self.finance.iter().all(|f| f.clean())
    }
}

/// Runs a reconciliation and stores its results; see the module docs.
pub async fn run(
    legacy_db: &DbConfig,
    supra_db: &DbConfig,
    mappings: &Arc<MappingSet>,
    opts: &ReconcileOptions,
) -> Result<Report, EngineError> {
    let selected = select(mappings, &opts.entities)?;
    let supra = supra_db.connect().await?;
    let run_id = store::begin(&supra, opts).await?;
    let started = Instant::now();
    let started_at = Utc::now();
    let result = run_in(legacy_db, supra_db, mappings, opts, &selected).await;
    let seconds = started.elapsed().as_secs_f64();
    match result {
        Ok((entities, finance, notes, rows_compared)) => {
            let report = Report {
                run_id,
                started_at,
                seconds,
                rows_compared,
                rows_per_sec: rows_compared as f64 / seconds.max(1e-6),
                entities,
                finance,
                notes,
            };
            store::finish(&supra, &report).await?;
            Ok(report)
        }
        Err(e) => {
            store::fail(&supra, run_id, &e.to_string()).await.ok();
            Err(e)
        }
    }
}

type RunParts = (Vec<EntityReport>, Vec<FinanceReport>, Vec<String>, u64);

async fn run_in(
    legacy_db: &DbConfig,
    supra_db: &DbConfig,
    mappings: &Arc<MappingSet>,
    opts: &ReconcileOptions,
    selected: &[&EntityMapping],
) -> Result<RunParts, EngineError> {
    let mut scanner = rows::Scanner::connect(legacy_db, supra_db, mappings, opts).await?;
    let stages = StageBook::load(scanner.supra()).await?;
    let mut reports = Vec::with_capacity(selected.len());
    let mut notes = Vec::new();
    for entity in selected {
        let mut report = scanner.scan(entity).await?;
        report.stage = Some(stages.stage(entity));
        reports.push(report);
    }
    if !opts.settle.is_zero() && reports.iter().any(|r| !r.clean()) {
        notes.extend(
            settle::settle(
                scanner.legacy_rows.client(),
                scanner.supra(),
                &opts.names,
                opts.settle,
            )
            .await?,
        );
        for report in &mut reports {
            scanner.recheck(report).await?;
        }
    }
    let mut finance = Vec::new();
    if opts.finance {
        for check in finance::checks_for(selected, opts.entities.is_empty()) {
            finance.push(finance::run(&mut scanner, check, opts).await?);
        }
    }
    if opts.fix {
        let fixer = fix::Fixer::new(legacy_db, supra_db, mappings, opts);
        for report in &mut reports {
            let Some(entity) = mappings.entity(&report.entity) else {
                continue;
            };
            let stage = stages.stage(entity);
            let extra = finance::keys_to_fix(&finance, entity.name());
            fixer
                .fix(&mut scanner, entity, stage, report, &extra)
                .await?;
        }
        for f in &mut finance {
            finance::recheck(&mut scanner, f, opts).await?;
        }
    }
    let compared = scanner.rows_read();
    Ok((reports, finance, notes, compared))
}

/// The entities to compare, in dependency order (as the mapping set lists them).
fn select<'m>(
    mappings: &'m MappingSet,
    names: &[String],
) -> Result<Vec<&'m EntityMapping>, EngineError> {
    for n in names {
        if mappings.entity(n).is_none() {
            return Err(EngineError::Definite(format!(
                "reconcile: unknown entity {n:?} (entities: {})",
                mappings
                    .entities()
                    .iter()
                    .map(|e| e.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(mappings
        .entities()
        .iter()
        .filter(|e| names.is_empty() || names.iter().any(|n| n == e.name()))
        .collect())
}
