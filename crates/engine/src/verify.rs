//! The verifier: recomputes what SUPRA should hold from the *current* legacy state through
//! the mappings, and compares it with what SUPRA holds — in SQL, typed, so that formatting
//! cannot cause false differences.
//!
//! ```text
//!  legacy (REPEATABLE READ)                     SUPRA (REPEATABLE READ, app.is_admin)
//!  keyset pages of the entity's table            temp table (LIKE <supra table>) per table
//!    │ joined / child rows (one query per page)     ▲ expected rows + masked columns
//!    │ references → sync_mappings (per page) ──────┤
//!    └ EntityMapping::forward (twice, two clocks) ─┘
//!                                                   │ EXCEPT both ways, on the mapped columns
//!                                                   ▼
//!                      missing · unexpected · differing   (+ unmappable legacy rows)
//! ```
//!
//! * Values that depend on the time of the apply (`now()` in a mapping, e.g. a NULL legacy
//!   date defaulted to today) cannot be recomputed: each row is evaluated under two clocks and
//!   the columns whose value changes are left out of the comparison *for that row*.
//! * Identity comes from `sync_mappings` exactly as the applier resolves it; an unmapped
//!   legacy row is expected under its minted id.
//! * SUPRA rows in scope: the expected ones, those mapped to the entity in `sync_mappings`,
//!   and (primary tables) those of the tenant mapped to no entity at all. A mapped row whose
//!   legacy row is gone is *retained* when the entity's delete policy keeps it (`ignore`,
//!   soft delete with the marker set), and *unexpected* otherwise.
//! * Legacy is the source of truth (run it after both pipelines are caught up): changes made
//!   in SUPRA are checked through their effect on legacy.
//!
//! Both connections are used exclusively for the duration of [`compare`], inside
//! transactions that are rolled back: nothing is written and no session state is left.

mod expected;
pub mod slice;
mod source;

use std::collections::{HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, TimeZone, Utc};
use supra_sync_core::{Row, TableName, Value};
use supra_sync_mapping::{
    EntityMapping, MappingSet, ResolvedContext, Role, TargetOp, mint_supra_id,
};
use tokio_postgres::Client;
use uuid::Uuid;

use crate::{EngineError, book};
use expected::ExpectedTable;
use source::LegacyReader;

/// Examples kept per kind of difference.
pub const EXAMPLES: usize = 10;

/// Legacy rows read per page.
const PAGE_ROWS: i64 = 1_000;

/// How many rows differ one way, with a few examples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Difference {
    /// Number of rows.
    pub count: usize,
    /// Up to [`EXAMPLES`] of them (all of them in a [`slice`] comparison).
    pub examples: Vec<Example>,
    /// Keep every example, not only [`EXAMPLES`].
    pub(crate) keep_all: bool,
}

impl Difference {
    pub(crate) fn push(&mut self, example: Example) {
        self.count += 1;
        if self.keeps_more() {
            self.examples.push(example);
        }
    }

    /// Whether the next example will be kept.
    pub(crate) fn keeps_more(&self) -> bool {
        self.keep_all || self.examples.len() < EXAMPLES
    }
}

/// One differing row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// SUPRA table.
    pub table: String,
    /// SUPRA key (the id column), when the row is (or should be) in SUPRA.
    pub supra_id: Option<String>,
    /// Legacy key, when known.
    pub legacy_key: Option<String>,
    /// What differs (columns with both values, or the reason).
    pub detail: String,
}

impl fmt::Display for Example {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} legacy {} supra {}: {}",
            self.table,
            self.legacy_key.as_deref().unwrap_or("?"),
            self.supra_id.as_deref().unwrap_or("?"),
            self.detail
        )
    }
}

/// How one entity's SUPRA rows compare with what its mapping computes from legacy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntityComparison {
    /// Entity name.
    pub entity: String,
    /// Legacy rows read.
    pub legacy_rows: usize,
    /// SUPRA rows expected (all tables of the entity).
    pub expected_rows: usize,
    /// Expected rows absent from SUPRA.
    pub missing: Difference,
    /// SUPRA rows that should not be there (mapped to a deleted legacy row under the
    /// `delete` policy, or mapped to nothing at all).
    pub unexpected: Difference,
    /// Rows present on both sides with different values in a mapped column.
    pub differing: Difference,
    /// Legacy rows the mapping cannot turn into SUPRA rows now (a reference not mapped, data
    /// the mapping refuses): the engine parks or fails them, so they are not compared.
    pub unmappable: Difference,
    /// Rows kept in SUPRA after their legacy row was deleted, as the delete policy says.
    pub retained: usize,
    /// Cells left out of the comparison because their value depends on the apply time.
    pub volatile_cells: usize,
}

impl EntityComparison {
    /// True when SUPRA holds exactly what the mapping says (unmappable rows aside).
    pub fn agrees(&self) -> bool {
        self.missing.count == 0 && self.unexpected.count == 0 && self.differing.count == 0
    }
}

impl fmt::Display for EntityComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} legacy rows, {} expected SUPRA rows, {} missing, {} unexpected, {} differing, {} unmappable, {} retained",
            self.entity,
            self.legacy_rows,
            self.expected_rows,
            self.missing.count,
            self.unexpected.count,
            self.differing.count,
            self.unmappable.count,
            self.retained
        )?;
        for (kind, d) in [
            ("missing", &self.missing),
            ("unexpected", &self.unexpected),
            ("differing", &self.differing),
            ("unmappable", &self.unmappable),
        ] {
            for e in &d.examples {
                write!(f, "\n  {kind}: {e}")?;
            }
        }
        Ok(())
    }
}

/// Compares SUPRA with the legacy state for `entities` (every entity when empty) of
/// `tenant`. Run it once both pipelines are caught up; see the module docs for the rules.
pub async fn compare(
    legacy: &Client,
    supra: &Client,
    mappings: &MappingSet,
    tenant: &str,
    entities: &[String],
) -> Result<Vec<EntityComparison>, EngineError> {
    let mut selected: Vec<&EntityMapping> = Vec::new();
    for name in entities {
        selected.push(
            mappings
                .entity(name)
                .ok_or_else(|| EngineError::Definite(format!("verify: unknown entity {name:?}")))?,
        );
    }
    if entities.is_empty() {
        selected = mappings.entities().iter().collect();
    }
    legacy
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
             SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO'; SET LOCAL extra_float_digits = 3",
        )
        .await
        .map_err(|e| EngineError::sql("verify: opening the legacy snapshot", e))?;
    let opened = supra
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ;
             SET LOCAL app.is_admin = 'true'; SET LOCAL TimeZone = 'UTC'",
        )
        .await
        .map_err(|e| EngineError::sql("verify: opening the SUPRA snapshot", e));
    let result = match opened {
        Ok(()) => {
            let r = compare_in(legacy, supra, &selected, tenant).await;
            let _ = supra.batch_execute("ROLLBACK").await;
            r
        }
        Err(e) => Err(e),
    };
    let _ = legacy.batch_execute("ROLLBACK").await;
    result
}

async fn compare_in(
    legacy: &Client,
    supra: &Client,
    entities: &[&EntityMapping],
    tenant: &str,
) -> Result<Vec<EntityComparison>, EngineError> {
    let tenant_id = book::tenant_id(supra, tenant).await?;
    let mut reader = LegacyReader::new(legacy);
    let mut out = Vec::with_capacity(entities.len());
    for (n, entity) in entities.iter().enumerate() {
        let mut run = EntityRun {
            entity,
            tenant_id,
            supra,
            tables: Vec::new(),
            unmappable_ids: Vec::new(),
            report: EntityComparison {
                entity: entity.name().to_string(),
                ..EntityComparison::default()
            },
            temp_prefix: format!("__verify_{n}"),
            chunk: false,
        };
        let table = entity.legacy_table().clone();
        let mut after: Option<Vec<Value>> = None;
        loop {
            let page = reader.page(&table, after.as_deref(), PAGE_ROWS).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.key_values().into_iter().cloned().collect());
            run.expect_page(&mut reader, &page).await?;
            if (page.len() as i64) < PAGE_ROWS {
                break;
            }
        }
        out.push(run.finish().await?);
    }
    Ok(out)
}

/// Two clocks far apart: a column whose value differs between them depends on the apply time.
fn clocks() -> [DateTime<Utc>; 2] {
    [
        Utc.with_ymd_and_hms(2001, 2, 3, 4, 5, 6).unwrap(),
        Utc.with_ymd_and_hms(2011, 12, 13, 14, 15, 16).unwrap(),
    ]
}

/// The comparison of one entity in progress.
struct EntityRun<'a> {
    entity: &'a EntityMapping,
    tenant_id: Uuid,
    supra: &'a Client,
    tables: Vec<ExpectedTable>,
    unmappable_ids: Vec<Uuid>,
    report: EntityComparison,
    temp_prefix: String,
    /// A [`slice`] of the entity: only the expected rows and the given mapped ids are in
    /// scope (no orphan search, no read of every mapping).
    chunk: bool,
}

impl EntityRun<'_> {
    /// Computes the expected SUPRA rows of one page of legacy rows and loads them.
    async fn expect_page(
        &mut self,
        reader: &mut LegacyReader<'_>,
        page: &[Row],
    ) -> Result<(), EngineError> {
        let entity = self.entity;
        let name = entity.name().to_string();
        let [clock_a, clock_b] = clocks();
        let mut ctx = ResolvedContext::new(self.tenant_id, clock_a);
        let needs: Vec<_> = page
            .iter()
            .map(|r| entity.forward_needs(Role::Primary, r))
            .collect();
        ctx.secondary = reader
            .fetch_many(needs.iter().flat_map(|n| n.secondary.iter()))
            .await?;
        ctx.children = reader
            .fetch_many(needs.iter().flat_map(|n| n.children.iter()))
            .await?;
        let mut wanted: HashSet<(String, String)> = HashSet::new();
        for (row, need) in page.iter().zip(&needs) {
            wanted.insert((name.clone(), row.key_text()));
            wanted.extend(
                need.refs
                    .iter()
                    .map(|r| (r.entity.clone(), r.legacy_key.clone())),
            );
            wanted.extend(
                entity
                    .joined_refs(row, &ctx)
                    .into_iter()
                    .map(|r| (r.entity, r.legacy_key)),
            );
        }
        let wanted: Vec<(String, String)> = wanted.into_iter().collect();
        for ((e, k), id) in book::supra_ids(self.supra, &wanted).await? {
            ctx.add_mapping(&e, &k, id);
        }
        let mut rows: HashMap<TableName, Vec<expected::ExpectedRow>> = HashMap::new();
        for row in page {
            self.report.legacy_rows += 1;
            let key = row.key_text();
            let id = ctx
                .supra_id_of(&name, &key)
                .unwrap_or_else(|| mint_supra_id(&name, &key));
            ctx.supra_id = Some(id);
            ctx.now = clock_a;
            let a = entity.forward(row, &ctx);
            ctx.now = clock_b;
            let b = entity.forward(row, &ctx);
            let (a, b) = match (a, b) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    self.unmappable_ids.push(id);
                    self.report.unmappable.push(Example {
                        table: entity.legacy_table().to_string(),
                        supra_id: Some(id.to_string()),
                        legacy_key: Some(key),
                        detail: e.to_string(),
                    });
                    continue;
                }
            };
            for (op_a, op_b) in a.into_iter().zip(b) {
                let (
                    TargetOp::Upsert {
                        table,
                        conflict_columns,
                        columns,
                        values,
                    },
                    TargetOp::Upsert { values: other, .. },
                ) = (op_a, op_b)
                else {
                    continue;
                };
                let volatile: Vec<String> = columns
                    .iter()
                    .zip(values.iter().zip(&other))
                    .filter(|(_, (x, y))| x != y)
                    .map(|(c, _)| c.clone())
                    .collect();
                self.report.volatile_cells += volatile.len();
                if !self.tables.iter().any(|t| t.table == table) {
                    let temp = format!("{}_{}", self.temp_prefix, self.tables.len());
                    self.tables.push(
                        ExpectedTable::create(
                            self.supra,
                            table.clone(),
                            temp,
                            conflict_columns,
                            columns,
                        )
                        .await?,
                    );
                }
                rows.entry(table).or_default().push(expected::ExpectedRow {
                    legacy_key: key.clone(),
                    values,
                    volatile,
                });
            }
        }
        for table in &self.tables {
            if let Some(rows) = rows.get(&table.table) {
                self.report.expected_rows += rows.len();
                table.insert(self.supra, rows).await?;
            }
        }
        Ok(())
    }

    /// Compares every loaded table with SUPRA.
    async fn finish(self) -> Result<EntityComparison, EngineError> {
        let mapped: Vec<Uuid> = self
            .supra
            .query(
                "SELECT supra_id FROM supra_sync.sync_mappings WHERE entity_type = $1",
                &[&self.entity.name()],
            )
            .await
            .map_err(|e| EngineError::sql("verify: reading sync_mappings", e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        self.finish_scoped(mapped).await
    }

    /// Compares the loaded tables with SUPRA; `mapped` are the entity's mapped ids in scope.
    async fn finish_scoped(mut self, mapped: Vec<Uuid>) -> Result<EntityComparison, EngineError> {
        let entity = self.entity;
        let primary = entity.supra_tables()[0].clone();
        if !self.tables.iter().any(|t| t.table == primary) {
            // No legacy rows at all: still look for rows that should not be there.
            let temp = format!("{}_{}", self.temp_prefix, self.tables.len());
            let mut columns = vec![entity.supra_id_column().to_string()];
            columns.extend(entity.tenant_column().map(str::to_string));
            self.tables.push(
                ExpectedTable::create(
                    self.supra,
                    primary.clone(),
                    temp,
                    vec![entity.supra_id_column().to_string()],
                    columns,
                )
                .await?,
            );
        }
        for table in &self.tables {
            let is_primary = table.table == primary;
            let scope: Vec<Uuid> = if is_primary {
                mapped.clone()
            } else {
                mapped
                    .iter()
                    .map(|id| supra_sync_mapping::derive_supra_id(*id, &table.table.name))
                    .collect()
            };
            let excluded: Vec<Uuid> = if is_primary {
                self.unmappable_ids.clone()
            } else {
                self.unmappable_ids
                    .iter()
                    .map(|id| supra_sync_mapping::derive_supra_id(*id, &table.table.name))
                    .collect()
            };
            let tenant = entity.tenant_column().map(|c| (c, self.tenant_id));
            table
                .diff(
                    self.supra,
                    &expected::Scope {
                        mapped: &scope,
                        excluded: &excluded,
                        tenant,
                        orphans: is_primary && !self.chunk,
                        chunk: self.chunk,
                        delete_policy: entity.delete_policy(),
                        primary: is_primary,
                        entity: entity.name(),
                    },
                    &mut self.report,
                )
                .await?;
        }
        Ok(self.report)
    }
}
